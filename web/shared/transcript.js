// A call's live transcript, drawn from GET /conversations/{call_sid}/transcript: each line with
// its speaker and sentiment. Shared by the softphone (the rep's own call) and the board
// (a supervisor opening a flagged call). Text is set with textContent only: it is what callers
// said, never markup.

import { t } from "./i18n.js";

const SPEAKERS = ["customer", "agent"];
const SENTIMENTS = { POSITIVE: "🙂", NEGATIVE: "😠", NEUTRAL: "😐", MIXED: "😕" };
const speakerLabel = (speaker) => (SPEAKERS.includes(speaker) ? t(`common.transcript.speaker.${speaker}`) : speaker);
const sentimentLabel = (sentiment) =>
  t(sentiment in SENTIMENTS ? `common.transcript.sentiment.${sentiment.toLowerCase()}` : "common.transcript.notScored");

/** Draw `live` (the endpoint's `live` part) into `list`, an <ol>. */
export function drawTranscript(list, live) {
  const lines = (live && live.lines) || [];
  const items = lines.map((line) => {
    const item = document.createElement("li");
    item.className = `line speaker-${line.speaker}`;
    item.dataset.speaker = line.speaker;
    item.dataset.sentiment = line.sentiment || "";
    const who = document.createElement("span");
    who.className = "speaker";
    who.textContent = speakerLabel(line.speaker);
    const text = document.createElement("span");
    text.className = "text";
    text.textContent = line.text;
    const mood = document.createElement("span");
    mood.className = "sentiment";
    mood.textContent = SENTIMENTS[line.sentiment] || "";
    mood.title = sentimentLabel(line.sentiment || "");
    item.append(who, text, mood);
    return item;
  });
  const stick = list.scrollTop + list.clientHeight >= list.scrollHeight - 8;
  list.replaceChildren(...items);
  if (stick) list.scrollTop = list.scrollHeight;
}

/**
 * Polls one call's transcript while `follow`ed. `get(path)` returns the parsed body or throws
 * an error with `status`; `onUpdate(live)` gets the live part (null before the first words).
 */
export class TranscriptFollower {
  constructor({ get, onUpdate, intervalMs = 3000 }) {
    this.get = get;
    this.onUpdate = onUpdate;
    this.intervalMs = intervalMs;
    this.callSid = "";
    this.timer = null;
  }

  follow(callSid) {
    if (!callSid || callSid === this.callSid) return;
    this.stop();
    this.callSid = callSid;
    this.tick();
  }

  stop() {
    clearTimeout(this.timer);
    this.timer = null;
    this.callSid = "";
  }

  async tick() {
    const callSid = this.callSid;
    if (!callSid) return;
    let live = null;
    try {
      const body = await this.get(`/conversations/${encodeURIComponent(callSid)}/transcript`);
      live = body.live || null;
    } catch (error) {
      // 404: nothing said yet. Anything else: keep what is shown and try again.
      if (error.status !== 404 && callSid === this.callSid) {
        this.timer = setTimeout(() => this.tick(), this.intervalMs * 2);
        return;
      }
    }
    if (callSid !== this.callSid) return;
    this.onUpdate(live);
    this.timer = setTimeout(() => this.tick(), this.intervalMs);
  }
}
