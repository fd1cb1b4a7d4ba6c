"""`python -m ops sign-out AGENT --stage S [--lock]`: take an agent out of rotation now.

For the supervisor who cannot reach the agent (headset broken, agent gone home still signed in,
calls ringing into nothing). It applies the same `sign_out` transition the softphone does, so
presence, the board and the TaskRouter mirror (worker -> Offline) follow the usual path; setting
the worker Offline in the Twilio console would be undone by the presence reconciliation within
five minutes. `--lock` also disables the agent's sign-in (Cognito) and revokes their tokens, so
the softphone cannot sign them back in; `--unlock` gives it back.
"""

from __future__ import annotations

from typing import Any

from chalicelib.bootstrap import Container
from chalicelib.presence.domain import AgentState


def sign_out(container: Container, agent_id: str) -> str:
    before = container.presence_store.get(agent_id)
    if before is None or before.state == AgentState.OFFLINE:
        return f"{agent_id} was already offline"
    presence = container.presence.sign_out(agent_id)
    if presence is None:
        return f"{agent_id} was already offline"
    return f"{agent_id} is now {presence.state.value} (TaskRouter follows within seconds)"


def lock(cognito: Any, user_pool_id: str, agent_id: str) -> str:
    cognito.admin_disable_user(UserPoolId=user_pool_id, Username=agent_id)
    cognito.admin_user_global_sign_out(UserPoolId=user_pool_id, Username=agent_id)
    return f"{agent_id} cannot sign in until `python -m ops sign-out {agent_id} --unlock`"


def unlock(cognito: Any, user_pool_id: str, agent_id: str) -> str:
    cognito.admin_enable_user(UserPoolId=user_pool_id, Username=agent_id)
    return f"{agent_id} may sign in again"


def run_for_stage(stage: str, agent_id: str, lock_sign_in: bool, unlock_sign_in: bool) -> int:
    import boto3

    from ops.deployed import deployed_settings

    session = boto3.session.Session()
    settings = deployed_settings(session, stage)
    cognito = session.client("cognito-idp")
    if unlock_sign_in:
        print(unlock(cognito, settings.auth.cognito_user_pool_id, agent_id))
        return 0
    print(sign_out(Container(settings=settings, boto_session=session), agent_id))
    if lock_sign_in:
        print(lock(cognito, settings.auth.cognito_user_pool_id, agent_id))
    return 0
