// The supervisors' floor: polls GET /supervisor/floor (one snapshot per API container, shared
// by every viewer) and draws who waits, who talks, each team's day and the alerts. From a call
// a supervisor listens, whispers or barges (POST/DELETE /supervisor/calls/{id}/monitor: their
// own softphone rings into the call); from a rep, puts them away or signs them out
// (PUT /supervisor/agents/{id}/state).

import { CognitoSession, SignInError } from "../shared/cognito.js";

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
      throw new Error("not signed in");
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
    $("status").textContent = error.status === 403 ? "Supervisors only" : "Floor offline, retrying";
    $("status").className = "status stale";
    console.warn("floor poll failed", error);
  }
  setTimeout(loop, delay);
}

function askSignIn() {
  const dialog = $("sign-in");
  if (!dialog.open) dialog.showModal();
}

$("sign-in-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  if (!session) {
    $("sign-in-error").textContent = "This page has no sign-in settings (web/config.js).";
    return;
  }
  try {
    await session.signIn(String(form.get("username")), String(form.get("password")));
    $("sign-in").close();
    $("sign-in-error").textContent = "";
  } catch (error) {
    $("sign-in-error").textContent = error instanceof SignInError ? error.message : "Sign-in failed.";
  }
});

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
  $("action").textContent = `${text}…`;
  try {
    await run();
    $("action").textContent = `${text}: done`;
  } catch (error) {
    $("action").textContent = `${text}: ${error.message}`;
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
    button.textContent = mode[0].toUpperCase() + mode.slice(1);
    button.setAttribute("aria-pressed", String(current === mode));
    button.addEventListener("click", () =>
      act(`${mode} ${callRow.agent_id}`, async () => {
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
    leave.textContent = "Leave";
    leave.addEventListener("click", () =>
      act(`leave ${callRow.agent_id}`, async () => {
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
  for (const [state, label] of [["away", "Set away"], ["offline", "Sign out"]]) {
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.force = state;
    button.textContent = label;
    button.disabled = rep.state === "offline" || (state === "away" && ["away", "on_call", "wrap_up"].includes(rep.state));
    button.addEventListener("click", () =>
      act(`${label} ${rep.id}`, () => call("PUT", `/supervisor/agents/${encodeURIComponent(rep.id)}/state`, { state })),
    );
    td.append(button);
  }
  return td;
}

const ALERT_TEXT = {
  longest_wait: (a) => `A caller${a.team ? ` for ${a.team}` : ""} has waited ${duration(a.value * 1000)} (alert at ${duration(a.threshold * 1000)})`,
  service_level: (a) => `${a.team}: service level ${percent(a.value)} today (below ${percent(a.threshold)})`,
  abandonment: (a) => `${a.team}: ${percent(a.value)} of callers abandoned today (above ${percent(a.threshold)})`,
};

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
      cell(name || "(no team)"),
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
      cell(w.stage || "—"),
      cell(w.customer_name || w.customer_id || "new caller"),
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
      cell(c.customer_name || c.customer_id || "new caller"),
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
      cell(a.state.replace("_", " "), `state-${a.state}`),
      cell(a.since ? duration(now - a.since) : ""),
      forceButtons(a),
    );
    return tr;
  });
}

if (window.CC_CONFIG_MISSING) $("status").textContent = "No config.js: using the local API";
setInterval(render, 1000);
loop();
