// The agent's presence as the server keeps it: a session opened at sign-in, a heartbeat every
// 15 s while the page is open (the server sets an agent whose heartbeats stop to away), and the
// state the agent picks.

// Until the server says otherwise (`heartbeat_interval_seconds` in its answers).
export const HEARTBEAT_MS = 15000;
// After a failed heartbeat, try again sooner so the agent is back as soon as the network is.
export const RETRY_MS = 5000;

/** The state in a presence answer, whatever the exact shape the server chose. */
export function stateOf(body) {
  if (!body || typeof body !== "object") return null;
  return body.state || (body.presence && body.presence.state) || null;
}

export class Presence {
  /**
   * @param {import("../shared/api.js").ApiClient} api
   * @param {{onState: (state: string) => void, onHeartbeat: (ok: boolean, error?: Error) => void}} hooks
   */
  constructor(api, { onState, onHeartbeat }) {
    this.api = api;
    this.onState = onState;
    this.onHeartbeat = onHeartbeat;
    this.timer = null;
    this.running = false;
    this.intervalMs = HEARTBEAT_MS;
  }

  async start() {
    const body = await this.api.post("/agents/me/session", {});
    this.running = true;
    this.report(body);
    this.schedule(this.intervalMs);
    return stateOf(body);
  }

  schedule(delay) {
    clearTimeout(this.timer);
    if (this.running) this.timer = setTimeout(() => this.beat(), delay);
  }

  async beat() {
    try {
      const body = await this.api.post("/agents/me/heartbeat", {});
      this.onHeartbeat(true);
      this.report(body);
      this.schedule(this.intervalMs);
    } catch (error) {
      // Every failure but "refused" (this page is too old) is tried again: an "unauthorized"
      // one too, so a rep on a call keeps their line until the page decides to sign them out
      // (it stops the heartbeat by setting `running` to false).
      this.onHeartbeat(false, error);
      if (error.kind !== "refused") this.schedule(RETRY_MS);
    }
  }

  /** Heartbeat now (e.g. when the browser says it is back online). */
  beatNow() {
    if (this.running) this.beat();
  }

  async setState(state) {
    const body = await this.api.put("/agents/me/status", { state });
    this.report(body) || this.onState(state);
  }

  report(body) {
    const seconds = Number(body && body.heartbeat_interval_seconds);
    if (seconds >= 5 && seconds <= 300) this.intervalMs = seconds * 1000;
    const state = stateOf(body);
    if (state) this.onState(state);
    return Boolean(state);
  }

  async stop() {
    this.running = false;
    clearTimeout(this.timer);
    await this.api.delete("/agents/me/session", { keepalive: true });
  }
}
