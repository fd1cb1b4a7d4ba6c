"""The staff user pool on the local stack (moto's Cognito): demo users, groups and dev tokens.

Demo agents sign in with their agent id and DEMO_PASSWORD; `supervisor` is a supervisor, and
supervisors have TOTP MFA enrolled (the API refuses a supervisor without it, issue 20) with a
secret made at start: TOTP_SECRETS here, var/local_totp.json for `python -m ops totp`.
In the cloud the pool comes from infra/ and users are managed there, never by this module.

The local pool and its app client are made from the very properties infra/resources.json
deploys (the UserPool and UserPoolClient resources): the same password policy, the same
ExplicitAuthFlows, the same token lifetimes, so a page that signs in here signs in in the cloud.
moto does not enforce ExplicitAuthFlows nor check an SRP password by itself;
ops/standin/strict_cognito.py makes it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

LOCAL_POOL_NAME = "cc-local-staff"
LOCAL_CLIENT_NAME = "cc-local-softphone"
DEMO_PASSWORD = "Demo-Passw0rd!"  # noqa: S105 - documented demo password for the local stack
DEMO_SUPERVISOR = "supervisor"
GROUPS = ("agents", "supervisors")
RESOURCES = Path(__file__).resolve().parents[1] / "infra" / "resources.json"
# Properties CloudFormation takes that are not CreateUserPool/CreateUserPoolClient parameters
# of the same name (the rest are passed through unchanged).
POOL_NOT_PASSED = frozenset({"UserPoolName", "EnabledMfas"})
CLIENT_NOT_PASSED = frozenset({"UserPoolId", "ClientName"})


@dataclass(frozen=True)
class LocalPool:
    pool_id: str
    client_id: str


def _literal(name: str, properties: dict[str, Any]) -> dict[str, Any]:
    """The properties, which must be plain values: a Ref or Fn:: here cannot be resolved locally
    and would silently differ from the cloud."""
    text = json.dumps(properties)
    if '"Ref"' in text or '"Fn::' in text:
        raise ValueError(f"{name}: local properties must not use intrinsic functions: {text}")
    return properties


@cache
def deployed_properties(resource: str) -> dict[str, Any]:
    """A resource's Properties as infra/resources.json deploys them."""
    template = json.loads(RESOURCES.read_text(encoding="utf-8"))
    return dict(template["Resources"][resource]["Properties"])


def pool_parameters() -> dict[str, Any]:
    """CreateUserPool's parameters for the local pool, from the deployed UserPool."""
    properties = deployed_properties("UserPool")
    passed = {k: v for k, v in properties.items() if k not in POOL_NOT_PASSED}
    return _literal("UserPool", passed)


def client_parameters() -> dict[str, Any]:
    """CreateUserPoolClient's parameters for the local client, from the deployed client."""
    properties = deployed_properties("UserPoolClient")
    passed = {k: v for k, v in properties.items() if k not in CLIENT_NOT_PASSED}
    return _literal("UserPoolClient", passed)


def ensure_pool(cognito: Any, pool_name: str = LOCAL_POOL_NAME) -> LocalPool:
    """The local pool and its app client, created once, as the stack deploys them."""
    pools = cognito.list_user_pools(MaxResults=60)["UserPools"]
    pool_id = next((p["Id"] for p in pools if p["Name"] == pool_name), None)
    if pool_id is None:
        pool_id = cognito.create_user_pool(PoolName=pool_name, **pool_parameters())["UserPool"][
            "Id"
        ]
        if "SOFTWARE_TOKEN_MFA" in deployed_properties("UserPool").get("EnabledMfas", []):
            cognito.set_user_pool_mfa_config(
                UserPoolId=pool_id,
                SoftwareTokenMfaConfiguration={"Enabled": True},
                MfaConfiguration=deployed_properties("UserPool").get("MfaConfiguration", "OFF"),
            )
        for group in GROUPS:
            cognito.create_group(GroupName=group, UserPoolId=pool_id)
    clients = cognito.list_user_pool_clients(UserPoolId=pool_id, MaxResults=60)["UserPoolClients"]
    client_id = next((c["ClientId"] for c in clients if c["ClientName"] == LOCAL_CLIENT_NAME), None)
    if client_id is None:
        client_id = cognito.create_user_pool_client(
            UserPoolId=pool_id, ClientName=LOCAL_CLIENT_NAME, **client_parameters()
        )["UserPoolClient"]["ClientId"]
    return LocalPool(pool_id, client_id)


# (pool id, user name) -> the TOTP secret enrolled for that demo user by `enrol_totp`.
TOTP_SECRETS: dict[tuple[str, str], str] = {}


def ensure_user(
    cognito: Any,
    pool: LocalPool,
    username: str,
    supervisor: bool = False,
    password: str = DEMO_PASSWORD,
    totp: bool | None = None,
) -> None:
    """The user, in its groups; with TOTP MFA enrolled when `totp` (default: supervisors)."""
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
    if (supervisor if totp is None else totp) and (pool.pool_id, username) not in TOTP_SECRETS:
        enrol_totp(cognito, pool, username, password)


def enrol_totp(cognito: Any, pool: LocalPool, username: str, password: str = DEMO_PASSWORD) -> str:
    """Enrol TOTP MFA the way the pages do (AssociateSoftwareToken with the access token,
    VerifySoftwareToken with a code from the secret, SetUserMFAPreference enabled + preferred)
    and remember the secret; an earlier enrolment whose secret is lost here is switched off
    first, so signing in needs no code."""
    from ops import totp

    user = cognito.admin_get_user(UserPoolId=pool.pool_id, Username=username)
    if "SOFTWARE_TOKEN_MFA" in user.get("UserMFASettingList", []):
        cognito.admin_set_user_mfa_preference(
            UserPoolId=pool.pool_id,
            Username=username,
            SoftwareTokenMfaSettings={"Enabled": False, "PreferredMfa": False},
        )
    access = _signed_in(cognito, pool, username, password)["AccessToken"]
    secret = str(cognito.associate_software_token(AccessToken=access)["SecretCode"])
    cognito.verify_software_token(
        AccessToken=access, UserCode=totp.current_code(secret), FriendlyDeviceName="demo"
    )
    cognito.set_user_mfa_preference(
        AccessToken=access, SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True}
    )
    TOTP_SECRETS[(pool.pool_id, username)] = secret
    return secret


def _signed_in(cognito: Any, pool: LocalPool, username: str, password: str) -> dict[str, Any]:
    """The AuthenticationResult of USER_SRP_AUTH, answering the SOFTWARE_TOKEN_MFA challenge with
    the current code when the user's secret is known here."""
    from pycognito.exceptions import SoftwareTokenMFAChallengeException

    from ops import totp

    srp = _srp_client()(username, password, pool.pool_id, pool.client_id, client=cognito)
    try:
        return dict(srp.authenticate_user()["AuthenticationResult"])
    except SoftwareTokenMFAChallengeException as challenge:
        secret = TOTP_SECRETS.get((pool.pool_id, username))
        if secret is None:
            raise
        answer = cognito.respond_to_auth_challenge(
            ClientId=pool.client_id,
            ChallengeName="SOFTWARE_TOKEN_MFA",
            Session=challenge.get_tokens()["Session"],
            ChallengeResponses={
                "USERNAME": username,
                "SOFTWARE_TOKEN_MFA_CODE": totp.current_code(secret),
            },
        )
        return dict(answer["AuthenticationResult"])


# (pool, client, user) -> refresh token: a second token for the same user is one cheap
# REFRESH_TOKEN_AUTH instead of another SRP exchange (rehearsals ask for hundreds).
_refresh_tokens: dict[tuple[str, str, str], str] = {}


def id_token(cognito: Any, pool: LocalPool, username: str, password: str = DEMO_PASSWORD) -> str:
    """An ID token as the pages get one, with the flows the deployed client allows: USER_SRP_AUTH
    computed by pycognito (a maintained client of Cognito's SRP), then REFRESH_TOKEN_AUTH."""
    key = (pool.pool_id, pool.client_id, username)
    refresh = _refresh_tokens.get(key)
    if refresh is not None:
        try:
            renewed = cognito.initiate_auth(
                ClientId=pool.client_id,
                AuthFlow="REFRESH_TOKEN_AUTH",
                AuthParameters={"REFRESH_TOKEN": refresh},
            )
            return str(renewed["AuthenticationResult"]["IdToken"])
        except cognito.exceptions.NotAuthorizedException:
            del _refresh_tokens[key]  # revoked (e.g. a global sign-out): sign in again
    tokens = _signed_in(cognito, pool, username, password)
    _refresh_tokens[key] = str(tokens["RefreshToken"])
    return str(tokens["IdToken"])


@cache
def _srp_client() -> Any:
    """pycognito's AWSSRP with a 256-bit ephemeral secret instead of 1024 bits: the exchange is
    the same to Cognito, and a dev token costs a quarter of the modular arithmetic (each
    3072-bit power is tens of milliseconds in Python). Imported on first use."""
    import os

    from pycognito.aws_srp import AWSSRP

    class QuickSrp(AWSSRP):
        def generate_random_small_a(self) -> int:
            return int.from_bytes(os.urandom(32), "big")

    return QuickSrp


def seed_staff(cognito: Any, agent_ids: list[str]) -> LocalPool:
    pool = ensure_pool(cognito)
    for agent_id in agent_ids:
        ensure_user(cognito, pool, agent_id)
    ensure_user(cognito, pool, DEMO_SUPERVISOR, supervisor=True)
    return pool
