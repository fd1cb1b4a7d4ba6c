"""chalicelib/platform/staff_mfa.py: AdminGetUser's UserMFASettingList, cached per user."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from chalicelib.platform.staff_mfa import MfaStatusUnavailable, StaffMfa


class FakeCognito:
    def __init__(self, settings: dict[str, list[str]]) -> None:
        self.settings = settings
        self.asked: list[str] = []
        self.failure: Exception | None = None

    def admin_get_user(self, UserPoolId: str, Username: str) -> dict[str, Any]:
        assert UserPoolId == "pool"
        self.asked.append(Username)
        if self.failure is not None:
            raise self.failure
        if Username not in self.settings:
            raise ClientError(
                {"Error": {"Code": "UserNotFoundException", "Message": "no"}}, "AdminGetUser"
            )
        return {"Username": Username, "UserMFASettingList": self.settings[Username]}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_totp_in_the_setting_list_is_enabled_and_cached_for_the_ttl() -> None:
    cognito, clock = FakeCognito({"boss": ["SOFTWARE_TOKEN_MFA"]}), Clock()
    mfa = StaffMfa(cognito, "pool", 300, clock)
    assert mfa.totp_enabled("boss", "t1")
    clock.now += 299
    assert mfa.totp_enabled("boss", "t2")
    assert cognito.asked == ["boss"]
    clock.now += 2
    assert mfa.totp_enabled("boss", "t2")
    assert cognito.asked == ["boss", "boss"]


def test_sms_only_or_nothing_is_not_totp() -> None:
    mfa = StaffMfa(FakeCognito({"a": ["SMS_MFA"], "b": []}), "pool", 300, Clock())
    assert not mfa.totp_enabled("a", "t")
    assert not mfa.totp_enabled("b", "t")


def test_a_no_holds_for_the_token_it_was_asked_for_only() -> None:
    cognito = FakeCognito({"boss": []})
    mfa = StaffMfa(cognito, "pool", 300, Clock())
    assert not mfa.totp_enabled("boss", "old")
    assert not mfa.totp_enabled("boss", "old")
    assert cognito.asked == ["boss"]
    cognito.settings["boss"] = ["SOFTWARE_TOKEN_MFA"]
    assert mfa.totp_enabled("boss", "new")  # signed in again after enrolling: asked again


def test_a_deleted_user_has_no_mfa() -> None:
    assert not StaffMfa(FakeCognito({}), "pool", 300, Clock()).totp_enabled("gone", "t")


@pytest.mark.parametrize(
    "failure",
    [
        ClientError({"Error": {"Code": "TooManyRequestsException", "Message": "slow"}}, "X"),
        EndpointConnectionError(endpoint_url="https://cognito-idp"),
    ],
)
def test_cognito_failing_is_unknown_not_no(failure: Exception) -> None:
    cognito = FakeCognito({"boss": ["SOFTWARE_TOKEN_MFA"]})
    cognito.failure = failure
    with pytest.raises(MfaStatusUnavailable):
        StaffMfa(cognito, "pool", 300, Clock()).totp_enabled("boss", "t")
