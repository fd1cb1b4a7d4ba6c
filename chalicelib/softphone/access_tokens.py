"""Twilio access tokens for the softphone: a Voice grant for one agent, for a short while.

The browser's Voice SDK registers with Twilio under the token's identity (so a reservation's
`client:<identity>` rings that agent's browser) and places outbound calls through the TwiML
App named in the grant. A token is only ever issued to the signed-in agent for their own
identity; the page refreshes it before `expires_at` (the SDK's `tokenWillExpire` event).
https://www.twilio.com/docs/iam/access-tokens
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.platform.settings import ConfigurationError, TwilioCredentials


@dataclass(frozen=True)
class VoiceToken:
    token: str
    identity: str
    expires_at: int  # epoch seconds

    def as_json(self) -> dict[str, str | int]:
        return {"token": self.token, "identity": self.identity, "expires_at": self.expires_at}


def voice_token(
    credentials: TwilioCredentials,
    identity: str,
    twiml_app_sid: str,
    ttl_seconds: int,
    now: int,
) -> VoiceToken:
    """A signed access token letting `identity` receive calls and dial out via the TwiML App."""
    if not credentials.api_key_sid or not credentials.api_key_secret:
        # Access tokens must be signed with an API key, never the auth token.
        raise ConfigurationError("the Twilio secret has no api_key_sid / api_key_secret")
    # Imported here: twilio's JWT support pulls in PyJWT and `cryptography` (~25 ms of every
    # cold start), and only this route signs tokens.
    from twilio.jwt.access_token import AccessToken
    from twilio.jwt.access_token.grants import VoiceGrant

    expires_at = now + ttl_seconds
    token = AccessToken(
        credentials.account_sid,
        credentials.api_key_sid,
        credentials.api_key_secret,
        identity=identity,
        grants=[VoiceGrant(outgoing_application_sid=twiml_app_sid, incoming_allow=True)],
        nbf=now,
        valid_until=expires_at,
    )
    return VoiceToken(token=token.to_jwt(), identity=identity, expires_at=expires_at)
