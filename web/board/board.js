// The presence board: polls GET /presence?since=<version> and draws every team on one screen.
// It shares nothing with the softphone but the sign-in helper, so a board problem never takes a
// phone down. The server answers 304 when nothing changed and only the changes otherwise.

import { CognitoSession } from "../shared/cognito.js";
import { staffSignIn } from "../shared/staff_sign_in.js";
import { watchFlaggedCalls } from "./flags.js";
import { watchOverdue } from "./followups.js";
import { STATES, REASONS, merge, visible, byTeam, countStates, duration } from "./model.js";
import { initI18n, onLanguage, t } from "../shared/i18n.js";

const stateLabel = (state) => t(`board.state.${state}`);
const reasonLabel = (reason) => (REASONS.includes(reason) ? t(`board.reason.${reason}`) : "");

const POLL_MS = 1500;
const MAX_BACKOFF_MS = 30000;
const config = window.CC_CONFIG || {};
const API = String(config.apiBaseUrl || "http://127.0.0.1:8000").replace(/\/$/, "");
const session = config.cognito ? new CognitoSession(config.cognito) : null;

const view = {
  agents: new Map(),
  version: "",
  clockOffset: 0, // server time minus ours
  team: new URLSearchParams(location.search).get("team") || "",
  states: new Set(STATES.filter((s) => s !== "offline")),
  failures: 0,
  lastOk: 0,
};

const $ = (id) => document.getElementById(id);

function setStatus(text, kind = "") {
  const el = $("status");
  el.textContent = text;
  el.className = `status ${kind}`;
}

async function token() {
  if (!session) return null;
  const id = await session.idToken();
  return id;
}

async function poll(retried = false) {
  const headers = {};
  const id = await token();
  if (session && !id) return askSignIn();
  if (id) headers.Authorization = `Bearer ${id}`;
  const url = `${API}/presence${view.version ? `?since=${encodeURIComponent(view.version)}` : ""}`;
  const response = await fetch(url, { headers, cache: "no-store" });
  if (response.status === 401) {
    // Renew the token and try once more before anything else; sign-in is asked for only when
    // the session is really over (Cognito refused the refresh token), never for a blip.
    if (session && !retried && (await session.refresh())) return poll(true);
    if (session && session.signedIn) throw new Error("sign-in could not be renewed, retrying");
    return askSignIn();
  }
  // 503: the server cannot check sign-ins (or read presence) for a moment: the loop retries.
  if (response.status === 304) return markOk();
  if (!response.ok) throw new Error(`presence feed answered ${response.status}`);
  const feed = await response.json();
  view.agents = merge(view.agents, feed);
  view.version = feed.version;
  view.clockOffset = feed.server_ms - Date.now();
  markOk();
  renderFilters();
  render(); // at once: waiting for the next tick of the clock would add up to a second
}

function markOk() {
  view.failures = 0;
  view.lastOk = Date.now();
  document.body.classList.remove("offline");
  setStatus("");
}

async function loop() {
  let delay = POLL_MS;
  try {
    await poll();
  } catch (error) {
    view.failures += 1;
    delay = Math.min(MAX_BACKOFF_MS, POLL_MS * 2 ** view.failures);
    const age = view.lastOk ? t("board.lastUpdate", { ago: duration(Date.now() - view.lastOk) }) : "";
    document.body.classList.add("offline");
    setStatus(t("board.offline", { age }), "stale");
    console.warn("presence poll failed", error);
  }
  setTimeout(loop, delay);
}

const signIn = staffSignIn({ session });
const askSignIn = signIn.ask;

function renderFilters() {
  const select = $("team-filter");
  const teams = [...new Set([...view.agents.values()].map((a) => a.team))].sort();
  const have = [...select.options].map((o) => o.value).slice(1);
  if (teams.join("|") !== have.join("|")) {
    select.replaceChildren(new Option(t("board.allTeams"), ""), ...teams.map((team) => new Option(team, team)));
  }
  select.value = view.team;
}

function buildStateFilter() {
  const group = $("state-filter");
  for (const state of STATES) {
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.state = state;
    button.className = `chip ${state}`;
    button.textContent = stateLabel(state);
    button.setAttribute("aria-pressed", String(view.states.has(state)));
    button.addEventListener("click", () => {
      if (view.states.has(state)) view.states.delete(state);
      else view.states.add(state);
      button.setAttribute("aria-pressed", String(view.states.has(state)));
      render();
    });
    group.append(button);
  }
  $("team-filter").addEventListener("change", (event) => {
    view.team = event.target.value;
    render();
  });
}

function tile(agent, now) {
  const el = document.createElement("li");
  el.className = `agent ${agent.state}`;
  el.dataset.agent = agent.id;
  const reason = reasonLabel(agent.reason);
  el.innerHTML = `<span class="name"></span><span class="state"></span><span class="time"></span>`;
  el.querySelector(".name").textContent = agent.name || agent.id;
  el.querySelector(".state").textContent = stateLabel(agent.state) + (reason ? ` · ${reason}` : "");
  el.querySelector(".time").textContent = agent.since ? duration(now - agent.since) : "";
  return el;
}

function render() {
  const now = Date.now() + view.clockOffset;
  const shown = visible(view.agents, { team: view.team, states: view.states });
  const totals = countStates(visible(view.agents, { team: view.team }));
  $("totals").replaceChildren(
    ...STATES.map((state) => {
      const el = document.createElement("span");
      el.className = `total ${state}`;
      el.dataset.state = state;
      el.innerHTML = `<b></b> `;
      el.querySelector("b").textContent = String(totals[state] || 0);
      el.append(stateLabel(state));
      return el;
    }),
  );
  const sections = [];
  for (const [team, members] of byTeam(shown)) {
    const section = document.createElement("section");
    section.className = "team";
    section.dataset.team = team;
    const counts = countStates(members);
    const heading = document.createElement("h2");
    heading.textContent = team || t("board.noTeam");
    const summary = document.createElement("span");
    summary.className = "summary";
    summary.textContent = t("board.teamSummary", {
      available: counts.available,
      onCalls: counts.on_call + counts.ringing,
      shown: members.length,
    });
    heading.append(summary);
    const list = document.createElement("ul");
    list.append(...members.map((agent) => tile(agent, now)));
    section.append(heading, list);
    sections.push(section);
  }
  $("teams").replaceChildren(...sections);
}

await initI18n();
onLanguage(() => {
  for (const button of $("state-filter").querySelectorAll("button")) button.textContent = stateLabel(button.dataset.state);
  if ($("team-filter").options.length) $("team-filter").options[0].textContent = t("board.allTeams");
  render();
});
buildStateFilter();
if (window.CC_CONFIG_MISSING) setStatus(t("common.noConfig"), "note");
setInterval(render, 1000);
loop();
watchOverdue({
  api: API,
  token,
  panel: $("overdue-followups"),
  list: $("overdue-list"),
  count: $("overdue-count"),
});
// Live transcripts (issue 21): calls to watch, until the supervisors' floor takes them over.
watchFlaggedCalls({ api: API, token, onMfaRequired: signIn.mfaRequired });
