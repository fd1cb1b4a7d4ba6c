"""Whether a staff account has TOTP MFA enabled, asked of Cognito and cached per container.

The ID token cannot say it: `amr` is only issued to sign-ins that ask for an authentication level,
which the pages' USER_SRP_AUTH does not (docs/hardening.md). So the API asks Cognito's
AdminGetUser, whose `UserMFASettingList` is "the MFA options that are activated for the user",
SOFTWARE_TOKEN_MFA among them:
https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AdminGetUser.html
With TOTP enabled and the pool's MFA OPTIONAL, Cognito asks that user for a code at every sign-in
("If an MFA type is activated for a user, the user will be prompted for MFA during all sign-in
attempts, unless device tracking is turned on and the device has been trusted"; our pool tracks no
devices):
https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_SoftwareTokenMfaSettingsType.html
so "enabled" means the supervisor's tokens came from a sign-in with a code.

"Enabled" is cached for a few minutes per user (a supervisor page polls every second or two);
"not enabled" only for the token it was asked for, so the first request after enrolling and
signing in again (a new token) asks again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from chalicelib.platform.errors import ContactCenterError

TOTP = "SOFTWARE_TOKEN_MFA"


class MfaStatusUnavailable(ContactCenterError):
    """Cognito could not say (error, throttling, timeout): the API answers 503, try again."""


class StaffMfa:
    def __init__(
        self,
        cognito: Any,
        user_pool_id: str,
        cache_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._cognito = cognito
        self._pool = user_pool_id
        self._ttl = cache_seconds
        self._clock = clock
        # user name -> (TOTP enabled, when asked, the token it was asked for)
        self._known: dict[str, tuple[bool, float, str]] = {}
        self._lock = threading.Lock()

    def totp_enabled(self, username: str, token_id: str) -> bool:
        """Whether `username` has TOTP MFA enabled; `token_id` names the token asking (a "no"
        holds for that token only). Raises MfaStatusUnavailable when Cognito cannot say."""
        now = self._clock()
        with self._lock:
            known = self._known.get(username)
        if known is not None and now - known[1] < self._ttl:
            enabled, _, asked_for = known
            if enabled or asked_for == token_id:
                return enabled
        enabled = self._ask(username)
        with self._lock:
            self._known[username] = (enabled, now, token_id)
        return enabled

    def _ask(self, username: str) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            user = self._cognito.admin_get_user(UserPoolId=self._pool, Username=username)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "UserNotFoundException":
                return False  # deleted since the token was issued: no MFA to speak of
            raise MfaStatusUnavailable(f"AdminGetUser failed: {exc}") from exc
        except BotoCoreError as exc:
            raise MfaStatusUnavailable(f"AdminGetUser failed: {exc}") from exc
        return TOTP in (user.get("UserMFASettingList") or [])
