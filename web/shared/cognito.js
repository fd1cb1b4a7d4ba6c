// Staff sign-in against the Cognito user pool, straight from the browser.
//
// Signing in is USER_SRP_AUTH (the password never leaves the page), computed by AWS's own
// client library, amazon-cognito-identity-js (vendored as web/vendor/amazon-cognito-identity.min.js,
// loaded on first sign-in). Renewing the ID token is REFRESH_TOKEN_AUTH, one plain InitiateAuth.
// These two, and only these, are the flows the deployed app client allows (infra/resources.json,
// UserPoolClient.ExplicitAuthFlows; tests/unit/test_signin_flows.py keeps them in step):
// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_InitiateAuth.html
// https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-authentication-flow-methods.html
//
// The tokens live in sessionStorage: they survive the reload the page does to update itself,
// and die with the tab. The ID token is what the API checks (`Authorization: Bearer`); the access
// token is what Cognito's own calls for the signed-in user take (TOTP enrolment, below).
//
// TOTP MFA (issue 20): a user with TOTP enabled is challenged after the password at every sign-in
// (SOFTWARE_TOKEN_MFA, answered by `sendMFACode(code, callbacks, "SOFTWARE_TOKEN_MFA")`); a pool
// with MFA ON asks a user without it to set it up (MFA_SETUP). `signIn` hands either challenge
// back to the dialog (web/shared/staff_sign_in.js) as an object to answer. Enrolment of a
// signed-in user is AssociateSoftwareToken -> VerifySoftwareToken -> SetUserMFAPreference:
// https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-settings-mfa-totp.html

import { t } from "./i18n.js";

export const SIGN_IN_FLOW = "USER_SRP_AUTH";
export const REFRESH_FLOW = "REFRESH_TOKEN_AUTH";
const LIBRARY_URL = new URL("../vendor/amazon-cognito-identity.min.js", import.meta.url);
const STORAGE_KEY = "cc.session";
// Renew when less than this much of the ID token's life is left (Cognito issues 1 h tokens).
const REFRESH_MARGIN_MS = 5 * 60 * 1000;

export class SignInError extends Error {
  constructor(message, code = "") {
    super(message);
    this.name = "SignInError";
    this.code = code;
  }
}

export function decodeJwt(token) {
  const part = String(token).split(".")[1] || "";
  const base64 = part.replace(/-/g, "+").replace(/_/g, "/");
  const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
  const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}

export function cognitoEndpoint(cognito) {
  return cognito.endpoint || `https://cognito-idp.${cognito.region}.amazonaws.com/`;
}

// Cognito's refusals, as the user reads them (catalogue keys, web/shared/i18n/*.json).
const FRIENDLY = {
  NotAuthorizedException: "common.signIn.wrong",
  UserNotFoundException: "common.signIn.wrong",
  PasswordResetRequiredException: "common.signIn.resetRequired",
  UserNotConfirmedException: "common.signIn.notConfirmed",
  TooManyRequestsException: "common.signIn.tooMany",
  CodeMismatchException: "common.mfa.wrongCode",
  EnableSoftwareTokenMFAException: "common.mfa.wrongCode",
  ExpiredCodeException: "common.mfa.wrongCode",
};

let library = null;

/** AmazonCognitoIdentity, loaded once as the classic script its UMD bundle is. */
function loadLibrary() {
  if (!library) {
    library = new Promise((resolve, reject) => {
      if (globalThis.AmazonCognitoIdentity) return resolve(globalThis.AmazonCognitoIdentity);
      const script = document.createElement("script");
      script.src = LIBRARY_URL.href;
      script.onload = () => resolve(globalThis.AmazonCognitoIdentity);
      script.onerror = () => {
        library = null;
        reject(new SignInError(t("common.signIn.notLoaded"), "network"));
      };
      document.head.appendChild(script);
    });
  }
  return library;
}

// The library caches tokens in localStorage unless given a Storage; this page keeps its own
// session (sessionStorage, above), so the library's copy is kept nowhere.
const NO_STORAGE = {
  getItem: () => null,
  setItem: () => {},
  removeItem: () => {},
  clear: () => {},
};

function signInFailure(error) {
  const code = (error && error.code) || "";
  if (!code || code === "NetworkError") {
    return new SignInError(t("common.signIn.unreachable"), "network");
  }
  return new SignInError(FRIENDLY[code] ? t(FRIENDLY[code]) : error.message || t("common.signIn.failed"), code);
}

function tokensOf(result) {
  return {
    IdToken: result.getIdToken().getJwtToken(),
    AccessToken: result.getAccessToken().getJwtToken(),
    RefreshToken: result.getRefreshToken().getToken(),
  };
}

/**
 * A sign-in challenge the user answers with a code: `name` is SOFTWARE_TOKEN_MFA (a code from
 * the authenticator app) or MFA_SETUP (enrol first: `secret()` gives the key to add to the app).
 * `answer(code)` resolves to the tokens, or rejects with a SignInError whose code says whether the
 * same challenge may be answered again (CodeMismatchException) or the sign-in is over.
 */
class Challenge {
  constructor(name, user) {
    this.name = name;
    this.user = user;
  }

  secret() {
    return new Promise((resolve, reject) => {
      this.user.associateSoftwareToken({
        associateSecretCode: (secret) => resolve(secret),
        onFailure: (error) => reject(signInFailure(error)),
      });
    });
  }

  answer(code) {
    return new Promise((resolve, reject) => {
      const callbacks = {
        onSuccess: (result) => resolve(tokensOf(result)),
        onFailure: (error) => reject(signInFailure(error)),
      };
      if (this.name === "MFA_SETUP") this.user.verifySoftwareToken(code, "authenticator", callbacks);
      else this.user.sendMFACode(code, callbacks, "SOFTWARE_TOKEN_MFA");
    });
  }
}

async function srpSignIn(cognito, username, password) {
  const lib = await loadLibrary();
  const pool = new lib.CognitoUserPool({
    UserPoolId: cognito.userPoolId,
    ClientId: cognito.clientId,
    endpoint: cognitoEndpoint(cognito),
    Storage: NO_STORAGE,
  });
  const user = new lib.CognitoUser({ Username: username, Pool: pool, Storage: NO_STORAGE });
  user.setAuthenticationFlowType(SIGN_IN_FLOW);
  const details = new lib.AuthenticationDetails({ Username: username, Password: password });
  return new Promise((resolve, reject) => {
    // NEW_PASSWORD_REQUIRED, SMS and the rest are set up by supervisors in the console, not here.
    const attention = (name) => () =>
      reject(new SignInError(t("common.signIn.attention", { name }), name));
    user.authenticateUser(details, {
      onSuccess: (result) => resolve(tokensOf(result)),
      onFailure: (error) => reject(signInFailure(error)),
      newPasswordRequired: attention("NEW_PASSWORD_REQUIRED"),
      mfaRequired: attention("SMS_MFA"),
      totpRequired: () => resolve(new Challenge("SOFTWARE_TOKEN_MFA", user)),
      mfaSetup: () => resolve(new Challenge("MFA_SETUP", user)),
      selectMFAType: attention("SELECT_MFA_TYPE"),
      customChallenge: attention("CUSTOM_CHALLENGE"),
    });
  });
}

/** One Cognito API call (JSON 1.1 over HTTPS, as the library makes them). */
async function cognitoCall(cognito, action, body, fetchImpl) {
  let response;
  try {
    response = await fetchImpl(cognitoEndpoint(cognito), {
      method: "POST",
      headers: {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": `AWSCognitoIdentityProviderService.${action}`,
      },
      body: JSON.stringify(body),
    });
  } catch {
    throw new SignInError(t("common.signIn.unreachable"), "network");
  }
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    const code = String(answer.__type || "").split("#").pop();
    const message = FRIENDLY[code] ? t(FRIENDLY[code]) : answer.message || t("common.signIn.failedStatus", { status: response.status });
    throw new SignInError(message, code);
  }
  return answer;
}

async function initiateAuth(cognito, authFlow, parameters, fetchImpl) {
  const body = await cognitoCall(
    cognito,
    "InitiateAuth",
    { AuthFlow: authFlow, ClientId: cognito.clientId, AuthParameters: parameters },
    fetchImpl,
  );
  if (body.ChallengeName) {
    // Refreshing is never challenged; anything else here is for the console, not this page.
    throw new SignInError(
      t("common.signIn.attention", { name: body.ChallengeName }),
      body.ChallengeName,
    );
  }
  return body.AuthenticationResult;
}

export class CognitoSession {
  constructor(cognito, { storage = globalThis.sessionStorage, fetchImpl, now = () => Date.now() } = {}) {
    this.cognito = cognito;
    this.storage = storage;
    this.fetchImpl = fetchImpl || ((...args) => globalThis.fetch(...args));
    this.now = now;
    this.state = this.load();
    this.pending = null;
  }

  load() {
    try {
      const saved = JSON.parse(this.storage.getItem(STORAGE_KEY) || "null");
      return saved && saved.idToken && saved.refreshToken ? saved : null;
    } catch {
      return null;
    }
  }

  save() {
    if (this.state) this.storage.setItem(STORAGE_KEY, JSON.stringify(this.state));
    else this.storage.removeItem(STORAGE_KEY);
  }

  get signedIn() {
    return Boolean(this.state);
  }

  get username() {
    return this.state ? this.state.username : "";
  }

  get groups() {
    return this.state ? this.state.groups : [];
  }

  adopt(result, refreshToken) {
    const claims = decodeJwt(result.IdToken);
    this.state = {
      username: claims["cognito:username"] || claims.sub,
      groups: claims["cognito:groups"] || [],
      idToken: result.IdToken,
      accessToken: result.AccessToken || "",
      refreshToken: result.RefreshToken || refreshToken,
      expiresAt: claims.exp * 1000,
    };
    this.save();
  }

  /** Signs in; resolves to null when done, or to a Challenge (MFA) whose `answer(code)` must be
   * given to `complete`. */
  async signIn(username, password) {
    const result = await srpSignIn(this.cognito, username, password);
    if (result instanceof Challenge) return result;
    this.adopt(result, null);
    return null;
  }

  /** Answer an MFA challenge of `signIn` with a code; signed in when it resolves. */
  async complete(challenge, code) {
    this.adopt(await challenge.answer(code), null);
  }

  /** Start TOTP enrolment for the signed-in user: resolves to the secret to add to the app. */
  async associateTotp() {
    await this.idToken(); // renews the access token too when it is about to expire
    if (!this.state || !this.state.accessToken) throw new SignInError(t("common.mfa.signInFirst"), "NotSignedIn");
    const answer = await cognitoCall(this.cognito, "AssociateSoftwareToken", { AccessToken: this.state.accessToken }, this.fetchImpl);
    return answer.SecretCode;
  }

  /** Finish enrolment with a code from the app: verified, then enabled and preferred. */
  async verifyTotp(code) {
    const access = { AccessToken: this.state ? this.state.accessToken : "" };
    await cognitoCall(this.cognito, "VerifySoftwareToken", { ...access, UserCode: code, FriendlyDeviceName: "authenticator" }, this.fetchImpl);
    await cognitoCall(this.cognito, "SetUserMFAPreference", { ...access, SoftwareTokenMfaSettings: { Enabled: true, PreferredMfa: true } }, this.fetchImpl);
  }

  signOut() {
    this.state = null;
    this.save();
  }

  /** Renew the ID token with the refresh token; false if the session is over. */
  refresh() {
    if (!this.state) return Promise.resolve(false);
    if (!this.pending) {
      const { refreshToken } = this.state;
      this.pending = initiateAuth(
        this.cognito,
        REFRESH_FLOW,
        { REFRESH_TOKEN: refreshToken },
        this.fetchImpl,
      )
        .then((result) => {
          this.adopt(result, refreshToken);
          return true;
        })
        .catch((error) => {
          // Only Cognito refusing the refresh token (expired, revoked, user disabled) ends the
          // session; a network failure, throttling or a Cognito error keeps it for a retry.
          if (error.code === "NotAuthorizedException") this.signOut();
          return false;
        })
        .finally(() => {
          this.pending = null;
        });
    }
    return this.pending;
  }

  /** The ID token to send, renewed first when it is about to expire. */
  async idToken() {
    if (!this.state) return null;
    if (this.state.expiresAt - this.now() < REFRESH_MARGIN_MS) await this.refresh();
    return this.state ? this.state.idToken : null;
  }
}
