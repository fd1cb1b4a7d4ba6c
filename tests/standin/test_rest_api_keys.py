"""The REST client on a restricted API key: the app's TwilioGateway authenticates with the key
SID as the Basic auth user and its secret as the password, naming the account in the URL, and
Twilio (the stand-in) accepts it, as it accepts the account's auth token, and answers a wrong
secret 401 / 20003 (https://www.twilio.com/docs/iam/api-keys)."""

from __future__ import annotations

import dataclasses

import pytest
from twilio.base.exceptions import TwilioRestException

from chalicelib.platform.errors import TelephonyUnavailable
from chalicelib.platform.settings import TwilioCredentials
from chalicelib.telephony.rest import TwilioGateway
from ops.standin.rest import Rest
from ops.standin.server import InProcessTwilioHttp
from tests.fakes.twilio_http import RecordingHttpClient
from tests.standin.test_engine import AC, TOKEN, WS, build

REST_KEY = "SK" + "7" * 32
REST_SECRET = "rest-key-secret"


def gateway(credentials: TwilioCredentials) -> tuple[TwilioGateway, set[str]]:
    standin, _, _ = build()
    standin.account = dataclasses.replace(standin.account, api_keys={REST_KEY: REST_SECRET})
    http = InProcessTwilioHttp(Rest(standin))
    return TwilioGateway(credentials, WS, http_client=http), set(standin.workers)


def test_the_gateway_works_on_a_rest_key() -> None:
    credentials = TwilioCredentials(
        account_sid=AC,
        auth_token="only-for-webhook-signatures",
        rest_api_key_sid=REST_KEY,
        rest_api_key_secret=REST_SECRET,
    )
    twilio, workers = gateway(credentials)
    assert set(twilio.worker_activities()) == workers
    assert twilio.client.auth == (REST_KEY, REST_SECRET)
    assert twilio.client.account_sid == AC


def test_a_wrong_key_secret_is_refused_like_a_wrong_token() -> None:
    credentials = TwilioCredentials(
        account_sid=AC,
        auth_token=TOKEN,
        rest_api_key_sid=REST_KEY,
        rest_api_key_secret="not-the-secret",
    )
    twilio, _ = gateway(credentials)
    with pytest.raises(TelephonyUnavailable, match="401"):
        twilio.worker_activities()
    with pytest.raises(TwilioRestException) as refused:
        twilio.client.taskrouter.v1.workspaces(WS).fetch()
    assert (refused.value.status, refused.value.code) == (401, 20003)


def test_without_a_rest_key_the_auth_token_still_works() -> None:
    twilio, workers = gateway(TwilioCredentials(account_sid=AC, auth_token=TOKEN))
    assert twilio.client.auth == (AC, TOKEN)
    assert set(twilio.worker_activities()) == workers


def test_the_test_fake_checks_key_auth_as_twilio_does() -> None:
    http = RecordingHttpClient(accepted_auth={AC: TOKEN, REST_KEY: REST_SECRET})
    good = TwilioCredentials(
        account_sid=AC, auth_token=TOKEN, rest_api_key_sid=REST_KEY, rest_api_key_secret=REST_SECRET
    )
    TwilioGateway(good, WS, http_client=http).client.taskrouter.v1.workspaces(WS).fetch()
    assert http.requests[-1].auth_user == REST_KEY
    bad = good.model_copy(update={"rest_api_key_secret": "wrong"})
    with pytest.raises(TwilioRestException) as refused:
        TwilioGateway(bad, WS, http_client=http).client.taskrouter.v1.workspaces(WS).fetch()
    assert refused.value.status == 401


def test_a_half_configured_rest_key_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="go together"):
        TwilioCredentials(account_sid=AC, auth_token=TOKEN, rest_api_key_sid=REST_KEY)
    with pytest.raises(ValueError, match="SK"):
        TwilioCredentials(
            account_sid=AC, auth_token=TOKEN, rest_api_key_sid="AC1", rest_api_key_secret="x"
        )


def test_the_local_stack_reads_its_rest_key_from_the_environment_names() -> None:
    from chalicelib.platform.settings import Settings, load_twilio_credentials
    from ops.stage import local_environment

    env = local_environment()
    plain = load_twilio_credentials(Settings.from_environment(env))
    assert not plain.rest_uses_api_key
    assert plain.rest_auth() == (plain.account_sid, plain.auth_token)
    keyed = load_twilio_credentials(
        Settings.from_environment(
            {
                **env,
                "TWILIO_REST_API_KEY_SID": REST_KEY,
                "TWILIO_REST_API_KEY_SECRET": REST_SECRET,
            }
        )
    )
    assert keyed.rest_auth() == (REST_KEY, REST_SECRET)
    assert keyed.auth_token == plain.auth_token  # still what webhooks are checked with
