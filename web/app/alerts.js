// Making a ringing call impossible to miss: a ringtone, a flashing tab title and a desktop
// notification. The ringtone is synthesised with WebAudio, so there is no sound file to ship
// or to fail to load.

/** A double ring (two short bursts, then a pause), repeated until stopped. */
export class Ringer {
  constructor() {
    this.context = null;
    this.timer = null;
  }

  /** Call from a user gesture (sign-in click): browsers only allow audio after one. */
  unlock() {
    const AudioContext = globalThis.AudioContext || globalThis.webkitAudioContext;
    if (!AudioContext) return;
    if (!this.context) this.context = new AudioContext();
    if (this.context.state === "suspended") this.context.resume().catch(() => {});
  }

  get canPlay() {
    return Boolean(this.context) && this.context.state === "running";
  }

  get ringing() {
    return this.timer !== null;
  }

  start() {
    if (this.timer !== null) return;
    this.unlock();
    this.ringOnce();
    this.timer = setInterval(() => this.ringOnce(), 3000);
  }

  stop() {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  ringOnce() {
    if (!this.context) return;
    const start = this.context.currentTime + 0.02;
    this.burst(start, 0.4);
    this.burst(start + 0.6, 0.4);
  }

  burst(at, seconds) {
    const gain = this.context.createGain();
    gain.gain.setValueAtTime(0, at);
    gain.gain.linearRampToValueAtTime(0.25, at + 0.02);
    gain.gain.setValueAtTime(0.25, at + seconds - 0.03);
    gain.gain.linearRampToValueAtTime(0, at + seconds);
    gain.connect(this.context.destination);
    for (const frequency of [440, 480]) {
      const tone = this.context.createOscillator();
      tone.frequency.value = frequency;
      tone.connect(gain);
      tone.start(at);
      tone.stop(at + seconds);
    }
  }
}

/** Alternates the tab title with a message until stopped. */
export class TitleFlasher {
  constructor(doc = globalThis.document) {
    this.doc = doc;
    this.base = doc.title;
    this.timer = null;
  }

  start(message) {
    this.stop();
    let on = true;
    this.doc.title = message;
    this.timer = setInterval(() => {
      on = !on;
      this.doc.title = on ? message : this.base;
    }, 800);
  }

  stop() {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.doc.title = this.base;
  }
}

/** Desktop notifications, when the agent allowed them. */
export class Notifier {
  constructor() {
    this.current = null;
  }

  get permission() {
    return "Notification" in globalThis ? Notification.permission : "unsupported";
  }

  /** Ask once, from a user gesture. */
  request() {
    if (this.permission === "default") Notification.requestPermission().catch(() => {});
  }

  show(title, body, onClick) {
    this.close();
    if (this.permission !== "granted") return;
    const note = new Notification(title, { body, tag: "incoming-call", requireInteraction: true });
    note.onclick = () => {
      globalThis.focus();
      if (onClick) onClick();
      note.close();
    };
    this.current = note;
  }

  close() {
    if (this.current) this.current.close();
    this.current = null;
  }
}
