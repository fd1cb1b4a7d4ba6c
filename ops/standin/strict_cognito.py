"""moto's Cognito made as strict as Cognito on the two points the sign-in relies on.

moto 5.2 answers USER_SRP_AUTH with a random SALT and SRP_B and accepts any
PASSWORD_CLAIM_SIGNATURE, so a wrong password signs in; and it ignores the app client's
ExplicitAuthFlows, so a page using a flow the deployed client refuses works locally and fails in
the cloud (issue 16). `install()` patches moto's backend so that:

- InitiateAuth refuses a flow the client does not allow. ExplicitAuthFlows, and the default
  when none is given (SRP, refresh, custom):
  https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_CreateUserPoolClient.html
  The reference names no error for it; Cognito answers InvalidParameterException "<FLOW> flow
  not enabled for this client" (as users report it), which the page shows as a failed sign-in
  whatever the code.
- USER_SRP_AUTH runs the real SRP-6a exchange Cognito uses: the challenge carries a salt, the
  server's B computed from the user's password verifier, and a SECRET_BLOCK; RespondToAuthChallenge
  (PASSWORD_VERIFIER) checks PASSWORD_CLAIM_SIGNATURE and answers NotAuthorizedException when it
  does not match. https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-authentication-flow-methods.html#amazon-cognito-user-pools-authentication-flow-methods-srp
  https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_RespondToAuthChallenge.html

- TOTP MFA (issue 20) is checked as Cognito checks it; see `install_totp` below.

The group, hashes and key derivation are the client library's own (pycognito's aws_srp, the same
arithmetic as amazon-cognito-identity-js, which the pages use): this module only plays the
server's half, so a client that computes differently from Cognito fails here too.
ops/moto_server.py (the local stack's moto server: `make run`, the browser tests) and the
tests' in-process moto (tests/conftest.py, cognito_pool) install it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import threading
from typing import Any

# Cognito's flow names and the ExplicitAuthFlows value that allows each.
FLOW_PERMISSION = {
    "USER_SRP_AUTH": "ALLOW_USER_SRP_AUTH",
    "USER_PASSWORD_AUTH": "ALLOW_USER_PASSWORD_AUTH",
    "REFRESH_TOKEN_AUTH": "ALLOW_REFRESH_TOKEN_AUTH",
    "REFRESH_TOKEN": "ALLOW_REFRESH_TOKEN_AUTH",
    "CUSTOM_AUTH": "ALLOW_CUSTOM_AUTH",
    "ADMIN_USER_PASSWORD_AUTH": "ALLOW_ADMIN_USER_PASSWORD_AUTH",
    "ADMIN_NO_SRP_AUTH": "ALLOW_ADMIN_USER_PASSWORD_AUTH",
}
# CreateUserPoolClient: "If you don't specify a value for ExplicitAuthFlows, your user client
# supports ALLOW_REFRESH_TOKEN_AUTH, ALLOW_USER_SRP_AUTH, and ALLOW_CUSTOM_AUTH."
DEFAULT_FLOWS = ("ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_CUSTOM_AUTH")

_installed = False
_lock = threading.Lock()


def allowed_flows(client: Any) -> tuple[str, ...]:
    flows = client.extended_config.get("ExplicitAuthFlows")
    return tuple(flows) if flows else DEFAULT_FLOWS


def _check_flow(client: Any, auth_flow: str) -> None:
    from moto.cognitoidp.exceptions import InvalidParameterException

    needed = FLOW_PERMISSION.get(auth_flow)
    if needed is not None and needed not in allowed_flows(client):
        raise InvalidParameterException(f"{auth_flow} flow not enabled for this client")


def _client(backend: Any, client_id: str) -> tuple[Any, Any] | None:
    for pool in backend.user_pools.values():
        if client_id in pool.clients:
            return pool, pool.clients[client_id]
    return None


class _Exchange:
    """The server's half of one SRP exchange, kept until the client answers."""

    def __init__(self, pool_id: str, user_id: str, password: str, big_a: int) -> None:
        from pycognito.aws_srp import G_HEX, N_HEX, hash_sha256, hex_hash, hex_to_long, pad_hex

        self.n = hex_to_long(N_HEX)
        self.g = hex_to_long(G_HEX)
        k = hex_to_long(hex_hash("00" + N_HEX + "0" + G_HEX))
        self.pool_name = pool_id.split("_", 1)[1]
        self.user_id = user_id
        # The page's library reads SALT as a number (a leading zero nibble would vanish) and
        # pycognito as text: a salt whose hex starts with 1-7 reads the same to both.
        self.salt = bytes([0x10 + os.urandom(1)[0] % 0x70]).hex() + os.urandom(15).hex()
        x = hex_to_long(
            hex_hash(
                pad_hex(self.salt) + hash_sha256(f"{self.pool_name}{user_id}:{password}".encode())
            )
        )
        self.v = pow(self.g, x, self.n)
        # 256 random bits: ample for a stand-in, and a quarter of the cost of a 1024-bit b
        # (each 3072-bit modular power costs tens of milliseconds in Python).
        self.small_b = int.from_bytes(os.urandom(32), "big")
        self.big_b = (k * self.v + pow(self.g, self.small_b, self.n)) % self.n
        self.big_a = big_a
        self.secret_block = base64.standard_b64encode(os.urandom(64)).decode()

    def expected_signature(self, timestamp: str) -> bytes:
        from pycognito.aws_srp import calculate_u, compute_hkdf, long_to_hex, pad_hex

        u = calculate_u(self.big_a, self.big_b)
        s = pow(self.big_a * pow(self.v, u, self.n), self.small_b, self.n)
        key = compute_hkdf(
            bytearray.fromhex(pad_hex(s)), bytearray.fromhex(pad_hex(long_to_hex(u)))
        )
        message = (
            self.pool_name.encode()
            + self.user_id.encode()
            + base64.standard_b64decode(self.secret_block)
            + timestamp.encode()
        )
        return base64.standard_b64encode(hmac.new(key, message, hashlib.sha256).digest())


def install() -> None:
    """Patch moto's Cognito backend class (once per process)."""
    install_staff()
    install_totp()
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    from moto.cognitoidp.exceptions import NotAuthorizedError
    from moto.cognitoidp.models import CognitoIdpBackend
    from pycognito.aws_srp import N_HEX, long_to_hex

    exchanges: dict[str, _Exchange] = {}
    initiate_auth = CognitoIdpBackend.initiate_auth
    respond = CognitoIdpBackend.respond_to_auth_challenge

    def strict_initiate_auth(
        self: Any, client_id: str, auth_flow: str, auth_parameters: dict[str, str]
    ) -> dict[str, Any]:
        found = _client(self, client_id)
        if found is not None:
            _check_flow(found[1], auth_flow)
        result: dict[str, Any] = initiate_auth(self, client_id, auth_flow, auth_parameters)
        if auth_flow != "USER_SRP_AUTH" or found is None:
            return result
        pool = found[0]
        user = self.admin_get_user(pool.id, auth_parameters["USERNAME"])
        big_a = int(auth_parameters["SRP_A"], 16)
        if big_a % int(N_HEX, 16) == 0:
            raise NotAuthorizedError("Invalid SRP_A.")
        # Cognito's USER_ID_FOR_SRP is the user name of a pool without aliases (ours).
        exchange = _Exchange(pool.id, user.username, user.password or "", big_a)
        # moto finds the session of a PASSWORD_VERIFIER answer by its secret block.
        self.sessions[exchange.secret_block] = self.sessions.pop(result["Session"])
        exchanges[exchange.secret_block] = exchange
        result["Session"] = exchange.secret_block
        result["ChallengeParameters"].update(
            SALT=exchange.salt,
            SRP_B=long_to_hex(exchange.big_b),
            SECRET_BLOCK=exchange.secret_block,
            USER_ID_FOR_SRP=exchange.user_id,
        )
        return result

    def strict_respond(
        self: Any,
        session: str,
        client_id: str,
        challenge_name: str,
        challenge_responses: dict[str, str],
    ) -> dict[str, Any]:
        if challenge_name == "PASSWORD_VERIFIER":
            block = challenge_responses.get("PASSWORD_CLAIM_SECRET_BLOCK", "")
            exchange = exchanges.pop(block, None)
            signature = challenge_responses.get("PASSWORD_CLAIM_SIGNATURE", "").encode()
            timestamp = challenge_responses.get("TIMESTAMP", "")
            if exchange is None or not hmac.compare_digest(
                exchange.expected_signature(timestamp), signature
            ):
                self.sessions.pop(block, None)
                raise NotAuthorizedError("Incorrect username or password.")
        result: dict[str, Any] = respond(
            self, session, client_id, challenge_name, challenge_responses
        )
        return result

    CognitoIdpBackend.initiate_auth = strict_initiate_auth  # type: ignore[method-assign]
    CognitoIdpBackend.respond_to_auth_challenge = strict_respond  # type: ignore[method-assign]


# --- staff accounts (ops/staff.py) ---------------------------------------------------------------
# moto 5.2 creates a user from AdminCreateUser whatever the delivery, sends nothing and sets no
# password when none is given, and finds users by exact case. Cognito:
# - with no MessageAction makes a temporary password itself and sends the invitation message
#   (EMAIL in DesiredDeliveryMediums: to the user's email attribute). "To send a message
#   inviting the user to sign up, you must specify the user's email address or phone number":
#   https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AdminCreateUser.html
#   so an invitation asked for by e-mail with no e-mail is refused (InvalidParameterException);
# - in a pool with UsernameConfiguration CaseSensitive false "treats any variation in case as
#   the same user": https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-cognito-userpool-usernameconfiguration.html
# The invitations "delivered" are kept in INVITATIONS (pool id, username, e-mail, temporary
# password) so a test can sign in with one, and check it was never printed.

INVITATIONS: list[tuple[str, str, str, str]] = []
_staff_installed = False


def _temporary_password(policy: dict[str, Any]) -> str:
    """A password the pool's policy accepts (Cognito's are random; so is this)."""
    import secrets
    import string

    length = max(int(policy.get("MinimumLength", 8)), 12)
    alphabet = string.ascii_letters + string.digits
    while True:
        password = "".join(secrets.choice(alphabet) for _ in range(length))
        if (
            any(c.islower() for c in password)
            and any(c.isupper() for c in password)
            and any(c.isdigit() for c in password)
        ):
            return password


def install_staff() -> None:
    """Patch moto's AdminCreateUser and user lookup (once per process)."""
    global _staff_installed
    with _lock:
        if _staff_installed:
            return
        _staff_installed = True
    from moto.cognitoidp.exceptions import InvalidParameterException
    from moto.cognitoidp.models import CognitoIdpUserPool
    from moto.cognitoidp.responses import CognitoIdpResponse

    get_user = CognitoIdpUserPool._get_user
    create = CognitoIdpResponse.admin_create_user

    def case_insensitive_get_user(self: Any, username: str) -> Any:
        found = get_user(self, username)
        configuration = self.extended_config.get("UsernameConfiguration") or {}
        if found is None and configuration.get("CaseSensitive") is False:
            for name, user in self.users.items():
                if name.lower() == username.lower():
                    return user
        return found

    def strict_admin_create_user(self: Any) -> Any:
        attributes = {a["Name"]: a.get("Value", "") for a in self._get_param("UserAttributes", [])}
        mediums = self._get_param("DesiredDeliveryMediums") or ["SMS"]
        action = self._get_param("MessageAction")
        if action != "SUPPRESS":
            if "EMAIL" in mediums and not attributes.get("email"):
                raise InvalidParameterException(
                    "User has no email: the invitation cannot be delivered by EMAIL"
                )
            if "SMS" in mediums and "EMAIL" not in mediums and not attributes.get("phone_number"):
                raise InvalidParameterException(
                    "User has no phone_number: the invitation cannot be delivered by SMS"
                )
        answer = create(self)
        if action is None and not self._get_param("TemporaryPassword"):
            pool_id = self._get_param("UserPoolId")
            pool = self.backend.describe_user_pool(pool_id)
            user = self.backend.admin_get_user(pool_id, self._get_param("Username"))
            policy = (pool.extended_config.get("Policies") or {}).get("PasswordPolicy", {})
            user.password = _temporary_password(policy)
            INVITATIONS.append((pool_id, user.username, attributes.get("email", ""), user.password))
        return answer

    CognitoIdpUserPool._get_user = case_insensitive_get_user  # type: ignore[method-assign]
    CognitoIdpResponse.admin_create_user = strict_admin_create_user  # type: ignore[method-assign]


# --- TOTP MFA (issue 20) -----------------------------------------------------------------
# moto 5.2 already answers PASSWORD_VERIFIER with the SOFTWARE_TOKEN_MFA challenge for a user whose
# software token MFA is enabled, and keeps UserMFASettingList for AdminGetUser. But it hands every
# user the same fixed secret ("asdfasdfasdf"), checks codes only when
# MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP is set (and then only the current 30 s step), accepts a
# challenge answer naming another user than the one who signed in, and answers MFA_SETUP with
# tokens whatever the session. Cognito:
# - AssociateSoftwareToken returns a secret of the user's own ("a unique private key"), which
#   VerifySoftwareToken must then confirm with a code from it, else EnableSoftwareTokenMFAException
#   ("This exception is thrown when there is a code mismatch and the service fails to configure
#   the software token TOTP multi-factor authentication (MFA)"):
#   https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AssociateSoftwareToken.html
#   https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_VerifySoftwareToken.html
# - the SOFTWARE_TOKEN_MFA answer is checked against that secret (RFC 6238: ops/totp.py)
#   and a wrong code is CodeMismatchException:
#   https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_RespondToAuthChallenge.html
#   The reference does not say whether the session survives a wrong code; users report both a
#   retry with the same session and "Invalid session for the user, session can only be used
#   once". The stand-in lets a wrong code be retried (the page handles both: a refused session
#   sends it back to the password step); a session already spent on a sign-in is refused with
#   NotAuthorizedException, as is one that belongs to another user.
# - a user with TOTP enabled "will be prompted for MFA during all sign-in attempts, unless device
#   tracking is turned on and the device has been trusted" (our pool tracks no devices):
#   https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_SoftwareTokenMfaSettingsType.html
#   moto does that already (above); REFRESH_TOKEN_AUTH is not challenged, in moto as in Cognito.
_totp_installed = False


def _spent_session() -> Exception:
    from moto.cognitoidp.exceptions import NotAuthorizedError

    return NotAuthorizedError("Invalid session for the user, session can only be used once.")


def install_totp() -> None:
    """Patch moto's software token calls and the SOFTWARE_TOKEN_MFA / MFA_SETUP answers (once)."""
    global _totp_installed
    with _lock:
        if _totp_installed:
            return
        _totp_installed = True
    from moto.cognitoidp.exceptions import CodeMismatchException, NotAuthorizedError
    from moto.cognitoidp.models import CognitoIdpBackend
    from moto.core.exceptions import JsonRESTError

    from ops import totp

    class EnableSoftwareTokenMFAException(JsonRESTError):
        def __init__(self) -> None:
            super().__init__(
                "EnableSoftwareTokenMFAException",
                "Code mismatch and fail enable Software Token MFA",
            )

    respond = CognitoIdpBackend.respond_to_auth_challenge
    # Sessions VerifySoftwareToken handed out during an MFA_SETUP challenge, and sessions spent.
    verified_setup: set[str] = set()
    spent: set[str] = set()

    def user_of(backend: Any, access_token: str, session: str) -> Any:
        if session:
            if session not in backend.sessions:
                raise _spent_session()
            username, pool = backend.sessions[session]
            return backend.admin_get_user(pool.id, username)
        for pool in backend.user_pools.values():
            if access_token in pool.access_tokens:
                _, username = pool.access_tokens[access_token]
                return backend.admin_get_user(pool.id, username)
        raise NotAuthorizedError("Invalid Access Token")

    def associate_software_token(self: Any, access_token: str, session: str) -> dict[str, str]:
        user = user_of(self, access_token, session)
        # A new association waits for its VerifySoftwareToken; until then the verified secret
        # (if any) stays the one sign-in checks.
        user.totp_pending_secret = totp.new_secret()
        answer = {"SecretCode": user.totp_pending_secret}
        return {**answer, "Session": session} if session else answer

    def verify_software_token(
        self: Any, access_token: str, session: str, user_code: str, friendly_device_name: str
    ) -> dict[str, str]:
        user = user_of(self, access_token, session)
        pending = getattr(user, "totp_pending_secret", None)
        if not pending or not totp.verify(pending, str(user_code or "")):
            raise EnableSoftwareTokenMFAException()
        user.totp_secret = pending
        user.totp_pending_secret = None
        user.token_verified = True
        if not session:
            return {"Status": "SUCCESS"}
        username, pool = self.sessions.pop(session)
        spent.add(session)
        new_session = base64.urlsafe_b64encode(os.urandom(48)).decode()
        self.sessions[new_session] = (username, pool)
        verified_setup.add(new_session)
        return {"Status": "SUCCESS", "Session": new_session}

    def totp_respond(
        self: Any,
        session: str,
        client_id: str,
        challenge_name: str,
        challenge_responses: dict[str, str],
    ) -> dict[str, Any]:
        if challenge_name in ("SOFTWARE_TOKEN_MFA", "MFA_SETUP"):
            if session in spent or session not in self.sessions:
                raise _spent_session()
            username, pool = self.sessions[session]
            user = self.admin_get_user(pool.id, username)
            named = challenge_responses.get("USERNAME", "")
            if named and self.admin_get_user(pool.id, named) is not user:
                raise NotAuthorizedError("Invalid session for the user.")
            if challenge_name == "SOFTWARE_TOKEN_MFA":
                code = str(challenge_responses.get("SOFTWARE_TOKEN_MFA_CODE") or "")
                secret = getattr(user, "totp_secret", None)
                if not secret or not totp.verify(secret, code):
                    raise CodeMismatchException("Invalid code received for user")
            elif session not in verified_setup:
                raise NotAuthorizedError("Invalid session for the user.")
            spent.add(session)
            verified_setup.discard(session)
        result: dict[str, Any] = respond(
            self, session, client_id, challenge_name, challenge_responses
        )
        return result

    CognitoIdpBackend.associate_software_token = associate_software_token  # type: ignore[method-assign]
    CognitoIdpBackend.verify_software_token = verify_software_token  # type: ignore[method-assign]
    CognitoIdpBackend.respond_to_auth_challenge = totp_respond  # type: ignore[method-assign]
