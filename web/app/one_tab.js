// One softphone per rep. Two tabs each registering a Twilio Device would both ring for one
// call (the first to answer wins, the other shows a call it cannot take) and would each keep a
// presence session alive, so the board could never show the rep away. So a tab that starts
// claims the softphone on a BroadcastChannel (same origin, same browser): a tab already holding
// it hands over when it is idle (destroys its Device, stops its heartbeat, then says
// "released"), and refuses while it is on a call or in wrap-up, in which case the new tab does
// not start. Tabs of other reps (another sign-in in the same browser) are left alone.
// https://developer.mozilla.org/en-US/docs/Web/API/BroadcastChannel

export const CHANNEL = "cc-softphone";
// How long a claim waits for a tab holding the softphone to answer; none answers: it is alone.
export const CLAIM_WAIT_MS = 700;

export class OneTab {
  /**
   * @param {string} agentId  the signed-in rep
   * @param {{isBusy: () => boolean, release: () => Promise<void> | void}} hooks
   *   `release` stops this tab's Device and heartbeat (the other tab takes over).
   */
  constructor(agentId, { isBusy, release }, channel = new BroadcastChannel(CHANNEL)) {
    this.agentId = agentId;
    this.isBusy = isBusy;
    this.release = release;
    this.channel = channel;
    this.id = `${Date.now()}-${Math.random().toString(36).slice(2)}`;
    this.holding = false;
    this.pending = null; // {resolve, timer} while claiming
    this.channel.onmessage = (event) => this.onMessage(event.data || {});
  }

  /**
   * Take the softphone: "ok" (this tab holds it now) or "busy" (another tab of this rep is on
   * a call or in wrap-up and keeps it).
   */
  claim() {
    return new Promise((resolve) => {
      const finish = (outcome) => {
        clearTimeout(this.pending?.timer);
        this.pending = null;
        this.holding = outcome === "ok";
        resolve(outcome);
      };
      this.pending = { finish, timer: setTimeout(() => finish("ok"), CLAIM_WAIT_MS) };
      this.post({ type: "claim" });
    });
  }

  post(message) {
    this.channel.postMessage({ ...message, agent: this.agentId, from: this.id });
  }

  async onMessage(message) {
    if (message.agent !== this.agentId || message.from === this.id) return;
    if (message.type === "claim" && this.holding) {
      if (this.isBusy()) {
        this.post({ type: "busy", to: message.from });
        return;
      }
      this.holding = false;
      await this.release();
      this.post({ type: "released", to: message.from });
    } else if (message.to === this.id && this.pending) {
      this.pending.finish(message.type === "busy" ? "busy" : "ok");
    }
  }

  close() {
    this.channel.close();
  }
}
