// Staff sign-in against the Cognito user pool, straight from the browser (no SDK needed):
// USER_PASSWORD_AUTH to sign in, REFRESH_TOKEN_AUTH to renew the ID token before it expires.
// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_InitiateAuth.html
//
// The tokens live in sessionStorage: they survive the reload the page does to update itself,
// and die with the tab. The ID token is what the API checks (`Authorization: Bearer`).

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

const FRIENDLY = {
  NotAuthorizedException: "Wrong user name or password.",
  UserNotFoundException: "Wrong user name or password.",
  PasswordResetRequiredException: "Your password must be reset. Ask your supervisor.",
  UserNotConfirmedException: "Your account is not activated yet. Ask your supervisor.",
  TooManyRequestsException: "Too many attempts. Wait a minute and try again.",
};

async function initiateAuth(cognito, authFlow, parameters, fetchImpl) {
  let response;
  try {
    response = await fetchImpl(cognitoEndpoint(cognito), {
      method: "POST",
      headers: {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth",
      },
      body: JSON.stringify({
        AuthFlow: authFlow,
        ClientId: cognito.clientId,
        AuthParameters: parameters,
      }),
    });
  } catch {
    throw new SignInError("The sign-in service could not be reached. Check your connection.", "network");
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const code = String(body.__type || "").split("#").pop();
    throw new SignInError(FRIENDLY[code] || body.message || `Sign-in failed (${response.status}).`, code);
  }
  if (body.ChallengeName) {
    // NEW_PASSWORD_REQUIRED and MFA are set up by supervisors in the console, not here.
    throw new SignInError(
      `Your account needs attention (${body.ChallengeName}). Ask your supervisor.`,
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
      refreshToken: result.RefreshToken || refreshToken,
      expiresAt: claims.exp * 1000,
    };
    this.save();
  }

  async signIn(username, password) {
    const result = await initiateAuth(
      this.cognito,
      "USER_PASSWORD_AUTH",
      { USERNAME: username, PASSWORD: password },
      this.fetchImpl,
    );
    this.adopt(result, null);
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
        "REFRESH_TOKEN_AUTH",
        { REFRESH_TOKEN: refreshToken },
        this.fetchImpl,
      )
        .then((result) => {
          this.adopt(result, refreshToken);
          return true;
        })
        .catch((error) => {
          // A network failure keeps the session (the token may still be good); a refusal ends it.
          if (error.code !== "network") this.signOut();
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
