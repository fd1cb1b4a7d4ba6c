// Overdue follow-ups on the board (issue 18): voicemails and callback requests still open after
// the configured time (FOLLOWUP_OVERDUE_MINUTES), from GET /followups/overdue (supervisors
// only; anyone else gets 403 and the panel stays hidden). Polled slowly: they age in hours.

import { formatPhone, t } from "../shared/i18n.js";

const OVERDUE_POLL_MS = 60000;

function age(ms) {
  const minutes = Math.max(0, Math.floor(ms / 60000));
  return minutes >= 60
    ? t("common.hoursMinutes", { hours: Math.floor(minutes / 60), minutes: minutes % 60 })
    : t("common.minutes", { minutes });
}

// Until the board is signed in, look again soon: the list must show once someone signs in.
const SIGNED_OUT_POLL_MS = 2000;

export function watchOverdue({ api, token, panel, list, count }) {
  async function poll() {
    let next = OVERDUE_POLL_MS;
    try {
      const id = await token();
      if (!id) {
        next = SIGNED_OUT_POLL_MS;
        return;
      }
      const response = await fetch(`${api}/followups/overdue`, {
        headers: { Authorization: `Bearer ${id}` },
        cache: "no-store",
      });
      if (response.status === 403) {
        panel.hidden = true;
        return;
      }
      if (!response.ok) return;
      const rows = (await response.json()).followups || [];
      count.textContent = String(rows.length);
      list.replaceChildren(
        ...rows.map((row) => {
          const li = document.createElement("li");
          li.dataset.followup = row.id;
          li.textContent = [
            t(`common.followup.${row.kind === "voicemail" ? "voicemail" : "callback"}`),
            row.customer_name || formatPhone(row.caller_display),
            row.assignee
              ? t("board.overdue.for", { agent: row.assignee })
              : t("board.overdue.unassigned", { team: row.team }),
            t("board.overdue.waiting", { age: age(Date.now() - row.started_ms) }),
          ]
            .filter(Boolean)
            .join(" · ");
          return li;
        }),
      );
      panel.hidden = rows.length === 0;
    } catch (error) {
      console.warn("overdue follow-ups not loaded", error);
    } finally {
      setTimeout(poll, next);
    }
  }
  poll();
}
