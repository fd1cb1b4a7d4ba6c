"""Who is calling the agent API: a Cognito ID token, verified here and nowhere else.

Staff sign in to the user pool (moto's on the local stack) and send the ID token as
`Authorization: Bearer <token>`. The token's `cognito:username` is the agent id, and the
`cognito:groups` claim carries `supervisors` for those who may see everyone's calls.

Supervisor rights also need TOTP MFA on the account (issue 20; setting SUPERVISOR_MFA_REQUIRED):
`Staff.is_supervisor`, which every supervisor-only route and every read granted because the caller
is a supervisor consults, asks chalicelib/platform/staff_mfa.py for a supervisor and answers
403 `{"Code": "MfaRequired"}` without it, 503 when Cognito cannot say. Reps never reach it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

from chalice import ChaliceViewError, ForbiddenError, UnauthorizedError
from chalice.app import Request

from chalicelib import bootstrap
from chalicelib.api.web import ServiceUnavailable
from chalicelib.platform.errors import StorageUnavailable
from chalicelib.platform.observability import count, logger

if TYPE_CHECKING:
    from chalicelib.platform.settings import Settings


class InvalidToken(Exception):
    """The bearer token is missing, expired, forged or not for this app."""


class MfaRequired(ChaliceViewError):
    """403 `{"Code": "MfaRequired", "Message": ...}`: a supervisor without TOTP MFA asked for
    supervisor rights. The body is the envelope of every other error of this API (Chalice's
    `Code`/`Message`); the pages read `Code` and lead the supervisor through enrolment."""

    STATUS_CODE = 403


@dataclass(frozen=True)
class Staff:
    agent_id: str
    groups: frozenset[str]
    supervisor_group: str = "supervisors"
    # Names this token (its signature, hashed): a new sign-in is a new token
    # (chalicelib/platform/staff_mfa.py asks again for one).
    token_id: str = field(default="", compare=False)
    # Raises when a member of the supervisors' group may not use that right now (no MFA, or
    # Cognito cannot say); None: group membership is enough (SUPERVISOR_MFA_REQUIRED false).
    supervisor_check: Callable[[Staff], None] | None = field(default=None, compare=False)

    @property
    def is_supervisor(self) -> bool:
        """Whether this caller has supervisor rights; for a member of the group, asked only when
        consulted, so a supervisor's own rep actions that never consult it are unaffected."""
        if self.supervisor_group not in self.groups:
            return False
        if self.supervisor_check is not None:
            self.supervisor_check(self)
        return True


class SigningKeys(Protocol):
    def key(self, kid: str) -> Any | None: ...


def verify_id_token(token: str, keys: SigningKeys, settings: Settings) -> Staff:
    # Imported here: PyJWT pulls in `cryptography` (~0.1 s), which webhooks never need.
    import jwt

    try:
        header = jwt.get_unverified_header(token)
        key = keys.key(str(header.get("kid", "")))
        if key is None:
            raise InvalidToken("token signed with an unknown key")
        claims = jwt.decode(
            token,
            key=key,
            algorithms=["RS256"],
            audience=settings.auth.cognito_client_id,
            issuer=settings.cognito_issuer,
            options={"require": ["exp", "iat", "aud", "iss"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc
    if claims.get("token_use") != "id":
        raise InvalidToken("not an ID token")
    agent_id = claims.get("cognito:username")
    if not isinstance(agent_id, str) or not agent_id:
        raise InvalidToken("token names no user")
    groups = claims.get("cognito:groups") or []
    return Staff(
        agent_id,
        frozenset(str(g) for g in groups),
        settings.auth.supervisor_group,
        token_id=hashlib.sha256(token.rsplit(".", 1)[-1].encode()).hexdigest()[:32],
    )


def check_supervisor_mfa(staff: Staff) -> None:
    """The supervisor's account has TOTP MFA enabled, or MfaRequired (403); 503 when Cognito
    cannot say (only supervisors ever wait on it)."""
    from chalicelib.platform.staff_mfa import MfaStatusUnavailable

    try:
        enabled = bootstrap.container().staff_mfa.totp_enabled(staff.agent_id, staff.token_id)
    except MfaStatusUnavailable as exc:
        count("SupervisorMfaUnknown")
        logger.error("cannot read the supervisor's mfa", agent_id=staff.agent_id, reason=str(exc))
        raise ServiceUnavailable("cannot check the supervisor's MFA right now, try again") from exc
    if not enabled:
        count("SupervisorMfaMissing")
        logger.warning("supervisor without mfa refused", agent_id=staff.agent_id)
        raise MfaRequired("supervisors must enrol TOTP MFA, then sign in again with a code")


def bearer_token(request: Request) -> str:
    headers: Mapping[str, str] = request.headers or {}
    header = str(headers.get("authorization") or "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("missing bearer token")
    return token.strip()


def require_staff(request: Request) -> Staff:
    """The signed-in staff member; a 401 that tells the client to sign in again when the token
    is bad, a 503 (try again) when the pool's keys cannot be read to judge it."""
    container = bootstrap.container()
    try:
        staff = verify_id_token(bearer_token(request), container.signing_keys, container.settings)
    except InvalidToken as exc:
        count("AuthRejected")
        logger.info("request not authenticated", reason=str(exc))
        raise UnauthorizedError("sign in again: " + str(exc)) from exc
    except StorageUnavailable as exc:
        # The keys could not be read, so nothing is known about the token: 503 tells the page to
        # retry, where a 401 would tell it to sign the agent out (and hang up their call).
        count("AuthKeysUnavailable")
        logger.error("cannot verify tokens", reason=str(exc))
        raise ServiceUnavailable("cannot verify the sign-in right now, try again") from exc
    if container.settings.auth.supervisor_mfa_required:
        staff = replace(staff, supervisor_check=check_supervisor_mfa)
    return staff


def require_supervisor(request: Request) -> Staff:
    staff = require_staff(request)
    if not staff.is_supervisor:
        raise ForbiddenError("supervisors only")
    return staff
