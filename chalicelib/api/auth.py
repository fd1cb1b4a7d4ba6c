"""Who is calling the agent API: a Cognito ID token, verified here and nowhere else.

Staff sign in to the user pool (moto's on the local stack) and send the ID token as
`Authorization: Bearer <token>`. The token's `cognito:username` is the agent id, and the
`cognito:groups` claim carries `supervisors` for those who may see everyone's calls.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from chalice import ForbiddenError, UnauthorizedError
from chalice.app import Request

from chalicelib import bootstrap
from chalicelib.api.web import ServiceUnavailable
from chalicelib.platform.errors import StorageUnavailable
from chalicelib.platform.observability import count, logger

if TYPE_CHECKING:
    from chalicelib.platform.settings import Settings


class InvalidToken(Exception):
    """The bearer token is missing, expired, forged or not for this app."""


@dataclass(frozen=True)
class Staff:
    agent_id: str
    groups: frozenset[str]
    supervisor_group: str = "supervisors"

    @property
    def is_supervisor(self) -> bool:
        return self.supervisor_group in self.groups


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
    return Staff(agent_id, frozenset(str(g) for g in groups), settings.auth.supervisor_group)


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
        return verify_id_token(bearer_token(request), container.signing_keys, container.settings)
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


def require_supervisor(request: Request) -> Staff:
    staff = require_staff(request)
    if not staff.is_supervisor:
        raise ForbiddenError("supervisors only")
    return staff
