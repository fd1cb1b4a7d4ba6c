// The one way the web pages talk to the contact center's API.
//
// Every request carries the signed-in user's Cognito ID token (`Authorization: Bearer`) and the
// page's version (`X-Client-Version`); every response's version headers are reported to the page
// (see chalicelib/platform/versions.py). Failures become an ApiError whose `kind` says what the page should
// tell the agent: "network" (no answer), "unauthorized" (the token was refused even after a
// refresh and one retry), "unavailable" (503: a dependency of the server is briefly down, e.g. it
// cannot read the sign-in keys; transient, never a reason to sign out), "refused" (this page is
// too old: 426), "http" (any other error status, with the server's message).

import { t } from "./i18n.js";

export const CLIENT_VERSION_HEADER = "X-Client-Version";
const VERSION_HEADERS = {
  server: "X-Server-Version",
  min: "X-Min-Client-Version",
  latest: "X-Latest-Client-Version",
};
const DEFAULT_TIMEOUT_MS = 10000;

export class ApiError extends Error {
  constructor(kind, message, { status = 0, body = null } = {}) {
    super(message);
    this.name = "ApiError";
    this.kind = kind;
    this.status = status;
    this.body = body;
  }
}

function messageOf(body, fallback) {
  if (body && typeof body === "object") {
    return body.Message || body.message || body.error || fallback;
  }
  return typeof body === "string" && body ? body : fallback;
}

export class ApiClient {
  /**
   * @param {object} options
   * @param {string} options.baseUrl  e.g. "http://127.0.0.1:8000" (no trailing slash needed)
   * @param {string} options.clientVersion  this page's version, sent on every request
   * @param {() => Promise<string|null>} options.getToken  the current ID token (refreshed)
   * @param {() => Promise<boolean>} [options.onUnauthorized]  try to refresh after a 401
   * @param {(versions: {server?: string, min?: string, latest?: string}) => void} [options.onVersions]
   * @param {(error: ApiError) => void} [options.onRefused]  called when the server answers 426
   * @param {(ok: boolean) => void} [options.onReachability]  false after a network failure,
   *   true after the next answer
   */
  constructor({
    baseUrl,
    clientVersion,
    getToken,
    onUnauthorized = async () => false,
    onVersions = () => {},
    onRefused = () => {},
    onReachability = () => {},
    timeoutMs = DEFAULT_TIMEOUT_MS,
    fetchImpl = (...args) => globalThis.fetch(...args),
  }) {
    this.baseUrl = String(baseUrl || "").replace(/\/+$/, "");
    this.clientVersion = clientVersion;
    this.getToken = getToken;
    this.onUnauthorized = onUnauthorized;
    this.onVersions = onVersions;
    this.onRefused = onRefused;
    this.onReachability = onReachability;
    this.timeoutMs = timeoutMs;
    this.fetchImpl = fetchImpl;
  }

  get(path, options) {
    return this.request("GET", path, undefined, options);
  }

  post(path, body, options) {
    return this.request("POST", path, body, options);
  }

  put(path, body, options) {
    return this.request("PUT", path, body, options);
  }

  delete(path, options) {
    return this.request("DELETE", path, undefined, options);
  }

  async request(method, path, body, { keepalive = false, retryOn401 = true } = {}) {
    const response = await this.send(method, path, body, keepalive);
    // A 401 first renews the ID token (Cognito's REFRESH_TOKEN_AUTH) and retries once: only a
    // token refused twice reaches the page as "unauthorized".
    if (response.status === 401 && retryOn401 && (await this.onUnauthorized())) {
      return this.request(method, path, body, { keepalive, retryOn401: false });
    }
    return this.read(response);
  }

  async send(method, path, body, keepalive) {
    const headers = { [CLIENT_VERSION_HEADER]: this.clientVersion };
    const token = await this.getToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.timeoutMs);
    let response;
    try {
      response = await this.fetchImpl(this.baseUrl + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: controller.signal,
        keepalive,
        mode: "cors",
        credentials: "omit",
      });
    } catch (error) {
      this.onReachability(false);
      const timedOut = error && error.name === "AbortError";
      throw new ApiError("network", t(timedOut ? "common.api.timedOut" : "common.api.unreachable"));
    } finally {
      clearTimeout(timer);
    }
    this.onReachability(true);
    this.reportVersions(response.headers);
    return response;
  }

  reportVersions(headers) {
    const versions = {};
    for (const [key, name] of Object.entries(VERSION_HEADERS)) {
      const value = headers.get(name);
      if (value) versions[key] = value;
    }
    if (Object.keys(versions).length) this.onVersions(versions);
  }

  async read(response) {
    const text = await response.text();
    let body = null;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
    if (response.ok) return body;
    if (response.status === 426) {
      const error = new ApiError(
        "refused",
        messageOf(body, t("common.api.tooOld")),
        { status: 426, body },
      );
      this.onRefused(error);
      throw error;
    }
    if (response.status === 503) {
      throw new ApiError("unavailable", messageOf(body, t("common.api.unavailable")), {
        status: 503,
        body,
      });
    }
    if (response.status === 401) {
      throw new ApiError("unauthorized", t("common.api.expired"), {
        status: 401,
        body,
      });
    }
    throw new ApiError("http", messageOf(body, t("common.api.status", { status: response.status })), {
      status: response.status,
      body,
    });
  }
}
