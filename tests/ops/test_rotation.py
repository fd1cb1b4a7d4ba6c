"""`python -m ops sign-out`: an agent taken out of rotation by a supervisor, optionally locked."""

from __future__ import annotations

from typing import Any

from chalicelib.bootstrap import Container
from ops.rotation import lock, sign_out, unlock
from tests.data import put_agent


def test_a_signed_in_agent_goes_offline_through_the_presence_rules(
    container: Container, resources: Any
) -> None:
    put_agent(resources, container.settings, "sato")
    container.presence.sign_in("sato")
    assert sign_out(container, "sato") == (
        "sato is now offline (TaskRouter follows within seconds)"
    )
    item = resources.Table(container.settings.presence.presence_table).get_item(
        Key={"agent_id": "sato"}
    )
    assert item["Item"]["state"] == "offline"
    assert sign_out(container, "sato") == "sato was already offline"


def test_a_locked_agent_cannot_sign_in_until_unlocked(aws: Any, cognito_pool: Any) -> None:
    from ops.cognito_local import ensure_user

    cognito = aws.client("cognito-idp")
    ensure_user(cognito, cognito_pool, "sato", supervisor=False)
    lock(cognito, cognito_pool.pool_id, "sato")
    assert (
        cognito.admin_get_user(UserPoolId=cognito_pool.pool_id, Username="sato")["Enabled"] is False
    )
    unlock(cognito, cognito_pool.pool_id, "sato")
    assert (
        cognito.admin_get_user(UserPoolId=cognito_pool.pool_id, Username="sato")["Enabled"] is True
    )
