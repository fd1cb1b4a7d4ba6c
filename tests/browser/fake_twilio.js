// A stand-in for the Twilio Voice JS SDK (`Twilio.Device`, `Twilio.Call`), injected before the
// page's scripts run. The vendored SDK keeps an existing `Twilio.Device`
// (`Twilio.Device = Twilio.Device || Voice.Device`), so the page runs unchanged against this.
//
// It mirrors the SDK's public surface the softphone uses (test_sdk_surface.py checks every
// method exists on the real SDK) and emits the SDK's events with the SDK's arguments:
//   Device: registering, registered, unregistered, incoming(call), tokenWillExpire(device),
//           error(twilioError, call?)
//   Call:   accept(call), ringing(hasEarlyMedia), mute(isMuted, call), cancel, reject,
//           disconnect(call), error(twilioError), reconnecting(error), reconnected
// The test drives the far end through `window.fakeTwilio` and reads what the page did from
// `window.fakeTwilio.log`.
(() => {
  class Emitter {
    constructor() {
      this._listeners = new Map();
    }
    on(name, listener) {
      if (!this._listeners.has(name)) this._listeners.set(name, []);
      this._listeners.get(name).push(listener);
      return this;
    }
    addListener(name, listener) {
      return this.on(name, listener);
    }
    once(name, listener) {
      const wrapped = (...args) => {
        this.off(name, wrapped);
        listener(...args);
      };
      return this.on(name, wrapped);
    }
    off(name, listener) {
      const list = this._listeners.get(name) || [];
      this._listeners.set(name, list.filter((l) => l !== listener));
      return this;
    }
    removeListener(name, listener) {
      return this.off(name, listener);
    }
    removeAllListeners(name) {
      if (name) this._listeners.delete(name);
      else this._listeners.clear();
      return this;
    }
    listenerCount(name) {
      return (this._listeners.get(name) || []).length;
    }
    emit(name, ...args) {
      const list = [...(this._listeners.get(name) || [])];
      for (const listener of list) listener(...args);
      return list.length > 0;
    }
  }

  const log = [];
  const record = (what, detail = {}) => log.push({ what, ...detail, at: Date.now() });
  const later = (fn) => setTimeout(fn, 0);

  class TwilioError extends Error {
    constructor(code, message) {
      super(message);
      this.code = code;
      this.name = "TwilioError";
      this.explanation = message;
    }
  }

  class Call extends Emitter {
    constructor(device, { direction, parameters = {}, customParameters = {} }) {
      super();
      this._device = device;
      this.direction = direction;
      this.parameters = { ...parameters };
      this.customParameters = new Map(Object.entries(customParameters));
      this._status = direction === "INCOMING" ? "pending" : "connecting";
      this._muted = false;
    }
    status() {
      return this._status;
    }
    isMuted() {
      return this._muted;
    }
    accept() {
      record("call.accept", { callSid: this.parameters.CallSid });
      if (this._status !== "pending") return;
      this._status = "connecting";
      later(() => {
        this._status = "open";
        this.emit("accept", this);
      });
    }
    reject() {
      record("call.reject", { callSid: this.parameters.CallSid });
      if (this._status !== "pending") return;
      this._status = "closed";
      this._device._forget(this);
      this.emit("reject");
    }
    ignore() {
      record("call.ignore", { callSid: this.parameters.CallSid });
      if (this._status !== "pending") return;
      this._status = "closed";
      this._device._forget(this);
    }
    disconnect() {
      record("call.disconnect", { callSid: this.parameters.CallSid });
      this._close();
    }
    mute(shouldMute = true) {
      record("call.mute", { muted: shouldMute });
      const was = this._muted;
      this._muted = Boolean(shouldMute);
      if (was !== this._muted) this.emit("mute", this._muted, this);
    }
    sendDigits(digits) {
      if (typeof digits !== "string" || /[^0-9*#wW]/.test(digits)) {
        throw new Error("Illegal character passed into sendDigits");
      }
      record("call.sendDigits", { digits });
    }
    _close() {
      if (this._status === "closed") return;
      this._status = "closed";
      this._device._forget(this);
      this.emit("disconnect", this);
    }
  }

  class Device extends Emitter {
    constructor(token, options = {}) {
      super();
      this.token = token;
      this._options = options;
      this._state = "unregistered";
      this._calls = [];
      this._incomingSound = true;
      this.audio = {
        incoming: (enabled) => {
          if (enabled !== undefined) this._incomingSound = Boolean(enabled);
          return this._incomingSound;
        },
      };
      record("device.new", { token, options });
      control.devices.push(this);
    }
    get state() {
      return this._state;
    }
    get calls() {
      return [...this._calls];
    }
    get isBusy() {
      return this._calls.some((call) => call.status() === "open" || call.status() === "connecting");
    }
    get edge() {
      return this._options.edge || null;
    }
    register() {
      record("device.register", { token: this.token });
      this._state = "registering";
      this.emit("registering");
      return new Promise((resolve, reject) => {
        later(() => {
          if (control.refuseRegistration) {
            const error = new TwilioError(control.refuseRegistration, "registration refused");
            this._state = "unregistered";
            this.emit("error", error);
            reject(error);
            return;
          }
          this._state = "registered";
          this.emit("registered");
          resolve();
        });
      });
    }
    unregister() {
      record("device.unregister");
      this._state = "unregistered";
      this.emit("unregistered");
      return Promise.resolve();
    }
    updateToken(token) {
      record("device.updateToken", { token });
      this.token = token;
    }
    connect({ params = {} } = {}) {
      record("device.connect", { params });
      const call = new Call(this, {
        direction: "OUTGOING",
        parameters: {},
        customParameters: params,
      });
      this._calls.push(call);
      return Promise.resolve(call);
    }
    destroy() {
      record("device.destroy");
      for (const call of this.calls) call._close();
      this._state = "destroyed";
      this.emit("destroyed");
    }
    _forget(call) {
      this._calls = this._calls.filter((c) => c !== call);
    }
  }
  Device.isSupported = true;
  Device.EventName = {
    Error: "error",
    Incoming: "incoming",
    Destroyed: "destroyed",
    Unregistered: "unregistered",
    Registering: "registering",
    Registered: "registered",
    TokenWillExpire: "tokenWillExpire",
  };

  let sequence = 0;
  const control = {
    devices: [],
    log,
    refuseRegistration: 0,
    get device() {
      return this.devices[this.devices.length - 1] || null;
    },
    get call() {
      const device = this.device;
      return device ? device.calls[device.calls.length - 1] || null : null;
    },
    /** Twilio offers the agent a call: the Device emits `incoming` with a pending Call. */
    incoming({ from = "+81312345678", callSid, customParameters = {} } = {}) {
      sequence += 1;
      const sid = callSid || `CA${String(sequence).padStart(32, "0")}`;
      const call = new Call(this.device, {
        direction: "INCOMING",
        parameters: { CallSid: sid, From: from, To: `client:${this.device.identity || "agent"}`, AccountSid: "AC" + "0".repeat(32) },
        customParameters,
      });
      this.device._calls.push(call);
      this.device.emit("incoming", call);
      return sid;
    },
    /** The caller hung up (or another agent answered) before this agent did. */
    cancel() {
      const call = this.call;
      call._status = "closed";
      this.device._forget(call);
      call.emit("cancel");
    },
    /** The far end answered an outbound call. */
    answer(callSid = `CA${"f".repeat(32)}`) {
      const call = this.call;
      call.parameters.CallSid = callSid;
      call._status = "open";
      call.emit("accept", call);
    },
    /** The far end hung up. */
    hangUp() {
      this.call._close();
    },
    tokenWillExpire() {
      this.device.emit("tokenWillExpire", this.device);
    },
    tokenExpired() {
      this.device._state = "unregistered";
      this.device.emit("unregistered");
      this.device.emit("error", new TwilioError(20104, "AccessTokenExpired"));
    },
    networkLost() {
      this.device._state = "unregistered";
      this.device.emit("unregistered");
      this.device.emit("error", new TwilioError(31005, "Connection error: websocket closed"));
    },
    entries(what) {
      return log.filter((entry) => entry.what === what);
    },
  };

  window.Twilio = Object.assign(window.Twilio || {}, { Device, Call });
  window.fakeTwilio = control;
})();
