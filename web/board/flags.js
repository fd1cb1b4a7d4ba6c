// Calls a supervisor should look at (negative sentiment or an alert word), from
// GET /transcripts/flagged, with each call's live transcript one click away. Kept in its own
// module and panel so the supervisors' live floor can take it over whole; agents (403) never
// see the panel.

import { onLanguage, t } from "../shared/i18n.js";
import { isMfaRequired } from "../shared/staff_sign_in.js";
import { TranscriptFollower, drawTranscript } from "../shared/transcript.js";

const POLL_MS = 5000;
const REASONS = ["negative", "keyword"];
const reasonLabel = (reason) => (REASONS.includes(reason) ? t(`board.flagged.reason.${reason}`) : reason);

export function watchFlaggedCalls({ api, token, onMfaRequired = () => {} }) {
  const panel = document.getElementById("flagged");
  const list = document.getElementById("flagged-calls");
  const dialog = document.getElementById("transcript-dialog");
  const lines = document.getElementById("transcript-lines");
  const title = document.getElementById("transcript-title");

  async function get(path) {
    const id = await token();
    const response = await fetch(`${api}${path}`, {
      headers: id ? { Authorization: `Bearer ${id}` } : {},
      cache: "no-store",
    });
    if (await isMfaRequired(response)) onMfaRequired();
    if (!response.ok) {
      const error = new Error(`${path} answered ${response.status}`);
      error.status = response.status;
      throw error;
    }
    return response.json();
  }

  let shown = [];
  let live = null;
  const follower = new TranscriptFollower({
    get,
    onUpdate: (update) => {
      live = update;
      drawTranscript(lines, live);
    },
  });
  dialog.addEventListener("close", () => follower.stop());

  function open(call) {
    title.textContent = `${call.agent_id || "?"} — ${call.call_sid}`;
    live = null;
    lines.replaceChildren();
    dialog.showModal();
    follower.follow(call.call_sid);
  }

  function render(calls) {
    shown = calls;
    panel.hidden = calls.length === 0;
    list.replaceChildren(
      ...calls.map((call) => {
        const item = document.createElement("li");
        item.className = `flagged-call${call.live ? " live" : ""}`;
        item.dataset.call = call.call_sid;
        item.dataset.reasons = call.reasons.join(" ");
        const who = document.createElement("span");
        who.className = "flagged-agent";
        who.textContent = call.agent_id || "?";
        const why = document.createElement("span");
        why.className = "why";
        why.textContent = [
          ...call.reasons.map(reasonLabel),
          ...call.keywords.map((k) => `「${k}」`),
        ].join(" · ");
        const button = document.createElement("button");
        button.type = "button";
        button.className = "open-transcript";
        button.textContent = t(call.live ? "board.flagged.live" : "board.flagged.transcript");
        button.addEventListener("click", () => open(call));
        item.append(who, why, button);
        return item;
      }),
    );
  }

  // Labels are drawn here: redrawn in the new language (the dialog's lines too).
  onLanguage(() => {
    render(shown);
    if (dialog.open) drawTranscript(lines, live);
  });

  async function loop() {
    try {
      render((await get("/transcripts/flagged")).calls || []);
    } catch (error) {
      if (error.status === 403) {
        panel.hidden = true;
        return; // not a supervisor: nothing to watch
      }
    }
    setTimeout(loop, POLL_MS);
  }
  loop();
}
