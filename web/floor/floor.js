// The supervisors' floor: polls GET /supervisor/floor (one snapshot per API container, shared
// by every viewer) and draws who waits, who talks, each team's day and the alerts. From a call
// a supervisor listens, whispers or barges (POST/DELETE /supervisor/calls/{id}/monitor: their
// own softphone rings into the call); from a rep, puts them away or signs them out
// (PUT /supervisor/agents/{id}/state).

import { CognitoSession } from "../shared/cognito.js";
import { isMfaRequired, staffSignIn } from "../shared/staff_sign_in.js";
import { initI18n, onLanguage, t } from "../shared/i18n.js";

const POLL_MS = 1000;
const MAX_BACKOFF_MS = 30000;
const MODES = ["listen", "whisper", "barge"];
const config = window.CC_CONFIG || {};
const API = String(config.apiBaseUrl || "http://127.0.0.1:8000").replace(/\/$/, "");
const session = config.cognito ? new CognitoSession(config.cognito) : null;

const view = { floor: null, clockOffset: 0, failures: 0, monitoring: new Map() };
const $ = (id) => document.getElementById(id);

function duration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n) => String(n).padStart(2, "0");
  return h ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}
const percent = (x) => (x === null || x === undefined ? "—" : `${Math.round(x * 100)}%`);

async function call(method, path, body, retried = false) {
  const headers = {};
  if (session) {
    const id = await session.idToken();
    if (!id) {
      askSignIn();
      throw new Error(t("common.notSignedIn"));
    }
    headers.Authorization = `Bearer ${id}`;
  }
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(`${API}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: "no-store",
  });
  if (response.status === 401 && session && !retried && (await session.refresh())) {
    return call(method, path, body, true);
  }
  if (response.status === 401) askSignIn();
  if (await isMfaRequired(response)) signIn.mfaRequired();
  const text = await response.text();
  const data = text ? JSON.parse(text) : {};
  if (!response.ok) throw Object.assign(new Error(data.Message || data.error || `${response.status}`), { status: response.status });
  return data;
}

async function poll() {
  const floor = await call("GET", "/supervisor/floor");
  view.floor = floor;
  view.clockOffset = floor.server_ms - Date.now();
  view.failures = 0;
  document.body.classList.remove("offline");
  $("status").textContent = "";
  $("status").className = "status";
  render();
}

async function loop() {
  let delay = POLL_MS;
  try {
    await poll();
  } catch (error) {
    view.failures += 1;
    delay = Math.min(MAX_BACKOFF_MS, POLL_MS * 2 ** view.failures);
    $("status").textContent = t(error.status === 403 ? "floor.supervisorsOnly" : "floor.offline");
    $("status").className = "status stale";
    console.warn("floor poll failed", error);
  }
  setTimeout(loop, delay);
}

const signIn = staffSignIn({ session });
const askSignIn = signIn.ask;

function cell(text, className = "") {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function rows(tableId, items, build) {
  $(tableId).querySelector("tbody").replaceChildren(...items.map(build));
}

async function act(text, run) {
  $("action").textContent = t("floor.action.running", { action: text });
  try {
    await run();
    $("action").textContent = t("floor.action.done", { action: text });
  } catch (error) {
    $("action").textContent = t("floor.action.failed", { action: text, error: error.message });
  }
}

function monitorButtons(callRow) {
  const td = document.createElement("td");
  const id = callRow.conversation_id;
  const current = view.monitoring.get(id);
  for (const mode of MODES) {
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.mode = mode;
    button.textContent = t(`floor.mode.${mode}`);
    button.setAttribute("aria-pressed", String(current === mode));
    button.addEventListener("click", () =>
      act(t(`floor.action.${mode}`, { agent: callRow.agent_id }), async () => {
        await call("POST", `/supervisor/calls/${encodeURIComponent(id)}/monitor`, { mode });
        view.monitoring.set(id, mode);
        render();
      }),
    );
    td.append(button);
  }
  if (current) {
    const leave = document.createElement("button");
    leave.type = "button";
    leave.dataset.mode = "leave";
    leave.textContent = t("floor.mode.leave");
    leave.addEventListener("click", () =>
      act(t("floor.action.leave", { agent: callRow.agent_id }), async () => {
        await call("DELETE", `/supervisor/calls/${encodeURIComponent(id)}/monitor`);
        view.monitoring.delete(id);
        render();
      }),
    );
    td.append(leave);
  }
  return td;
}

function forceButtons(rep) {
  const td = document.createElement("td");
  for (const state of ["away", "offline"]) {
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.force = state;
    button.textContent = t(`floor.force.${state}`);
    button.disabled = rep.state === "offline" || (state === "away" && ["away", "on_call", "wrap_up"].includes(rep.state));
    button.addEventListener("click", () =>
      act(t(`floor.action.${state}`, { agent: rep.id }), () => call("PUT", `/supervisor/agents/${encodeURIComponent(rep.id)}/state`, { state })),
    );
    td.append(button);
  }
  return td;
}

const ALERT_TEXT = {
  longest_wait: (a) =>
    t(a.team ? "floor.alert.longestWaitTeam" : "floor.alert.longestWait", {
      team: a.team,
      wait: duration(a.value * 1000),
      threshold: duration(a.threshold * 1000),
    }),
  service_level: (a) => t("floor.alert.serviceLevel", { team: a.team, value: percent(a.value), threshold: percent(a.threshold) }),
  abandonment: (a) => t("floor.alert.abandonment", { team: a.team, value: percent(a.value), threshold: percent(a.threshold) }),
};
// Routing stages (chalicelib/routing/plan.py Stage) and rep states, as the floor reads them.
const STAGES = ["owner", "team", "everyone", "fallback"];
const REP_STATES = ["available", "away", "break", "offline", "on_call", "ringing", "wrap_up"];
const stageLabel = (stage) => (STAGES.includes(stage) ? t(`floor.stage.${stage}`) : stage || "—");
const stateLabel = (state) => (REP_STATES.includes(state) ? t(`floor.state.${state}`) : state.replace("_", " "));

function render() {
  const floor = view.floor;
  if (!floor) return;
  // Waits and talk times tick between polls from the server's clock.
  const drift = Date.now() + view.clockOffset - floor.server_ms;
  $("alerts").replaceChildren(
    ...floor.alerts.map((a) => {
      const li = document.createElement("li");
      li.dataset.kind = a.kind;
      li.textContent = (ALERT_TEXT[a.kind] || ((x) => x.kind))(a);
      return li;
    }),
  );
  rows("teams", Object.entries(floor.teams), ([name, t]) => {
    const tr = document.createElement("tr");
    tr.dataset.team = name;
    const slBad = t.service_level !== null && t.service_level < floor.thresholds.service_level;
    const abBad = t.abandonment_rate !== null && t.abandonment_rate > floor.thresholds.abandonment;
    tr.append(
      cell(name || t("floor.noTeam")),
      cell(String(t.offered)),
      cell(String(t.answered)),
      cell(String(t.abandoned)),
      cell(percent(t.service_level), slBad ? "bad" : ""),
      cell(percent(t.abandonment_rate), abBad ? "bad" : ""),
      cell(String(t.waiting)),
    );
    return tr;
  });
  $("waiting-count").textContent = `(${floor.waiting.length})`;
  rows("waiting", floor.waiting, (w) => {
    const tr = document.createElement("tr");
    tr.dataset.conversation = w.conversation_id;
    const wait = w.wait_seconds * 1000 + drift;
    tr.append(
      cell(duration(wait), wait >= floor.thresholds.longest_wait_seconds * 1000 ? "bad" : ""),
      cell(w.team || "—"),
      cell(stageLabel(w.stage)),
      cell(w.customer_name || w.customer_id || t("floor.newCaller")),
      cell(w.owner_agent_id || "—"),
    );
    return tr;
  });
  $("calls-count").textContent = `(${floor.on_calls.length})`;
  rows("calls", floor.on_calls, (c) => {
    const tr = document.createElement("tr");
    tr.dataset.conversation = c.conversation_id;
    tr.dataset.agent = c.agent_id;
    tr.append(
      cell(c.agent_id),
      cell(duration(c.talk_seconds * 1000 + drift)),
      cell(c.customer_name || c.customer_id || t("floor.newCaller")),
      cell(c.team || "—"),
      monitorButtons(c),
    );
    return tr;
  });
  const now = floor.server_ms + drift;
  rows("reps", floor.agents.filter((a) => a.state !== "offline"), (a) => {
    const tr = document.createElement("tr");
    tr.dataset.agent = a.id;
    tr.append(
      cell(a.name || a.id),
      cell(a.team || "—"),
      cell(stateLabel(a.state), `state-${a.state}`),
      cell(a.since ? duration(now - a.since) : ""),
      forceButtons(a),
    );
    return tr;
  });
}

await initI18n();
onLanguage(() => render());
if (window.CC_CONFIG_MISSING) $("status").textContent = t("common.noConfig");
setInterval(render, 1000);
loop();
