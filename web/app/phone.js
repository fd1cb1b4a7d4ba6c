// The agent's phone line: a Twilio Voice SDK Device, registered with an access token from our
// API and kept registered by renewing the token before it expires.
// SDK reference: https://www.twilio.com/docs/voice/sdks/javascript/twiliodevice

import { t } from "../shared/i18n.js";

// Twilio's "AccessTokenExpired" / "AccessTokenInvalid" errors: fetch a new token and re-register.
const TOKEN_ERRORS = new Set([20101, 20104, 31204, 31205]);

export class Phone {
  /**
   * @param {import("../shared/api.js").ApiClient} api
   * @param {object} options
   * @param {string} options.edge  Twilio edge, e.g. "tokyo"
   * @param {object} hooks  onStatus(status, detail), onIncoming(call), onError(error)
   */
  constructor(api, { edge }, hooks) {
    this.api = api;
    this.edge = edge;
    this.hooks = hooks;
    this.device = null;
    this.identity = "";
    this.expiresAt = 0;
  }

  async fetchToken() {
    const body = await this.api.get("/agents/me/token");
    this.identity = body.identity || this.identity;
    this.expiresAt = body.expires_at ? Date.parse(body.expires_at) || body.expires_at * 1000 : 0;
    return body.token;
  }

  async start() {
    const { Device } = globalThis.Twilio || {};
    if (!Device) throw new Error(t("softphone.phone.sdkMissing"));
    const token = await this.fetchToken();
    const device = new Device(token, {
      edge: this.edge,
      codecPreferences: ["opus", "pcmu"],
      // The browser asks before closing the tab while a call is up.
      closeProtection: true,
      // tokenWillExpire fires this long before the token expires.
      tokenRefreshMs: 30000,
      logLevel: "warn",
    });
    this.device = device;
    // We ring with our own tone (alerts.js); the SDK's would play on top of it.
    if (device.audio && typeof device.audio.incoming === "function") device.audio.incoming(false);
    device.on("registering", () => this.hooks.onStatus("connecting"));
    device.on("registered", () => this.hooks.onStatus("ready"));
    device.on("unregistered", () => this.hooks.onStatus("offline"));
    device.on("incoming", (call) => this.hooks.onIncoming(call));
    device.on("tokenWillExpire", () => this.renewToken());
    device.on("error", (error) => this.onDeviceError(error));
    this.hooks.onStatus("connecting");
    await device.register();
  }

  async renewToken() {
    try {
      const token = await this.fetchToken();
      this.device.updateToken(token);
      this.hooks.onTokenRenewed?.();
      return true;
    } catch (error) {
      this.hooks.onError(error, "token");
      return false;
    }
  }

  async onDeviceError(error) {
    if (error && TOKEN_ERRORS.has(error.code)) {
      this.hooks.onStatus("connecting", t("softphone.phone.renewing"));
      if ((await this.renewToken()) && this.device.state !== "registered") {
        await this.device.register().catch((failure) => this.hooks.onError(failure, "register"));
      }
      return;
    }
    this.hooks.onError(error, "device");
  }

  /** Re-register after the network came back, if the Device lost its registration. */
  async reconnect() {
    if (!this.device || this.device.state === "registered") return;
    if (this.expiresAt && this.expiresAt - Date.now() < 60000) await this.renewToken();
    await this.device.register().catch((error) => this.hooks.onError(error, "register"));
  }

  /** Place an outbound call; the company number is the caller ID (server side). */
  connect(number) {
    return this.device.connect({ params: { To: number } });
  }

  get busy() {
    return Boolean(this.device && this.device.isBusy);
  }

  async stop() {
    if (!this.device) return;
    this.device.destroy();
    this.device = null;
  }
}
