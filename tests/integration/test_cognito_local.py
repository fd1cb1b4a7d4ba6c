"""The local user pool is the deployed one, and moto's sign-in is as strict as Cognito's.

The pool and its client come from infra/resources.json (ops/cognito_local.py); moto's
InitiateAuth refuses flows the client does not allow and checks SRP passwords
(ops/standin/strict_cognito.py), so a sign-in that works here works against Cognito.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from ops.cognito_local import (
    DEMO_PASSWORD,
    LocalPool,
    deployed_properties,
    ensure_pool,
    ensure_user,
    id_token,
)
from ops.standin.strict_cognito import install


@pytest.fixture
def cognito(aws: Any) -> Any:
    install()
    return aws.client("cognito-idp")


@pytest.fixture
def pool(cognito: Any) -> LocalPool:
    made = ensure_pool(cognito)
    ensure_user(cognito, made, "sato")
    return made


def test_local_client_allows_exactly_the_deployed_flows(cognito: Any, pool: LocalPool) -> None:
    client = cognito.describe_user_pool_client(UserPoolId=pool.pool_id, ClientId=pool.client_id)
    described = client["UserPoolClient"]
    deployed = deployed_properties("UserPoolClient")
    assert sorted(described["ExplicitAuthFlows"]) == sorted(deployed["ExplicitAuthFlows"])
    assert described.get("ClientSecret") is None  # a browser client has no secret
    assert described["IdTokenValidity"] == deployed["IdTokenValidity"]
    assert described["TokenValidityUnits"] == deployed["TokenValidityUnits"]


def test_local_pool_has_the_deployed_password_policy(cognito: Any, pool: LocalPool) -> None:
    described = cognito.describe_user_pool(UserPoolId=pool.pool_id)["UserPool"]
    deployed = deployed_properties("UserPool")["Policies"]["PasswordPolicy"]
    assert described["Policies"]["PasswordPolicy"]["MinimumLength"] == deployed["MinimumLength"]
    with pytest.raises(ClientError, match="InvalidPassword"):
        ensure_user(cognito, pool, "short.password", password="Sh0rt")


def test_srp_sign_in_with_the_right_password_gives_an_id_token(
    cognito: Any, pool: LocalPool
) -> None:
    assert id_token(cognito, pool, "sato").count(".") == 2


def test_srp_sign_in_with_a_wrong_password_is_refused(cognito: Any, pool: LocalPool) -> None:
    with pytest.raises(ClientError) as refused:
        id_token(cognito, pool, "sato", password=DEMO_PASSWORD + "x")
    assert refused.value.response["Error"]["Code"] == "NotAuthorizedException"


def test_a_flow_the_client_does_not_allow_is_refused(cognito: Any, pool: LocalPool) -> None:
    # Cognito: "USER_PASSWORD_AUTH flow not enabled for this client" (InvalidParameterException).
    with pytest.raises(ClientError) as refused:
        cognito.initiate_auth(
            ClientId=pool.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": "sato", "PASSWORD": DEMO_PASSWORD},
        )
    assert refused.value.response["Error"]["Code"] == "InvalidParameterException"


def test_the_refresh_token_renews_the_id_token(cognito: Any, pool: LocalPool) -> None:
    from pycognito.aws_srp import AWSSRP

    srp = AWSSRP("sato", DEMO_PASSWORD, pool.pool_id, pool.client_id, client=cognito)
    refresh = srp.authenticate_user()["AuthenticationResult"]["RefreshToken"]
    renewed = cognito.initiate_auth(
        ClientId=pool.client_id,
        AuthFlow="REFRESH_TOKEN_AUTH",
        AuthParameters={"REFRESH_TOKEN": refresh},
    )
    assert renewed["AuthenticationResult"]["IdToken"].count(".") == 2


def test_a_second_token_is_renewed_and_a_global_sign_out_means_signing_in_again(
    cognito: Any, pool: LocalPool
) -> None:
    first = id_token(cognito, pool, "sato")
    second = id_token(cognito, pool, "sato")  # REFRESH_TOKEN_AUTH with the first one's token
    assert first.count(".") == second.count(".") == 2
    cognito.admin_user_global_sign_out(UserPoolId=pool.pool_id, Username="sato")
    # The refresh token is revoked: id_token signs in again with SRP (the password still checks).
    assert id_token(cognito, pool, "sato").count(".") == 2
