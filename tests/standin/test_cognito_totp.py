"""The strict Cognito stand-in's TOTP MFA (ops/standin/strict_cognito.py, install_totp), driven
through boto3 against moto as the pages drive Cognito: enrolment with the access token, then the
SOFTWARE_TOKEN_MFA challenge after the SRP password check."""

from __future__ import annotations

import time
from typing import Any

import pytest
from botocore.exceptions import ClientError
from pycognito.exceptions import SoftwareTokenMFAChallengeException

from ops import totp
from ops.cognito_local import TOTP_SECRETS, _srp_client, ensure_user, id_token


def _error(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


@pytest.fixture
def cognito(aws: Any, cognito_pool: Any) -> Any:
    return aws.client("cognito-idp")


def _challenge(cognito: Any, pool: Any, username: str) -> str:
    """The Session of the SOFTWARE_TOKEN_MFA challenge a right password leads to."""
    from ops.cognito_local import DEMO_PASSWORD

    srp = _srp_client()(username, DEMO_PASSWORD, pool.pool_id, pool.client_id, client=cognito)
    with pytest.raises(SoftwareTokenMFAChallengeException) as raised:
        srp.authenticate_user()
    return str(raised.value.get_tokens()["Session"])


def _answer(cognito: Any, pool: Any, session: str, username: str, code: str) -> Any:
    return cognito.respond_to_auth_challenge(
        ClientId=pool.client_id,
        ChallengeName="SOFTWARE_TOKEN_MFA",
        Session=session,
        ChallengeResponses={"USERNAME": username, "SOFTWARE_TOKEN_MFA_CODE": code},
    )


def _other_code(secret: str) -> str:
    near = {totp.code_at(secret, time.time() + d * 30) for d in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in near)


def test_supervisor_is_challenged_after_the_password_and_signs_in_with_the_code(
    cognito: Any, cognito_pool: Any
) -> None:
    ensure_user(cognito, cognito_pool, "sup1", supervisor=True)
    secret = TOTP_SECRETS[(cognito_pool.pool_id, "sup1")]
    user = cognito.admin_get_user(UserPoolId=cognito_pool.pool_id, Username="sup1")
    assert user["UserMFASettingList"] == ["SOFTWARE_TOKEN_MFA"]
    session = _challenge(cognito, cognito_pool, "sup1")
    answer = _answer(cognito, cognito_pool, session, "sup1", totp.current_code(secret))
    assert answer["AuthenticationResult"]["IdToken"]


def test_secrets_are_per_user_not_moto_s_fixed_one(cognito: Any, cognito_pool: Any) -> None:
    ensure_user(cognito, cognito_pool, "sup1", supervisor=True)
    ensure_user(cognito, cognito_pool, "sup2", supervisor=True)
    first = TOTP_SECRETS[(cognito_pool.pool_id, "sup1")]
    second = TOTP_SECRETS[(cognito_pool.pool_id, "sup2")]
    assert first != second
    assert "asdfasdfasdf" not in (first.lower(), second.lower())
    session = _challenge(cognito, cognito_pool, "sup2")
    code = totp.current_code(first)
    if code in {totp.code_at(second, time.time() + d * 30) for d in (-1, 0, 1)}:
        pytest.skip("the two secrets agree this minute (one time in ~300,000)")
    with pytest.raises(ClientError) as refused:
        _answer(cognito, cognito_pool, session, "sup2", code)
    assert _error(refused) == "CodeMismatchException"


def test_wrong_code_is_refused_and_a_spent_session_cannot_sign_in_again(
    cognito: Any, cognito_pool: Any
) -> None:
    ensure_user(cognito, cognito_pool, "sup1", supervisor=True)
    secret = TOTP_SECRETS[(cognito_pool.pool_id, "sup1")]
    session = _challenge(cognito, cognito_pool, "sup1")
    with pytest.raises(ClientError) as wrong:
        _answer(cognito, cognito_pool, session, "sup1", _other_code(secret))
    assert _error(wrong) == "CodeMismatchException"
    # The wrong code left the challenge standing: the right one still signs in, once.
    _answer(cognito, cognito_pool, session, "sup1", totp.current_code(secret))
    with pytest.raises(ClientError) as reused:
        _answer(cognito, cognito_pool, session, "sup1", totp.current_code(secret))
    assert _error(reused) == "NotAuthorizedException"


def test_a_challenge_answer_cannot_name_another_user(cognito: Any, cognito_pool: Any) -> None:
    ensure_user(cognito, cognito_pool, "sup1", supervisor=True)
    ensure_user(cognito, cognito_pool, "sup2", supervisor=True)
    session = _challenge(cognito, cognito_pool, "sup1")
    other = totp.current_code(TOTP_SECRETS[(cognito_pool.pool_id, "sup2")])
    with pytest.raises(ClientError) as refused:
        _answer(cognito, cognito_pool, session, "sup2", other)
    assert _error(refused) == "NotAuthorizedException"


def test_codes_from_the_next_and_previous_step_are_accepted_but_not_further(
    cognito: Any, cognito_pool: Any
) -> None:
    ensure_user(cognito, cognito_pool, "sup1", supervisor=True)
    secret = TOTP_SECRETS[(cognito_pool.pool_id, "sup1")]
    now = time.time()
    assert totp.verify(secret, totp.code_at(secret, now - 30), at=now)
    assert totp.verify(secret, totp.code_at(secret, now + 30), at=now)
    far = totp.code_at(secret, now - 120)
    if far not in {totp.code_at(secret, now + d * 30) for d in (-1, 0, 1)}:
        assert not totp.verify(secret, far, at=now)


def test_verify_software_token_checks_the_code_against_the_associated_secret(
    cognito: Any, cognito_pool: Any
) -> None:
    ensure_user(cognito, cognito_pool, "rep1")
    tokens = _srp_client()(
        "rep1", "Demo-Passw0rd!", cognito_pool.pool_id, cognito_pool.client_id, client=cognito
    ).authenticate_user()["AuthenticationResult"]
    access = tokens["AccessToken"]
    # Before any association there is nothing to verify against.
    with pytest.raises(ClientError) as early:
        cognito.verify_software_token(AccessToken=access, UserCode="123456")
    assert _error(early) == "EnableSoftwareTokenMFAException"
    secret = cognito.associate_software_token(AccessToken=access)["SecretCode"]
    with pytest.raises(ClientError) as wrong:
        cognito.verify_software_token(AccessToken=access, UserCode=_other_code(secret))
    assert _error(wrong) == "EnableSoftwareTokenMFAException"
    # Not verified: MFA cannot be switched on (moto: "User has not verified software token mfa").
    with pytest.raises(ClientError):
        cognito.set_user_mfa_preference(
            AccessToken=access, SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True}
        )
    answer = cognito.verify_software_token(AccessToken=access, UserCode=totp.current_code(secret))
    assert answer["Status"] == "SUCCESS"
    cognito.set_user_mfa_preference(
        AccessToken=access, SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True}
    )
    user = cognito.admin_get_user(UserPoolId=cognito_pool.pool_id, Username="rep1")
    assert user["UserMFASettingList"] == ["SOFTWARE_TOKEN_MFA"]
    _challenge(cognito, cognito_pool, "rep1")


def test_refresh_is_not_challenged(cognito: Any, cognito_pool: Any) -> None:
    ensure_user(cognito, cognito_pool, "sup1", supervisor=True)
    first = id_token(cognito, cognito_pool, "sup1")
    assert first
    assert id_token(cognito, cognito_pool, "sup1")  # the cached refresh token: no code asked


def test_a_pool_with_mfa_on_asks_a_user_without_it_to_set_it_up_first(
    cognito: Any, cognito_pool: Any
) -> None:
    cognito.set_user_pool_mfa_config(
        UserPoolId=cognito_pool.pool_id,
        SoftwareTokenMfaConfiguration={"Enabled": True},
        MfaConfiguration="ON",
    )
    ensure_user(cognito, cognito_pool, "rep2")
    srp = _srp_client()(
        "rep2", "Demo-Passw0rd!", cognito_pool.pool_id, cognito_pool.client_id, client=cognito
    )
    challenge = srp.authenticate_user()
    assert challenge["ChallengeName"] == "MFA_SETUP"
    first = challenge["Session"]

    def set_up(session: str) -> Any:
        return cognito.respond_to_auth_challenge(
            ClientId=cognito_pool.client_id,
            ChallengeName="MFA_SETUP",
            Session=session,
            ChallengeResponses={"USERNAME": "rep2"},
        )

    # Answering MFA_SETUP before verifying a token gets no tokens.
    with pytest.raises(ClientError) as early:
        set_up(first)
    assert _error(early) == "NotAuthorizedException"
    secret = cognito.associate_software_token(Session=first)["SecretCode"]
    verified = cognito.verify_software_token(Session=first, UserCode=totp.current_code(secret))
    assert set_up(verified["Session"])["AuthenticationResult"]["IdToken"]
    with pytest.raises(ClientError) as reused:
        set_up(verified["Session"])
    assert _error(reused) == "NotAuthorizedException"
