"""Staff accounts in bulk: one Cognito user per rep of the agents file, supervisors in both groups.

The user pool is the staff's only way in (infra/resources.json, UserPool: only admins create
users). Creating 300 of them by hand was one `admin-create-user` per rep; this module makes the
pool match the files instead, and names every account it touched:

- a rep in the file and not in the pool is created with AdminCreateUser, their e-mail marked
  verified, and no TemporaryPassword and no MessageAction: Cognito then makes the temporary
  password itself and sends it in its invitation message, so the password never passes through
  this tool, its output or its logs.
  https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AdminCreateUser.html
  ("If MessageAction isn't set, the default is to send a welcome message via email or phone";
  DesiredDeliveryMediums EMAIL sends it by e-mail, "To send a message inviting the user to sign
  up, you must specify the user's email address").
- a rep whose e-mail, groups or enabled state differ is updated (AdminUpdateUserAttributes,
  AdminAddUserToGroup / AdminRemoveUserFromGroup, AdminEnableUser);
- a rep in the pool's groups and no longer in the file has left: disabled with
  AdminDisableUser, never deleted (their name stays on past calls and audits). "Deactivates a
  user and revokes all access tokens for the user. A deactivated user can't sign in, but still
  appears in the responses to ListUsers":
  https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AdminDisableUser.html

The same code makes the plan and applies it (like ops/provision.py): a dry run lists the changes.
Usernames are agent ids, compared in lower case: the pool is case-insensitive
(UsernameConfiguration CaseSensitive false).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

AGENTS_GROUP = "agents"
SUPERVISORS_GROUP = "supervisors"
STAFF_GROUPS = (AGENTS_GROUP, SUPERVISORS_GROUP)
# Cognito checks the e-mail's shape too; this catches a typo in the file before any call.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class StaffMember:
    username: str
    email: str
    supervisor: bool = False

    @property
    def groups(self) -> frozenset[str]:
        return frozenset(STAFF_GROUPS if self.supervisor else (AGENTS_GROUP,))


@dataclass(frozen=True)
class AccountChange:
    action: str  # create, update, disable
    username: str
    detail: str = ""

    def __str__(self) -> str:
        mark = {"create": "+", "update": "~", "disable": "-"}[self.action]
        return f"{mark} {self.action} {self.username}" + (f": {self.detail}" if self.detail else "")


@dataclass
class StaffFile:
    members: list[StaffMember] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [
            {k.strip(): (v or "").strip() for k, v in row.items() if k}
            for row in csv.DictReader(handle)
        ]


def read_staff(agents_file: Path, supervisors_file: Path | None = None) -> StaffFile:
    """The staff the pool must hold: every row of the agents file (agent_id,name,team,email...)
    and every row of the supervisors file (agent_id[,email]; the e-mail may come from the
    agents file). A row that cannot become an account is a problem, named with its line."""
    found = StaffFile()
    emails: dict[str, str] = {}
    order: list[str] = []
    rows = _rows(agents_file)
    if rows and "email" not in rows[0]:
        found.problems.append(
            f"{agents_file.name} has no email column: add one (agent_id,name,team,email); "
            "Cognito sends each rep's invitation there"
        )
        return found
    for line, row in enumerate(rows, start=2):
        username = row.get("agent_id", "").lower()
        if not username:
            continue
        email = row.get("email", "")
        if not _EMAIL.match(email):
            found.problems.append(
                f"{agents_file.name} line {line}: {username} has no valid email "
                f"({email or 'empty'}): Cognito sends the invitation there"
            )
            continue
        if username in emails:
            found.problems.append(f"{agents_file.name} line {line}: {username} is listed twice")
            continue
        emails[username] = email
        order.append(username)
    supervisors: set[str] = set()
    if supervisors_file is not None:
        for line, row in enumerate(_rows(supervisors_file), start=2):
            username = row.get("agent_id", "").lower()
            if not username:
                continue
            email = row.get("email", "") or emails.get(username, "")
            if not _EMAIL.match(email):
                found.problems.append(
                    f"{supervisors_file.name} line {line}: {username} has no valid email, "
                    "here or in the agents file"
                )
                continue
            supervisors.add(username)
            if username not in emails:
                emails[username] = email
                order.append(username)
    found.members = [StaffMember(u, emails[u], u in supervisors) for u in order]
    return found


@dataclass(frozen=True)
class PoolUser:
    username: str
    email: str
    enabled: bool
    groups: frozenset[str]


def pool_users(cognito: Any, pool_id: str) -> dict[str, PoolUser]:
    """Every user of the pool with their e-mail, enabled state and staff groups."""
    members: dict[str, set[str]] = {}
    for group in STAFF_GROUPS:
        for page in cognito.get_paginator("list_users_in_group").paginate(
            UserPoolId=pool_id, GroupName=group
        ):
            for user in page["Users"]:
                members.setdefault(user["Username"].lower(), set()).add(group)
    users: dict[str, PoolUser] = {}
    for page in cognito.get_paginator("list_users").paginate(UserPoolId=pool_id):
        for user in page["Users"]:
            name = user["Username"].lower()
            attributes = {a["Name"]: a["Value"] for a in user.get("Attributes", [])}
            users[name] = PoolUser(
                user["Username"],
                attributes.get("email", ""),
                bool(user.get("Enabled", True)),
                frozenset(members.get(name, ())),
            )
    return users


class StaffSync:
    """Plan (apply=False) or make (apply=True) the changes that bring the pool to the files."""

    def __init__(self, cognito: Any, pool_id: str, staff: Iterable[StaffMember], apply: bool):
        self.cognito = cognito
        self.pool_id = pool_id
        self.staff = list(staff)
        self.apply = apply
        self.changes: list[AccountChange] = []

    def _change(self, change: AccountChange, *writes: Callable[[], Any]) -> None:
        self.changes.append(change)
        if self.apply:
            for write in writes:
                write()

    def run(self) -> list[AccountChange]:
        existing = pool_users(self.cognito, self.pool_id)
        listed = {member.username for member in self.staff}
        for member in self.staff:
            user = existing.get(member.username)
            if user is None:
                self._create(member)
            else:
                self._update(member, user)
        for name, user in sorted(existing.items()):
            if name not in listed and user.enabled and user.groups & set(STAFF_GROUPS):
                self._change(
                    AccountChange("disable", user.username, "no longer in the staff files"),
                    partial(
                        self.cognito.admin_disable_user,
                        UserPoolId=self.pool_id,
                        Username=user.username,
                    ),
                )
        return self.changes

    def _create(self, member: StaffMember) -> None:
        def create() -> None:
            # The answer holds the new user (never the password): nothing of it is kept.
            self.cognito.admin_create_user(
                UserPoolId=self.pool_id,
                Username=member.username,
                UserAttributes=[
                    {"Name": "email", "Value": member.email},
                    {"Name": "email_verified", "Value": "true"},
                ],
                DesiredDeliveryMediums=["EMAIL"],
            )

        adds = [self._add(member.username, group) for group in sorted(member.groups)]
        self._change(
            AccountChange(
                "create",
                member.username,
                f"{', '.join(sorted(member.groups))}; invitation e-mailed to {member.email}",
            ),
            create,
            *adds,
        )

    def _add(self, username: str, group: str) -> Callable[[], Any]:
        return lambda: self.cognito.admin_add_user_to_group(
            UserPoolId=self.pool_id, Username=username, GroupName=group
        )

    def _update(self, member: StaffMember, user: PoolUser) -> None:
        what: list[str] = []
        writes: list[Callable[[], Any]] = []
        if not user.enabled:
            what.append("enabled again")
            writes.append(
                lambda: self.cognito.admin_enable_user(
                    UserPoolId=self.pool_id, Username=user.username
                )
            )
        if user.email.lower() != member.email.lower():
            what.append(f"email {user.email or '-'} -> {member.email}")
            writes.append(
                lambda: self.cognito.admin_update_user_attributes(
                    UserPoolId=self.pool_id,
                    Username=user.username,
                    UserAttributes=[
                        {"Name": "email", "Value": member.email},
                        {"Name": "email_verified", "Value": "true"},
                    ],
                )
            )
        staff_groups = user.groups & set(STAFF_GROUPS)
        for group in sorted(member.groups - staff_groups):
            what.append(f"added to {group}")
            writes.append(self._add(user.username, group))
        for group in sorted(staff_groups - member.groups):
            what.append(f"removed from {group}")
            writes.append(
                partial(
                    self.cognito.admin_remove_user_from_group,
                    UserPoolId=self.pool_id,
                    Username=user.username,
                    GroupName=group,
                )
            )
        if what:
            self._change(AccountChange("update", user.username, "; ".join(what)), *writes)


def report(changes: list[AccountChange]) -> list[str]:
    """Every account touched, by name, then the counts."""
    lines = [str(change) for change in changes]
    counts = {a: sum(c.action == a for c in changes) for a in ("create", "update", "disable")}
    lines.append(
        f"staff accounts: {counts['create']} created, {counts['update']} updated, "
        f"{counts['disable']} disabled"
    )
    return lines
