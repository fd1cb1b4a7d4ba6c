"""Staff accounts in bulk (ops/staff.py) against moto's Cognito made strict
(ops/standin/strict_cognito.py): invitations delivered by Cognito, leavers disabled not deleted,
every account named, the temporary password never printed."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from ops.cognito_local import LocalPool, ensure_pool
from ops.staff import StaffMember, StaffSync, pool_users, read_staff, report
from ops.standin import strict_cognito

AGENTS = """agent_id,name,team,email
sato,Sato Haruto,tokyo-sales,sato@example.test
Suzuki,Suzuki Yui,tokyo-sales,suzuki@example.test
tanaka,Tanaka Ren,osaka-support,tanaka@example.test
"""


@pytest.fixture
def cognito(aws: Any) -> Any:
    strict_cognito.install()
    return aws.client("cognito-idp")


@pytest.fixture
def pool(cognito: Any) -> LocalPool:
    return ensure_pool(cognito)


def write(tmp_path: Path, agents: str, supervisors: str = "agent_id\n") -> tuple[Path, Path]:
    (tmp_path / "agents.csv").write_text(agents)
    (tmp_path / "supervisors.csv").write_text(supervisors)
    return tmp_path / "agents.csv", tmp_path / "supervisors.csv"


def sync(cognito: Any, pool: LocalPool, staff: list[StaffMember]) -> list[str]:
    return report(StaffSync(cognito, pool.pool_id, staff, apply=True).run())


def test_bulk_create_invites_each_rep_by_email_with_the_right_groups(
    cognito: Any, pool: LocalPool, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    staff = read_staff(*write(tmp_path, AGENTS, "agent_id\nsuzuki\n"))
    assert staff.problems == []
    before = len(strict_cognito.INVITATIONS)
    lines = sync(cognito, pool, staff.members)
    assert lines == [
        "+ create sato: agents; invitation e-mailed to sato@example.test",
        "+ create suzuki: agents, supervisors; invitation e-mailed to suzuki@example.test",
        "+ create tanaka: agents; invitation e-mailed to tanaka@example.test",
        "staff accounts: 3 created, 0 updated, 0 disabled",
    ]
    sent = [i for i in strict_cognito.INVITATIONS[before:] if i[0] == pool.pool_id]
    assert [(user, email) for _, user, email, _ in sent] == [
        ("sato", "sato@example.test"),
        ("suzuki", "suzuki@example.test"),
        ("tanaka", "tanaka@example.test"),
    ]
    users = pool_users(cognito, pool.pool_id)
    assert {name: sorted(u.groups) for name, u in users.items()} == {
        "sato": ["agents"],
        "suzuki": ["agents", "supervisors"],
        "tanaka": ["agents"],
    }
    # The temporary passwords went to the reps only: not in the report, not in any log line.
    logged = "\n".join(lines) + caplog.text
    assert all(password not in logged for *_, password in sent)
    statuses = {
        u["Username"]: u["UserStatus"] for u in cognito.list_users(UserPoolId=pool.pool_id)["Users"]
    }
    assert set(statuses.values()) == {"FORCE_CHANGE_PASSWORD"}


def test_the_invitation_password_signs_in_once_and_asks_for_a_new_one(
    cognito: Any, pool: LocalPool, tmp_path: Path
) -> None:
    from pycognito.aws_srp import AWSSRP, ForceChangePasswordException

    staff = read_staff(*write(tmp_path, AGENTS))
    sync(cognito, pool, staff.members)
    (_, user, _, password) = next(
        i for i in reversed(strict_cognito.INVITATIONS) if i[0] == pool.pool_id and i[1] == "sato"
    )
    # USER_SRP_AUTH as the pages sign in; Cognito answers NEW_PASSWORD_REQUIRED for a user
    # created by an administrator who has not chosen a password yet.
    srp = AWSSRP(user, password, pool.pool_id, pool.client_id, client=cognito)
    with pytest.raises(ForceChangePasswordException):
        srp.authenticate_user()
    wrong = AWSSRP(user, password + "x", pool.pool_id, pool.client_id, client=cognito)
    with pytest.raises(ClientError, match="NotAuthorized"):
        wrong.authenticate_user()


def test_a_second_run_changes_nothing(cognito: Any, pool: LocalPool, tmp_path: Path) -> None:
    staff = read_staff(*write(tmp_path, AGENTS, "agent_id\nsuzuki\n"))
    sync(cognito, pool, staff.members)
    before = len(strict_cognito.INVITATIONS)
    assert sync(cognito, pool, staff.members) == [
        "staff accounts: 0 created, 0 updated, 0 disabled"
    ]
    assert len(strict_cognito.INVITATIONS) == before


def test_leavers_are_disabled_not_deleted_and_returners_enabled(
    cognito: Any, pool: LocalPool, tmp_path: Path
) -> None:
    sync(cognito, pool, read_staff(*write(tmp_path, AGENTS, "agent_id\nsuzuki\n")).members)
    # A non-staff user of the pool (an operator's test account) is not the file's business.
    cognito.admin_create_user(
        UserPoolId=pool.pool_id, Username="ops-test", MessageAction="SUPPRESS"
    )
    fewer = AGENTS.replace("tanaka,Tanaka Ren,osaka-support,tanaka@example.test\n", "")
    lines = sync(cognito, pool, read_staff(*write(tmp_path, fewer)).members)
    assert lines == [
        "~ update suzuki: removed from supervisors",
        "- disable tanaka: no longer in the staff files",
        "staff accounts: 0 created, 1 updated, 1 disabled",
    ]
    tanaka = cognito.admin_get_user(UserPoolId=pool.pool_id, Username="tanaka")
    assert tanaka["Enabled"] is False  # still there: disabled, not deleted
    assert cognito.admin_get_user(UserPoolId=pool.pool_id, Username="ops-test")["Enabled"]
    moved = AGENTS.replace("tanaka@example.test", "ren.tanaka@example.test")
    lines = sync(cognito, pool, read_staff(*write(tmp_path, moved)).members)
    assert lines == [
        "~ update tanaka: enabled again; email tanaka@example.test -> ren.tanaka@example.test",
        "staff accounts: 0 created, 1 updated, 0 disabled",
    ]


def test_the_plan_names_the_changes_and_makes_none(
    cognito: Any, pool: LocalPool, tmp_path: Path
) -> None:
    staff = read_staff(*write(tmp_path, AGENTS)).members
    planned = StaffSync(cognito, pool.pool_id, staff, apply=False).run()
    assert str(planned[0]) == "+ create sato: agents; invitation e-mailed to sato@example.test"
    assert pool_users(cognito, pool.pool_id) == {}


def test_rows_that_cannot_become_accounts_are_named_with_their_line(tmp_path: Path) -> None:
    staff = read_staff(
        *write(
            tmp_path,
            AGENTS + "ito,Ito Mei,tokyo-sales,\nsato,Sato Again,tokyo-sales,sato2@example.test\n",
            "agent_id,email\nkato,not-an-address\n",
        )
    )
    assert staff.problems == [
        "agents.csv line 5: ito has no valid email (empty): Cognito sends the invitation there",
        "agents.csv line 6: sato is listed twice",
        "supervisors.csv line 2: kato has no valid email, here or in the agents file",
    ]
    assert [m.username for m in staff.members] == ["sato", "suzuki", "tanaka"]


def test_the_stand_in_refuses_an_email_invitation_without_an_email(
    cognito: Any, pool: LocalPool
) -> None:
    with pytest.raises(ClientError, match="InvalidParameterException"):
        cognito.admin_create_user(
            UserPoolId=pool.pool_id, Username="nobody", DesiredDeliveryMediums=["EMAIL"]
        )
    assert pool_users(cognito, pool.pool_id) == {}


def test_the_stand_in_treats_usernames_in_any_case_as_one_user(
    cognito: Any, pool: LocalPool
) -> None:
    cognito.admin_create_user(UserPoolId=pool.pool_id, Username="sato", MessageAction="SUPPRESS")
    with pytest.raises(ClientError, match="UsernameExistsException"):
        cognito.admin_create_user(
            UserPoolId=pool.pool_id, Username="Sato", MessageAction="SUPPRESS"
        )
    assert cognito.admin_get_user(UserPoolId=pool.pool_id, Username="SATO")["Username"] == "sato"


def test_an_agents_file_without_emails_is_named_once(tmp_path: Path) -> None:
    staff = read_staff(*write(tmp_path, "agent_id,name,team\nsato,Sato Haruto,tokyo-sales\n"))
    assert staff.problems == [
        "agents.csv has no email column: add one (agent_id,name,team,email); Cognito sends "
        "each rep's invitation there"
    ]
    assert staff.members == []
