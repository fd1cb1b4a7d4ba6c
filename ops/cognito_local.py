"""The staff user pool on the local stack (moto's Cognito): demo users, groups and dev tokens.

Demo agents sign in with their agent id and DEMO_PASSWORD; `supervisor` is a supervisor.
In the cloud the pool comes from infra/ and users are managed there, never by this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

LOCAL_POOL_NAME = "cc-local-staff"
LOCAL_CLIENT_NAME = "cc-local-softphone"
DEMO_PASSWORD = "Demo-Passw0rd!"  # noqa: S105 - documented demo password for the local stack
DEMO_SUPERVISOR = "supervisor"
GROUPS = ("agents", "supervisors")


@dataclass(frozen=True)
class LocalPool:
    pool_id: str
    client_id: str


def ensure_pool(cognito: Any, pool_name: str = LOCAL_POOL_NAME) -> LocalPool:
    """The local pool and its app client, created once."""
    pools = cognito.list_user_pools(MaxResults=60)["UserPools"]
    pool_id = next((p["Id"] for p in pools if p["Name"] == pool_name), None)
    if pool_id is None:
        pool_id = cognito.create_user_pool(
            PoolName=pool_name,
            Policies={"PasswordPolicy": {"MinimumLength": 8}},
        )["UserPool"]["Id"]
        for group in GROUPS:
            cognito.create_group(GroupName=group, UserPoolId=pool_id)
    clients = cognito.list_user_pool_clients(UserPoolId=pool_id, MaxResults=60)["UserPoolClients"]
    client_id = next((c["ClientId"] for c in clients if c["ClientName"] == LOCAL_CLIENT_NAME), None)
    if client_id is None:
        client_id = cognito.create_user_pool_client(
            UserPoolId=pool_id,
            ClientName=LOCAL_CLIENT_NAME,
            ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        )["UserPoolClient"]["ClientId"]
    return LocalPool(pool_id, client_id)


def ensure_user(
    cognito: Any,
    pool: LocalPool,
    username: str,
    supervisor: bool = False,
    password: str = DEMO_PASSWORD,
) -> None:
    try:
        cognito.admin_get_user(UserPoolId=pool.pool_id, Username=username)
    except cognito.exceptions.UserNotFoundException:
        cognito.admin_create_user(
            UserPoolId=pool.pool_id, Username=username, MessageAction="SUPPRESS"
        )
        cognito.admin_set_user_password(
            UserPoolId=pool.pool_id, Username=username, Password=password, Permanent=True
        )
    groups = ["agents"] + (["supervisors"] if supervisor else [])
    for group in groups:
        cognito.admin_add_user_to_group(UserPoolId=pool.pool_id, Username=username, GroupName=group)


def id_token(cognito: Any, pool: LocalPool, username: str, password: str = DEMO_PASSWORD) -> str:
    result = cognito.initiate_auth(
        ClientId=pool.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": password},
    )
    return str(result["AuthenticationResult"]["IdToken"])


def seed_staff(cognito: Any, agent_ids: list[str]) -> LocalPool:
    pool = ensure_pool(cognito)
    for agent_id in agent_ids:
        ensure_user(cognito, pool, agent_id)
    ensure_user(cognito, pool, DEMO_SUPERVISOR, supervisor=True)
    return pool
