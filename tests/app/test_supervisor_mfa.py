"""Supervisor rights need TOTP MFA on the account (issue 20, item 6): the API asks Cognito's
AdminGetUser (cached) and answers 403 MfaRequired without it, 503 when Cognito cannot say; reps
never wait on it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from chalicelib.bootstrap import Container
from chalicelib.platform.staff_mfa import StaffMfa
from ops.cognito_local import enrol_totp, ensure_user, id_token
from tests import conversation_script as script
from tests.conversation_stream import deliver_stream

DAY = "2025-11-25"


def get(client: Any, path: str, token: str) -> Any:
    return client.http.get(path, headers={"Authorization": f"Bearer {token}"})


def code_of(response: Any) -> str:
    return str(json.loads(response.body).get("Code", ""))


@pytest.fixture
def cognito(aws: Any) -> Any:
    return aws.client("cognito-idp")


@pytest.fixture
def no_mfa_supervisor(cognito: Any, cognito_pool: Any) -> str:
    """A supervisor's token from an account with no TOTP enrolled."""
    ensure_user(cognito, cognito_pool, "newboss", supervisor=True, totp=False)
    return str(id_token(cognito, cognito_pool, "newboss"))


class CountingCognito:
    """The real (moto) client, counting AdminGetUser calls."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.calls = 0

    def admin_get_user(self, **kwargs: Any) -> Any:
        self.calls += 1
        return self.client.admin_get_user(**kwargs)


class CognitoDown:
    def admin_get_user(self, **kwargs: Any) -> Any:
        raise ClientError(
            {"Error": {"Code": "InternalErrorException", "Message": "down"}}, "AdminGetUser"
        )


def test_a_supervisor_without_totp_is_refused_with_mfa_required(
    client: Any, container: Container, no_mfa_supervisor: str
) -> None:
    s = script.offered_five_times_then_answered_by_x(n=61)
    for event in s.events():
        container.ledger.store_event(event)
    deliver_stream(container)
    container.clock = lambda: s.t0 + 300_000  # type: ignore[method-assign]
    paths = [
        "/supervisor/floor",  # require_supervisor
        f"/conversations/{s.call_sid}",  # a read granted only to supervisors (not on the call)
        f"/conversations?from={DAY}&to={DAY}&team=osaka",  # a listing only supervisors may ask
        f"/audit?from={DAY}&to={DAY}",
    ]
    for path in paths:
        response = get(client, path, no_mfa_supervisor)
        assert (path, response.status_code, code_of(response)) == (path, 403, "MfaRequired")


def test_a_supervisor_with_totp_is_granted(client: Any, staff_token: Any) -> None:
    # staff_token enrols supervisors' TOTP (ops/cognito_local.py) and answers the challenge.
    assert get(client, "/supervisor/floor", staff_token("boss", supervisor=True)).status_code == 200


def test_after_enrolling_the_next_sign_in_is_granted_at_once(
    client: Any, cognito: Any, cognito_pool: Any, no_mfa_supervisor: str
) -> None:
    assert get(client, "/supervisor/floor", no_mfa_supervisor).status_code == 403
    enrol_totp(cognito, cognito_pool, "newboss")
    # The old token's "no" was cached for that token only; a new sign-in asks again.
    fresh = str(id_token(cognito, cognito_pool, "newboss"))
    assert fresh != no_mfa_supervisor
    assert get(client, "/supervisor/floor", fresh).status_code == 200


def test_a_polling_supervisor_costs_one_admin_get_user(
    client: Any, container: Container, cognito: Any, cognito_pool: Any, staff_token: Any
) -> None:
    counting = CountingCognito(cognito)
    container.staff_mfa = StaffMfa(counting, cognito_pool.pool_id, 300)
    token = staff_token("boss", supervisor=True)
    for _ in range(5):
        assert get(client, "/supervisor/floor", token).status_code == 200
    assert counting.calls == 1


def test_cognito_down_is_503_for_supervisors_only(
    client: Any, container: Container, cognito_pool: Any, staff_token: Any
) -> None:
    rep = staff_token("tanaka")
    boss = staff_token("boss", supervisor=True)
    container.staff_mfa = StaffMfa(CognitoDown(), cognito_pool.pool_id, 300)
    response = get(client, "/supervisor/floor", boss)
    assert (response.status_code, code_of(response)) == (503, "ServiceUnavailable")
    assert get(client, f"/conversations?from={DAY}&to={DAY}", rep).status_code == 200
    # A rep asking for a supervisor route is refused as before, without asking Cognito.
    refused = get(client, "/supervisor/floor", rep)
    assert (refused.status_code, code_of(refused)) == (403, "ForbiddenError")


def test_with_the_setting_off_group_membership_is_enough(
    client: Any, container: Container, no_mfa_supervisor: str
) -> None:
    container.settings = container.settings.with_values(supervisor_mfa_required=False)
    assert get(client, "/supervisor/floor", no_mfa_supervisor).status_code == 200
