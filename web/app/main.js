// The softphone: sign-in, the agent's state, the phone line, calls in and out, wrap-up.
// One module owns the page's state and updates the DOM from it; the pieces it drives (API
// client, Cognito session, presence heartbeat, Twilio Device, alerts) live in their own modules.

import { ApiClient } from "../shared/api.js";
import { CognitoSession } from "../shared/cognito.js";
import { answerChallenge, enrolButton } from "../shared/staff_sign_in.js";
import { versionVerdict } from "../shared/version.js";
import { Notifier, Ringer, TitleFlasher } from "./alerts.js";
import { CallControl, callInfo, colleaguesFrom, itemsOf, mergeInfo, reasonText } from "./calls.js";
import { announceReady, listenForDialRequests } from "./click_to_dial.js";
import { checkDial } from "./dialling.js";
import { findColleague, internalCaller, internalTarget } from "./internal_calls.js";
import { WrapUpCodes } from "./wrapup_codes.js";
import { FollowUps } from "./followups.js";
import { formatPhone, formatTime, initI18n, onLanguage, setUser, t, translatePage } from "../shared/i18n.js";
import { Phone } from "./phone.js";
import { OneTab } from "./one_tab.js";
import { Presence } from "./presence.js";
import { TranscriptFollower, drawTranscript } from "../shared/transcript.js";

const $ = (id) => document.getElementById(id);
const config = globalThis.CC_CONFIG;

// Labels and messages come from the catalogues (web/shared/i18n/*.json, softphone.*).
const STATES = ["offline", "available", "away", "break", "ringing", "on_call", "wrap_up"];
const STATE_LABELS = new Proxy({}, { get: (_, state) => (STATES.includes(state) ? t(`softphone.stateLabel.${state}`) : undefined) });
// A version reload happens at most this often, so a stale CDN cannot make the page loop.
const RELOAD_GUARD_MS = 60000;
const RELOAD_KEY = "cc.lastVersionReload";

const ui = {
  agentState: "offline",
  phoneStatus: "offline",
  online: true,
  versions: {},
  verdict: "ok",
  call: null, // {sdk, info, status: ringing|connecting|open, startedAt, muted, held, transfer}
  wrapUp: null, // {info, startedAt, endedAt}
  missed: null,
  notice: "",
};

let session;
let api;
let presence;
let phone;
let control;
let wrapUpCodes;
let oneTab;
let working = false; // signed in, holding the line in this tab
let pendingDial = ""; // a CRM request that came before the rep signed in
let lineElsewhere = false; // another tab of this rep holds the softphone
let phoneStarting = null;
let transcript; // the current call's live transcript (web/shared/transcript.js)
let liveTranscript = null; // its last lines, redrawn when the language changes
const ringer = new Ringer();
const flasher = new TitleFlasher();
const notifier = new Notifier();
let timerHandle = null;
let reloadHandle = null;

// ---------------------------------------------------------------- banners

const banners = new Map();

function setBanner(key, message, { tone = "warn", action = null } = {}) {
  if (!message) banners.delete(key);
  else banners.set(key, { message, tone, action });
  const box = $("banners");
  box.replaceChildren();
  for (const [name, banner] of banners) {
    const row = document.createElement("div");
    row.className = `banner banner-${banner.tone}`;
    row.dataset.banner = name;
    const text = document.createElement("span");
    text.textContent = banner.message;
    row.append(text);
    if (banner.action) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "btn btn-small";
      button.textContent = banner.action.label;
      button.addEventListener("click", banner.action.run);
      row.append(button);
    }
    box.append(row);
  }
}

function block(title, message) {
  $("blocked-title").textContent = title;
  $("blocked-message").textContent = message;
  $("blocked").hidden = false;
}

// ---------------------------------------------------------------- version handshake

function onVersions(versions) {
  ui.versions = { ...ui.versions, ...versions };
  const verdict = versionVerdict(config.clientVersion, ui.versions);
  if (verdict === ui.verdict) return;
  ui.verdict = verdict;
  if (verdict === "update") {
    setBanner("version", t("softphone.msg.newVersion", { version: ui.versions.latest }), {
      tone: "info",
      action: { label: t("softphone.reloadNow"), run: () => reloadForVersion(true) },
    });
    scheduleVersionReload();
  }
}

function onRefused(error) {
  ui.verdict = "refused";
  const body = error.body || {};
  const needs = body.min_client_version || ui.versions.min;
  // The server's message names both versions; say it ourselves only if it did not answer one.
  block(
    t("softphone.msg.outOfDate"),
    body.Message || t("softphone.msg.outOfDateDetail", { version: config.clientVersion, needs: needs || t("softphone.msg.newerOne") }),
  );
  scheduleVersionReload();
}

function idle() {
  return !ui.call && !ui.wrapUp;
}

// Away or break while the phone rings is a rep who cannot take this call: the server takes the
// state and rejects the offer, and the ringing stops here at once.
function canChoose(state) {
  return idle() || (ui.call?.status === "ringing" && state !== "available");
}

function scheduleVersionReload() {
  clearTimeout(reloadHandle);
  reloadHandle = setTimeout(() => {
    if (idle()) reloadForVersion(false);
    else scheduleVersionReload();
  }, idle() ? 1500 : 5000);
}

function reloadForVersion(force) {
  const last = Number(sessionStorage.getItem(RELOAD_KEY) || 0);
  if (!force && Date.now() - last < RELOAD_GUARD_MS) return;
  sessionStorage.setItem(RELOAD_KEY, String(Date.now()));
  location.reload();
}

// ---------------------------------------------------------------- reachability

// Any answer from the API means we are connected. Only the heartbeat (and the browser's own
// offline event) declares the connection lost: one failed request to a route that is down
// must not tell the agent their whole line is gone.
function onApiReachability(ok) {
  if (ok) setConnected(true);
}

function setConnected(ok) {
  if (ok === ui.online) return;
  ui.online = ok;
  setBanner(
    "network",
    ok ? "" : t("softphone.msg.connectionLost"),
    { tone: "error" },
  );
  document.body.classList.toggle("is-offline", !ok);
  if (ok) {
    setBanner("state", "");
    presence?.beatNow();
    phone?.reconnect();
  }
}

// ---------------------------------------------------------------- agent state

function showAgentState(state) {
  ui.agentState = state;
  renderState();
}

function renderState() {
  let shown = ui.agentState;
  if (ui.call) shown = ui.call.status === "ringing" ? "ringing" : "on_call";
  else if (ui.wrapUp) shown = "wrap_up";
  const box = $("state");
  box.dataset.state = shown;
  $("state-label").textContent = STATE_LABELS[shown] || shown;
  for (const button of document.querySelectorAll("[data-set-state]")) {
    button.setAttribute("aria-pressed", String(button.dataset.setState === ui.agentState));
    button.disabled = !canChoose(button.dataset.setState);
  }
  $("phone-status").dataset.status = ui.phoneStatus;
  $("phone-status").textContent = {
    ready: t("softphone.phone.ready"),
    connecting: t("softphone.phone.connecting"),
    offline: t("softphone.phone.offline"),
    error: t("softphone.phone.error"),
  }[ui.phoneStatus];
  const title = $("idle-title");
  const hint = $("idle-hint");
  if (ui.phoneStatus !== "ready") {
    title.textContent = t("softphone.idle.notConnected");
    hint.textContent = t("softphone.idle.notConnectedHint");
  } else if (ui.agentState === "available") {
    title.textContent = t("softphone.idle.title");
    hint.textContent = t("softphone.idle.hint");
  } else {
    title.textContent = t("softphone.idle.youAre", { state: STATE_LABELS[ui.agentState]?.toLowerCase() || ui.agentState });
    hint.textContent = t("softphone.idle.notOffered");
  }
  if (ui.missed) hint.textContent = t("softphone.idle.missed", { caller: ui.missed, hint: hint.textContent });
}

async function chooseState(state) {
  if (!canChoose(state) || !presence) return;
  const ringing = ui.call?.status === "ringing" ? ui.call : null;
  try {
    await presence.setState(state);
  } catch (error) {
    setBanner("state", t("softphone.msg.stateFailed", { error: error.message }), { tone: "error" });
    return;
  }
  setBanner("state", "");
  if (ringing && ui.call === ringing) reject();
}

// ---------------------------------------------------------------- phone line

function onPhoneStatus(status, detail) {
  ui.phoneStatus = status;
  setBanner("phone", status === "connecting" && detail ? t("softphone.phone.detail", { detail }) : "", { tone: "info" });
  renderState();
}

function onPhoneError(error, where) {
  if (error && error.kind === "refused") return; // the block screen says it all
  const text = error && error.message ? error.message : String(error);
  // While the connection is down its banner says it all; the line comes back with it.
  if (!ui.online || (where === "token" && error.kind === "network")) return;
  if (where === "device" && ui.call) {
    $("call-notice").textContent = t("softphone.msg.callProblem", { error: text });
    return;
  }
  setBanner("phone", t("softphone.msg.phoneProblem", { error: text }), { tone: "error" });
  if (where !== "device") {
    ui.phoneStatus = "error";
    renderState();
  }
}

// ---------------------------------------------------------------- views

function showView(name) {
  for (const id of ["idle-view", "incoming-view", "call-view", "wrapup-view"]) {
    $(id).hidden = id !== name;
  }
  renderState();
}

function displayName(info) {
  if (info.colleague) return info.colleague.name;
  return info.customerName || formatPhone(info.number) || t("softphone.unknownCaller");
}

function formatDuration(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

function formatWhen(ms) {
  // In the floor's time zone (config.timeZone, Asia/Tokyo), whatever the browser's.
  return formatTime(ms);
}

const OUTCOMES = ["answered", "abandoned_in_queue", "abandoned_while_ringing", "short_abandon", "voicemail", "callback", "outside_hours", "failed"];
const OUTCOME_LABELS = new Proxy({}, { get: (_, outcome) => (OUTCOMES.includes(outcome) ? t(`softphone.outcome.${outcome}`) : undefined) });

/** One conversation record (chalicelib/conversations/fold.py) as a line of history. */
function conversationLine(item) {
  const li = document.createElement("li");
  li.dataset.conversation = item.conversation_id || "";
  const head = document.createElement("div");
  head.className = "history-head";
  const talk = item.talk_ms ? formatDuration(item.talk_ms) : "";
  head.textContent = [
    formatWhen(item.started_ms),
    item.direction === "outbound" ? t("softphone.history.outbound") : t("softphone.history.inbound"),
    item.answered_by ? t("softphone.history.with", { agent: item.answered_by }) : "",
    talk,
    item.status === "active" ? t("softphone.history.inProgress") : OUTCOME_LABELS[item.outcome] || item.outcome || "",
  ]
    .filter(Boolean)
    .join(" · ");
  li.append(head);
  if (item.wrap_up_note) {
    const note = document.createElement("div");
    note.className = "history-note";
    note.textContent = item.wrap_up_note;
    li.append(note);
  }
  return li;
}

function renderHistory(list, items, emptyText) {
  list.replaceChildren();
  if (!items.length) {
    const li = document.createElement("li");
    li.className = "muted";
    li.textContent = emptyText;
    list.append(li);
    return;
  }
  for (const item of items) list.append(conversationLine(item));
}

function renderIncoming() {
  const { info } = ui.call;
  $("incoming-name").textContent = displayName(info);
  $("incoming-number").textContent = info.customerName ? info.number : "";
  $("incoming-reason").textContent = reasonText(info, session.username) || "—";
  $("incoming-owner").textContent = info.owner || "—";
  $("incoming-team").textContent = info.team || "—";
}

async function loadCustomerHistory(info) {
  const list = $("incoming-history");
  if (!info.customerId) {
    renderHistory(list, [], t("softphone.history.noCustomer"));
    renderHistory($("call-history"), [], t("softphone.history.noCustomer"));
    return;
  }
  renderHistory(list, [], t("common.loading"));
  try {
    // One more than shown: the call ringing now has a record too, and is not history.
    const body = await control.history(info.customerId, 6);
    if (ui.call && ui.call.info.customerId === info.customerId) {
      const current = ui.call.info.customerCallSid;
      const earlier = itemsOf(body)
        .filter((item) => !current || item.conversation_id !== current)
        .slice(0, 5);
      renderHistory(list, earlier, t("softphone.history.none"));
      renderHistory($("call-history"), earlier, t("softphone.history.none"));
    }
  } catch (error) {
    renderHistory(list, [], t("softphone.history.failed", { error: error.message }));
  }
}

function renderCall() {
  const call = ui.call;
  if (!call) return;
  const { info } = call;
  $("call-name").textContent = displayName(info);
  $("call-number").textContent = info.customerName ? info.number : "";
  $("call-reason").textContent = [
    reasonText(info, session.username),
    info.owner && info.stage !== "owner" ? t("softphone.call.owner", { owner: info.owner }) : "",
    info.team ? t("softphone.call.team", { team: info.team }) : "",
  ]
    .filter(Boolean)
    .join(" · ");
  let label = info.direction === "outbound" ? t("softphone.call.outbound") : t("softphone.call.onCall");
  if (info.colleague) label = t("softphone.call.internal");
  if (call.status === "connecting") label = t("softphone.call.calling");
  if (call.held) label = t("softphone.call.held");
  if (call.transfer && call.transfer.mode === "warm") label = t("softphone.call.warmHeld");
  $("call-label").textContent = label;
  const conversation = info.conversationId || info.customerCallSid;
  if (transcript && call.status === "open" && conversation) transcript.follow(conversation);
  $("call-view").dataset.held = String(Boolean(call.held));
  $("mute").setAttribute("aria-pressed", String(call.muted));
  $("mute").firstChild.textContent = call.muted ? t("softphone.call.unmute") : t("softphone.call.mute");
  $("hold").setAttribute("aria-pressed", String(call.held));
  $("hold").firstChild.textContent = call.held ? t("softphone.call.resume") : t("softphone.call.hold");
  const open = call.status === "open";
  const conference = Boolean(info.conferenceSid);
  for (const id of ["keypad-toggle", "mute"]) $(id).disabled = !open;
  // Hold and transfer act on the conference; an outbound call is a direct dial without one.
  for (const id of ["hold", "transfer-toggle"]) $(id).disabled = !open || !conference || Boolean(call.busy);
  $("hold").title = conference || !open ? "" : t("softphone.call.needsConference");
  $("transfer-start").disabled = Boolean(call.busy);
  const warm = call.transfer && call.transfer.mode === "warm";
  $("warm-transfer").hidden = !warm;
  if (warm) $("warm-status").textContent = t("softphone.transfer.talking", { target: call.transfer.target });
  for (const id of ["warm-complete", "warm-cancel"]) $(id).disabled = Boolean(call.busy);
  $("warm-cancel").hidden = !(warm && call.transfer.taskSid);
  $("call-timer").textContent = call.startedAt ? formatDuration(Date.now() - call.startedAt) : "0:00";
}

function startTimer() {
  clearInterval(timerHandle);
  timerHandle = setInterval(() => {
    if (ui.call && ui.call.startedAt) $("call-timer").textContent = formatDuration(Date.now() - ui.call.startedAt);
  }, 1000);
}

// A supervisor listening, whispering or joined (POST /supervisor/calls/{id}/monitor): the page
// asks GET /conversations/{id}/monitoring every 3 s while a call is open.
const SUPERVISION_MODES = ["listen", "whisper", "barge"];
let supervisionHandle = null;
let supervising = []; // the last answer, redrawn when the language changes

function showSupervision(supervisors) {
  supervising = supervisors;
  const line = $("call-supervisor");
  const mode = (s) => (SUPERVISION_MODES.includes(s.mode) ? s.mode : "listen");
  const text = supervisors.map((s) => t(`softphone.supervision.${mode(s)}`, { who: s.agent_id })).join(" ");
  line.textContent = text;
  line.hidden = !text;
}

function watchSupervision() {
  clearInterval(supervisionHandle);
  showSupervision([]);
  const ask = async () => {
    const sid = ui.call && ui.call.status === "open" && ui.call.info.customerCallSid;
    if (!sid) return;
    try {
      const state = await api.get(`/conversations/${encodeURIComponent(sid)}/monitoring`);
      if (ui.call && ui.call.info.customerCallSid === sid) showSupervision(state.supervisors || []);
    } catch (error) {
      console.warn("supervision poll failed", error);
    }
  };
  supervisionHandle = setInterval(ask, 3000);
  ask();
}

// ---------------------------------------------------------------- incoming

function stopAlerting() {
  ringer.stop();
  flasher.stop();
  notifier.close();
  document.body.classList.remove("is-ringing");
}

async function onIncoming(sdkCall) {
  if (ui.call || ui.wrapUp) {
    // Busy (TaskRouter should not offer this, but a race is possible): let it go elsewhere.
    sdkCall.reject();
    return;
  }
  const caller = internalCaller(sdkCall);
  const info = caller ? internalInfo(callInfo(sdkCall), caller) : callInfo(sdkCall);
  ui.call = { sdk: sdkCall, info, status: "ringing", startedAt: 0, muted: false, held: false, transfer: null };
  ui.missed = null;
  bindCallEvents(sdkCall);
  renderIncoming();
  renderHistory($("incoming-history"), [], t("softphone.history.lookingUp"));
  renderHistory($("call-history"), [], t("softphone.history.lookingUp"));
  showView("incoming-view");
  document.body.classList.add("is-ringing");
  ringer.start();
  flasher.start(t("softphone.notify.flash", { who: displayName(info) }));
  notifier.show(t("softphone.incoming.label"), incomingSummary(info), () => $("accept").focus());
  $("accept").focus();
  if (caller) {
    await learnColleague(sdkCall);
    return;
  }
  // The SDK only knows the number: the customer, owner, team and why come from the task
  // TaskRouter reserved for us (GET /agents/me/call -> offer).
  await learnOffer(sdkCall, 3);
  if (ui.call && ui.call.sdk === sdkCall) loadCustomerHistory(ui.call.info);
}

/** A colleague's call (no customer, no offer): shown by the colleague's name once known. */
function internalInfo(info, agentId, name = "") {
  return { ...info, number: "", internal: true, colleague: { id: agentId, name: name || agentId } };
}

/** The ringing colleague's name, from the colleagues list the transfer panel reads too. */
async function learnColleague(sdkCall) {
  renderHistory($("incoming-history"), [], t("softphone.history.noCustomer"));
  renderHistory($("call-history"), [], t("softphone.history.noCustomer"));
  try {
    await loadColleagues();
  } catch {
    return; // the id is shown instead
  }
  const info = ui.call?.sdk === sdkCall ? ui.call.info : null;
  const found = info && colleagues.agents.find((a) => a.id === info.colleague.id);
  if (!found) return;
  ui.call.info = { ...info, colleague: { id: found.id, name: found.name } };
  if (ui.call.status === "ringing") {
    renderIncoming();
    flasher.start(t("softphone.notify.flash", { who: displayName(ui.call.info) }));
    notifier.show(t("softphone.incoming.label"), incomingSummary(ui.call.info), () => $("accept").focus());
  } else {
    renderCall();
  }
}

/** The notification's text: who is calling (name and number) and why it came to us. */
function incomingSummary(info) {
  const who = info.customerName && info.number ? `${info.customerName} (${info.number})` : displayName(info);
  const reason = reasonText(info, session.username);
  return reason ? `${who} — ${reason}` : who;
}

/** The offer is what rings us if it is for the same caller (a voice worker has one at a time). */
function sameCaller(info, offer) {
  const digits = (text) => String(text || "").replace(/\D/g, "");
  return !offer.caller || !info.number || digits(offer.caller) === digits(info.number);
}

/**
 * While the phone rings, ask the server for the reservation ringing us and fill the panel
 * (and the notification) with the customer. The reservation exists before Twilio rings the
 * browser, so one ask normally does; a failed one is retried briefly.
 */
async function learnOffer(sdkCall, attempts) {
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    if (attempt) await new Promise((resolve) => setTimeout(resolve, 400 * attempt));
    if (!ui.call || ui.call.sdk !== sdkCall || ui.call.status !== "ringing") return;
    let known;
    try {
      known = await control.lookup();
    } catch (error) {
      if (error.kind === "refused" || error.kind === "unauthorized") return;
      continue;
    }
    if (!ui.call || ui.call.sdk !== sdkCall) return;
    const offer = known.offer || known.call;
    if (offer && sameCaller(ui.call.info, offer)) {
      ui.call.info = mergeInfo(ui.call.info, offer);
      if (ui.call.status === "ringing") {
        renderIncoming();
        flasher.start(t("softphone.notify.flash", { who: displayName(ui.call.info) }));
        notifier.show(t("softphone.incoming.label"), incomingSummary(ui.call.info), () => $("accept").focus());
      }
      return;
    }
  }
}

/**
 * Ask the server which conference call the agent holds (customer, owner, team, stage, and the
 * conference sid hold and transfer act on). TaskRouter writes the conference into the task a
 * moment after the agent answers, so after `accept` this retries a few times.
 */
async function learnFromServer(sdkCall, attempts) {
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    if (attempt) await new Promise((resolve) => setTimeout(resolve, 500 * 2 ** (attempt - 1)));
    if (!ui.call || ui.call.sdk !== sdkCall) return;
    let known = null;
    try {
      known = await control.current();
    } catch (error) {
      if (error.kind === "refused" || error.kind === "unauthorized") return;
      continue;
    }
    if (!ui.call || ui.call.sdk !== sdkCall) return;
    if (known) {
      const before = ui.call.info.customerId;
      ui.call.info = mergeInfo(ui.call.info, known);
      if (ui.call.status === "ringing") renderIncoming();
      else renderCall();
      if (ui.call.info.customerId !== before) loadCustomerHistory(ui.call.info);
      if (ui.call.info.conferenceSid && ui.call.status === "open") {
        await takeOverColdTransfer(ui.call);
        return;
      }
    }
  }
}

/**
 * A cold transfer reaches us with the customer on hold (the colleague has already left): take
 * them off hold as soon as we are connected. A warm one is handed over by the colleague, who
 * takes the customer off hold when they leave.
 */
async function takeOverColdTransfer(call) {
  if (call.info.transferMode !== "cold" || call.tookOver) return;
  call.tookOver = true;
  call.held = true;
  renderCall();
  const ok = await serverAction(async (c) => {
    await control.hold(c.info.conferenceSid, false);
    c.held = false;
  });
  if (!ok) $("call-notice").textContent = t("softphone.call.stillHeld");
}

function bindCallEvents(sdkCall) {
  const mine = () => ui.call && ui.call.sdk === sdkCall;
  sdkCall.on("accept", () => {
    if (!mine()) return;
    stopAlerting();
    ui.call.status = "open";
    ui.call.startedAt = Date.now();
    $("call-notice").textContent = "";
    showView("call-view");
    renderCall();
    startTimer();
    watchSupervision();
    $("hangup").focus();
    if (ui.call.info.conferenceSid) takeOverColdTransfer(ui.call);
    else if (ui.call.info.direction === "inbound" && !ui.call.info.internal) learnFromServer(sdkCall, 6);
  });
  sdkCall.on("ringing", () => {
    if (mine() && ui.call.info.direction === "outbound") $("call-label").textContent = t("softphone.call.ringing");
  });
  sdkCall.on("mute", (muted) => {
    if (!mine()) return;
    ui.call.muted = Boolean(muted);
    renderCall();
  });
  sdkCall.on("reconnecting", () => {
    if (mine()) $("call-notice").textContent = t("softphone.call.audioLost");
  });
  sdkCall.on("reconnected", () => {
    if (mine()) $("call-notice").textContent = "";
  });
  sdkCall.on("cancel", () => {
    if (!mine()) return;
    // The caller hung up, or another agent took it, before we answered.
    ui.missed = displayName(ui.call.info);
    endCall({ wrapUp: false });
  });
  sdkCall.on("reject", () => {
    if (mine()) endCall({ wrapUp: false });
  });
  sdkCall.on("disconnect", () => {
    if (!mine()) return;
    endCall({ wrapUp: ui.call.status === "open" });
  });
  sdkCall.on("error", (error) => {
    if (!mine()) return;
    $("call-notice").textContent = t("softphone.msg.callProblem", { error: error.message || error });
    if (ui.call.status !== "open") endCall({ wrapUp: false });
  });
}

function endCall({ wrapUp }) {
  const call = ui.call;
  stopAlerting();
  if (transcript) transcript.stop();
  liveTranscript = null;
  $("transcript-lines").replaceChildren();
  $("transcript-empty").hidden = false;
  clearInterval(timerHandle);
  clearInterval(supervisionHandle);
  showSupervision([]);
  ui.call = null;
  if (wrapUp && call) {
    // An outbound call's own CallSid (its conversation's id) is only known once Twilio has
    // answered the SDK: `call.parameters` (twilio.com/docs/voice/sdks/javascript/twiliocall).
    const info = { ...call.info, callSid: call.info.callSid || call.sdk?.parameters?.CallSid || "" };
    ui.wrapUp = { info, startedAt: call.startedAt, endedAt: Date.now(), transferred: Boolean(call.transferred) };
    $("wrapup-name").textContent = displayName(call.info);
    const talked = formatDuration(ui.wrapUp.endedAt - call.startedAt);
    const direction = info.internal ? "internal" : info.direction === "outbound" ? "outbound" : "inbound";
    $("wrapup-summary").textContent = t(call.transferred ? "softphone.wrapUp.summaryTransferred" : "softphone.wrapUp.summary", { direction: t(`softphone.wrapUp.${direction}`), talked });
    $("wrapup-note").value = "";
    $("wrapup-error").textContent = "";
    // The colleague who was called does not know the conversation (the caller's leg names it):
    // their wrap-up only ends the call; the caller notes it and gives it a code.
    const noted = !calleeOfInternal(info);
    $("wrapup-note").hidden = !noted;
    document.querySelector("label[for=wrapup-note]").hidden = !noted;
    if (!noted) $("wrapup-summary").textContent += ` ${t("softphone.wrapUp.internalCallee")}`;
    if (noted) wrapUpCodes.show($("wrapup-codes"));
    else $("wrapup-codes").hidden = true;
    showView("wrapup-view");
    (noted ? $("wrapup-note") : $("wrapup-done")).focus();
  } else {
    showView("idle-view");
  }
  hidePanels();
  refreshRecent();
}

function calleeOfInternal(info) {
  return Boolean(info.internal && info.direction === "inbound");
}

function accept() {
  if (ui.call && ui.call.status === "ringing") {
    ui.call.sdk.accept();
  }
}

function reject() {
  if (ui.call && ui.call.status === "ringing") {
    ui.call.sdk.reject();
    endCall({ wrapUp: false });
  }
}

// ---------------------------------------------------------------- in-call controls

function toggleMute() {
  if (!ui.call || ui.call.status !== "open") return;
  ui.call.sdk.mute(!ui.call.sdk.isMuted());
}

async function serverAction(run, errorBox) {
  const call = ui.call;
  if (!call || call.busy) return false;
  call.busy = true;
  renderCall();
  try {
    await run(call);
    if (errorBox) $(errorBox).textContent = "";
    $("call-notice").textContent = "";
    return true;
  } catch (error) {
    const text = error.kind === "network" ? t("softphone.msg.noConnection") : error.message;
    if (errorBox) $(errorBox).textContent = text;
    else $("call-notice").textContent = text;
    return false;
  } finally {
    call.busy = false;
    if (ui.call === call) renderCall();
  }
}

async function toggleHold() {
  if (!ui.call || ui.call.status !== "open" || ui.call.transfer || !ui.call.info.conferenceSid) return;
  const want = !ui.call.held;
  await serverAction(async (call) => {
    await control.hold(call.info.conferenceSid, want);
    call.held = want;
  });
}

function hidePanels() {
  $("keypad").hidden = true;
  $("transfer").hidden = true;
  $("keypad-toggle").setAttribute("aria-expanded", "false");
  $("transfer-toggle").setAttribute("aria-expanded", "false");
}

function toggleKeypad() {
  if (!ui.call || ui.call.status !== "open") return;
  const show = $("keypad").hidden;
  hidePanels();
  $("keypad").hidden = !show;
  $("keypad-toggle").setAttribute("aria-expanded", String(show));
  if (show) $("keypad").querySelector("button").focus();
}

function sendDigit(digit) {
  if (!ui.call || ui.call.status !== "open") return;
  ui.call.sdk.sendDigits(digit);
  $("keypad-sent").textContent = ($("keypad-sent").textContent + digit).slice(-24);
}

async function toggleTransfer() {
  if (!ui.call || ui.call.status !== "open" || ui.call.transfer || !ui.call.info.conferenceSid) return;
  const show = $("transfer").hidden;
  hidePanels();
  $("transfer").hidden = !show;
  $("transfer-toggle").setAttribute("aria-expanded", String(show));
  if (show) {
    await fillTransferTargets();
    $("transfer-target").focus();
  }
}

let colleagues = { agents: [], teams: [] };

async function loadColleagues() {
  const found = colleaguesFrom(await control.colleagues());
  colleagues = { agents: found.agents.filter((a) => a.id !== session.username), teams: found.teams };
}

async function fillTransferTargets() {
  const select = $("transfer-target");
  try {
    await loadColleagues();
    $("transfer-error").textContent = "";
  } catch (error) {
    $("transfer-error").textContent = t("softphone.transfer.colleaguesFailed", { error: error.message });
  }
  const kind = document.querySelector("input[name=target-kind]:checked").value;
  const chosen = select.value;
  select.replaceChildren();
  const options =
    kind === "team"
      ? colleagues.teams.map((team) => [team, team])
      : colleagues.agents
          .slice()
          .sort((a, b) => (a.state === "available" ? 0 : 1) - (b.state === "available" ? 0 : 1) || a.name.localeCompare(b.name))
          .map((a) => [a.id, `${a.name}${a.team ? ` (${a.team})` : ""}${a.state ? ` — ${STATE_LABELS[a.state] || a.state}` : ""}`]);
  for (const [value, text] of options) {
    const option = document.createElement("option");
    option.value = value;
    option.textContent = text;
    select.append(option);
  }
  // A refresh (the list is reloaded each time) keeps what the agent already picked.
  if (options.some(([value]) => value === chosen)) select.value = chosen;
}

async function startTransfer(event) {
  event.preventDefault();
  const target = $("transfer-target").value;
  if (!target) {
    $("transfer-error").textContent = t("softphone.transfer.choose");
    return;
  }
  const kind = document.querySelector("input[name=target-kind]:checked").value;
  const mode = document.querySelector("input[name=transfer-mode]:checked").value;
  const label = $("transfer-target").selectedOptions[0]?.textContent.split(" — ")[0] || target;
  const ok = await serverAction(async (call) => {
    const answer = await control.transfer(call.info.conferenceSid, { kind, target, mode });
    if (mode === "warm") {
      call.transfer = { kind, target: label, mode, taskSid: (answer && answer.transfer_task_sid) || "" };
      call.held = true;
    } else {
      call.transferred = true;
      $("call-notice").textContent = t("softphone.transfer.handedOver", { target: label });
    }
  }, "transfer-error");
  if (ok) {
    hidePanels();
    // Cold: the server has taken us out of the conference; end our leg if Twilio has not yet.
    if (mode === "cold" && ui.call) ui.call.sdk.disconnect();
  }
}

/** Call the warm transfer off: the colleague is no longer offered the call; the customer is back. */
async function cancelWarmTransfer() {
  if (!ui.call || !ui.call.transfer || ui.call.transfer.mode !== "warm") return;
  const { target, taskSid } = ui.call.transfer;
  const ok = await serverAction(async (call) => {
    await control.cancelTransfer(call.info.conferenceSid, taskSid);
    call.transfer = null;
    call.held = false;
  });
  if (ok && ui.call) $("call-notice").textContent = t("softphone.transfer.canceled", { target });
}

async function completeWarmTransfer() {
  const ok = await serverAction((call) => control.completeTransfer(call.info.conferenceSid));
  if (ok && ui.call) {
    ui.call.transferred = true;
    ui.call.sdk.disconnect();
  }
}

async function hangUp() {
  if (!ui.call) return;
  if (ui.call.status === "ringing") {
    reject();
    return;
  }
  const call = ui.call;
  // The agent leaving a conference does not end it (end_conference_on_exit is false, so a
  // transfer can go on without them): ending the call for the customer is the server's job.
  if (call.info.conferenceSid && !call.transfer) {
    const ok = await serverAction((c) => control.hangUp(c.info.conferenceSid));
    if (!ok) return;
  }
  if (ui.call === call) call.sdk.disconnect();
}

// ---------------------------------------------------------------- outbound

export function normaliseNumber(text) {
  const trimmed = String(text || "").trim();
  const digits = trimmed.replace(/[\s\-().]/g, "");
  return /^\+?\d{3,15}$/.test(digits) ? digits : "";
}

async function dial(event) {
  event.preventDefault();
  if (!idle()) return;
  const number = normaliseNumber($("dial-number").value);
  if (!number) {
    $("dial-error").textContent = t("softphone.dial.invalid");
    return;
  }
  if (ui.phoneStatus !== "ready") {
    $("dial-error").textContent = t("softphone.dial.notConnected");
    return;
  }
  $("dial-error").textContent = "";
  let sdkCall;
  try {
    const verdict = await checkDial(api, number);
    if (verdict && !verdict.allowed) {
      $("dial-error").textContent = verdict.message || t("softphone.dial.refused");
      return;
    }
    sdkCall = await phone.connect(number);
  } catch (error) {
    $("dial-error").textContent = t("softphone.dial.failed", { error: error.message || error });
    return;
  }
  placed(sdkCall, { ...callInfo(sdkCall), direction: "outbound", number });
}

/** Fill the colleague suggestions (agent id, with name and team as the label) when asked. */
async function fillColleagueOptions() {
  try {
    await loadColleagues();
  } catch (error) {
    $("colleague-error").textContent = t("softphone.transfer.colleaguesFailed", { error: error.message });
    return;
  }
  const list = $("colleague-options");
  list.replaceChildren();
  for (const agent of colleagues.agents.slice().sort((a, b) => a.name.localeCompare(b.name))) {
    const option = document.createElement("option");
    option.value = agent.id;
    const state = agent.state ? ` — ${STATE_LABELS[agent.state] || agent.state}` : "";
    option.label = `${agent.name}${agent.team ? ` (${agent.team})` : ""}${state}`;
    list.append(option);
  }
}

/**
 * Call a colleague (by agent id or name): `To=agent:<id>` through the TwiML App. No dial check:
 * the guard rails are for customers' numbers; a busy colleague is refused by the server, aloud.
 */
async function dialColleague(event) {
  event.preventDefault();
  if (!idle()) return;
  const text = $("colleague-name").value.trim();
  if (ui.phoneStatus !== "ready") {
    $("colleague-error").textContent = t("softphone.dial.notConnected");
    return;
  }
  try {
    await loadColleagues();
  } catch (error) {
    $("colleague-error").textContent = t("softphone.transfer.colleaguesFailed", { error: error.message });
    return;
  }
  const colleague = findColleague(colleagues.agents, text);
  if (!colleague) {
    $("colleague-error").textContent = t("softphone.colleague.notFound", { name: text });
    return;
  }
  $("colleague-error").textContent = "";
  let sdkCall;
  try {
    sdkCall = await phone.connect(internalTarget(colleague.id));
  } catch (error) {
    $("colleague-error").textContent = t("softphone.dial.failed", { error: error.message || error });
    return;
  }
  placed(sdkCall, internalInfo({ ...callInfo(sdkCall), direction: "outbound" }, colleague.id, colleague.name));
  $("colleague-name").value = "";
}

/** The call just placed (to a number or a colleague), on screen while it connects. */
function placed(sdkCall, info) {
  ui.call = { sdk: sdkCall, info, status: "connecting", startedAt: 0, muted: false, held: false, transfer: null };
  bindCallEvents(sdkCall);
  renderHistory($("call-history"), [], t("softphone.history.outboundNone"));
  showView("call-view");
  renderCall();
  $("dial-number").value = "";
  history.replaceState(null, "", location.pathname);
}

// ---------------------------------------------------------------- wrap-up

async function finishWrapUp(event) {
  event.preventDefault();
  if (!ui.wrapUp) return;
  const note = $("wrapup-note").value.trim();
  const { info } = ui.wrapUp;
  const noted = !calleeOfInternal(info);
  const code = noted ? wrapUpCodes.chosen($("wrapup-codes")) : null;
  if (code === "") {
    $("wrapup-error").textContent = t("softphone.wrapUp.chooseCode");
    return;
  }
  const button = $("wrapup-done");
  button.disabled = true;
  try {
    // A conversation is known by the customer's call (inbound) or our own leg (outbound).
    const conversation = noted ? info.conversationId || info.customerCallSid || info.callSid : "";
    if (code && conversation && ui.wrapUp.codeSaved !== code) {
      try {
        await wrapUpCodes.save(conversation, code);
        ui.wrapUp.codeSaved = code;
      } catch (error) {
        // The call's record never appeared (its callbacks are lost or late): the rep is not
        // held in wrap-up for it, but is told the code was not kept.
        if (error.status !== 404) throw error;
        setBanner("wrapup-code", t("softphone.wrapUp.codeNotSaved", { code }));
      }
    }
    if (note && conversation && ui.wrapUp.noteSaved !== note) {
      await control.saveNote(conversation, note);
      ui.wrapUp.noteSaved = note;
    }
    await becomeAvailableAfterCall();
  } catch (error) {
    $("wrapup-error").textContent = t("softphone.wrapUp.notSaved", { error: error.message });
    return;
  } finally {
    button.disabled = false;
  }
  ui.wrapUp = null;
  showView("idle-view");
  refreshRecent();
}

/**
 * The server learns that the call ended from TaskRouter, which can be a moment behind the
 * browser: until then it refuses "available" while "on_call" (409). Try again briefly.
 */
async function becomeAvailableAfterCall(attempts = 5) {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await presence.setState("available");
      return;
    } catch (error) {
      if (error.status !== 409 || attempt >= attempts) throw error;
      $("wrapup-error").textContent = t("softphone.wrapUp.waiting");
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

// ---------------------------------------------------------------- recent calls

const RECENT_DAYS = 7;
const RECENT_PAGE = 10;
// The page of recent calls shown: from when (fixed while paging) and where the next page starts.
const recent = { from: 0, cursor: null };

async function refreshRecent({ more = false } = {}) {
  if (!control) return;
  if (more && !recent.cursor) return;
  if (!more) recent.from = Date.now() - RECENT_DAYS * 86400000;
  $("recent-more").disabled = true;
  try {
    const body = await control.recent({ limit: RECENT_PAGE, from: recent.from, cursor: more ? recent.cursor : "" });
    recent.cursor = (body && body.next_cursor) || null;
    renderRecent(itemsOf(body), { append: more });
  } catch (error) {
    if (error.kind !== "refused") {
      const why = error.kind === "network" ? t("common.noAnswer") : error.message;
      if (more) $("recent-more").title = t("softphone.recent.moreFailed", { why });
      else renderHistory($("recent-list"), [], t("softphone.recent.failed", { why }));
    }
  } finally {
    $("recent-more").hidden = !recent.cursor;
    $("recent-more").disabled = false;
  }
}

function renderRecent(items, { append = false } = {}) {
  const list = $("recent-list");
  if (!append) list.replaceChildren();
  if (!items.length) {
    if (append) return;
    const li = document.createElement("li");
    li.className = "muted";
    li.textContent = t("softphone.recent.none", { days: RECENT_DAYS });
    list.append(li);
    return;
  }
  for (const item of items) {
    const li = conversationLine(item);
    const who = document.createElement("div");
    who.className = "recent-who";
    who.textContent = item.customer_name || formatPhone(item.caller) || t("softphone.unknownCaller");
    li.prepend(who);
    const number = item.caller;
    if (number && /^\+?\d+$/.test(number)) {
      const redial = document.createElement("button");
      redial.type = "button";
      redial.className = "btn btn-quiet btn-small";
      redial.textContent = t("softphone.callBack");
      redial.addEventListener("click", () => {
        $("dial-number").value = number;
        $("dial-number").focus();
      });
      li.append(redial);
    }
    list.append(li);
  }
}

// ---------------------------------------------------------------- follow-ups (issue 18)

let followUps = null;

function startFollowUps() {
  followUps = new FollowUps(api, {
    list: $("followups-list"),
    count: $("followups-count"),
    when: formatWhen,
    // The normal outbound path: the dial form, as a `/?call=` link fills it.
    callBack: (number) => {
      $("dial-number").value = number;
      $("dial-form").requestSubmit();
    },
  });
  followUps.refresh();
}

// ---------------------------------------------------------------- keyboard

function typing(target) {
  return target instanceof HTMLElement && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
}

function onKey(event) {
  if (!$("blocked").hidden || $("app").hidden) return;
  const key = event.key;
  const lower = key.length === 1 ? key.toLowerCase() : key;
  if (event.altKey && !event.ctrlKey && !event.metaKey) {
    const code = event.code;
    const actions = {
      Digit1: () => chooseState("available"),
      Digit2: () => chooseState("away"),
      Digit3: () => chooseState("break"),
      KeyA: accept,
      KeyD: reject,
      KeyM: toggleMute,
      KeyH: toggleHold,
      KeyK: toggleKeypad,
      KeyT: toggleTransfer,
      KeyX: hangUp,
    };
    if (actions[code]) {
      event.preventDefault();
      actions[code]();
    }
    return;
  }
  if (ui.call && ui.call.status === "ringing" && !typing(event.target)) {
    if (key === "Enter" || lower === "a") {
      event.preventDefault();
      accept();
    } else if (key === "Escape" || lower === "d") {
      event.preventDefault();
      reject();
    }
    return;
  }
  if (ui.call && ui.call.status === "open" && !$("keypad").hidden && !typing(event.target) && /^[0-9*#]$/.test(key)) {
    event.preventDefault();
    sendDigit(key);
    return;
  }
  if (ui.wrapUp && key === "Enter" && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    $("wrapup-view").requestSubmit();
  }
}

// ---------------------------------------------------------------- sign-in and start

async function signIn(event) {
  event.preventDefault();
  // A click is the gesture browsers need before they let us ring or notify.
  ringer.unlock();
  notifier.request();
  const button = $("signin-submit");
  button.disabled = true;
  $("signin-error").textContent = "";
  try {
    const username = $("signin-user").value.trim();
    const challenge = await session.signIn(username, $("signin-password").value);
    // TOTP MFA enrolled: the code from the app (web/shared/staff_sign_in.js).
    if (challenge) await answerChallenge(session, challenge, username);
    $("signin-password").value = "";
    await startWorking();
  } catch (error) {
    $("signin-error").textContent = error.message;
    if (session.signedIn && error.kind !== "refused") session.signOut();
  } finally {
    button.disabled = false;
  }
}

async function startWorking() {
  $("signin").hidden = true;
  $("app").hidden = false;
  $("agent-name").textContent = session.username;
  await setUser(session.username);
  // One softphone per rep: before this tab registers a Device or opens a presence session.
  oneTab = new OneTab(session.username, { isBusy: () => !idle(), release: releaseToOtherTab });
  if ((await oneTab.claim()) === "busy") {
    lineElsewhere = true;
    block(t("softphone.oneTab.busyTitle"), t("softphone.oneTab.busyBody"));
    return;
  }
  presence = new Presence(api, {
    onState: showAgentState,
    onHeartbeat: (ok, error) => {
      if (ok && banners.has("auth")) setBanner("auth", "");
      if (ok || !error) return;
      if (error.kind === "unauthorized") sessionLost();
      else if (error.kind === "network") setConnected(false);
      else if (error.kind === "unavailable") {
        // 503: the server cannot check sign-ins (or reach its store) for a moment. Transient:
        // the heartbeat retries; nothing is signed out or hung up.
        setBanner("auth", t("softphone.msg.serverBusy"), { tone: "info" });
      }
      // The server has no session for us (it ended it, or opening it failed): open it again,
      // or the phone looks ready while no call is ever offered.
      else if (error.status === 409) startPresence();
    },
  });
  await startPresence();
  phone = new Phone(api, { edge: config.edge || "tokyo" }, {
    onStatus: onPhoneStatus,
    onIncoming,
    onError: onPhoneError,
  });
  phoneStarting = phone.start().catch((error) => onPhoneError(error, "start"));
  refreshRecent();
  startFollowUps();
  if (!ringer.canPlay) {
    setBanner("sound", t("softphone.msg.sound"), { tone: "info" });
    document.addEventListener(
      "pointerdown",
      () => {
        ringer.unlock();
        setBanner("sound", "");
      },
      { once: true },
    );
  }
  working = true;
  readyToDial(pendingDial || new URLSearchParams(location.search).get("call"));
  pendingDial = "";
  announceReady(config.crmOrigins);
}

/**
 * A number from the CRM (`?call=` or a postMessage) in the dialler, one keypress from calling;
 * never dialled by itself. Returns the number as it will be dialled ("" if it is not one).
 */
function readyToDial(raw) {
  const wanted = normaliseNumber(raw);
  if (!wanted || lineElsewhere) return "";
  if (!working) {
    pendingDial = wanted; // signed out yet: shown once the rep is in
    return wanted;
  }
  if (!idle()) {
    setBanner("dial", t("softphone.msg.finishThenCall", { number: formatPhone(wanted) }), { tone: "info" });
    return wanted;
  }
  $("dial-number").value = wanted;
  $("dial-number").focus();
  setBanner("dial", t("softphone.msg.readyToCall", { number: formatPhone(wanted) }), { tone: "info" });
  return wanted;
}

/** Another tab of this rep took the softphone over: this one lets go of its line and session. */
async function releaseToOtherTab() {
  working = false;
  lineElsewhere = true;
  if (presence) {
    presence.running = false;
    clearTimeout(presence.timer);
  }
  await phoneStarting; // a Device still registering is destroyed too, not left behind
  await phone?.stop();
  block(t("softphone.oneTab.movedTitle"), t("softphone.oneTab.movedBody"));
}

/** Open the presence session; while the network is down, keep trying every few seconds. */
async function startPresence() {
  try {
    await presence.start();
    setBanner("state", "");
  } catch (error) {
    if (error.kind === "unauthorized") {
      sessionLost();
    } else if (error.kind === "network") {
      setConnected(false);
      setTimeout(() => session.signedIn && !lineElsewhere && startPresence(), 5000);
    } else if (error.status >= 500) {
      // The server is briefly unable (503 with Retry-After): keep trying, say so meanwhile.
      setBanner("state", t("softphone.msg.signingIn"), { tone: "info" });
      setTimeout(() => session.signedIn && !lineElsewhere && startPresence(), 5000);
    } else if (error.kind !== "refused") {
      setBanner("state", t("softphone.msg.signInFailed", { error: error.message }), { tone: "error" });
    }
  }
}

/**
 * The API refused the token even after renewing it and retrying (api.js). A live call is never
 * dropped for it: the Device stays up until the call and its wrap-up are over, and the heartbeat
 * keeps trying meanwhile. If Cognito could not be reached to renew it (the session is still
 * held), it is a connection problem, not an expiry: keep going.
 */
function sessionLost() {
  if (session.signedIn) {
    setBanner("auth", t("softphone.msg.renewing"), { tone: "info" });
    return;
  }
  if (!idle()) {
    setBanner("auth", t("softphone.msg.expiredOnCall"), { tone: "error" });
    return;
  }
  expireSession();
}

function expireSession() {
  if (presence) presence.running = false;
  phone?.stop();
  session.signOut();
  showSignIn(t("softphone.msg.expired"));
}

async function signOut() {
  if (!idle()) return;
  try {
    await presence?.stop();
  } catch {
    // the server ends the session by itself when heartbeats stop
  }
  await phone?.stop();
  session.signOut();
  location.reload();
}

function showSignIn(message = "") {
  $("app").hidden = true;
  $("signin").hidden = false;
  $("signin-error").textContent = message;
  $("signin-user").focus();
}

function buildKeypad() {
  const keys = $("keypad").querySelector(".keys");
  for (const digit of "123456789*0#") {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "btn key";
    button.textContent = digit;
    button.dataset.digit = digit;
    button.addEventListener("click", () => sendDigit(digit));
    keys.append(button);
  }
}

function wire() {
  $("signin-form").addEventListener("submit", signIn);
  $("signout").addEventListener("click", signOut);
  // Any rep may enrol TOTP MFA for their account (supervisors must: the API refuses them without).
  const enrol = enrolButton(session, (message) => setBanner("mfa", message, { tone: "info" }));
  enrol.className = "btn btn-quiet";
  $("signout").before(enrol);
  for (const button of document.querySelectorAll("[data-set-state]")) {
    button.addEventListener("click", () => chooseState(button.dataset.setState));
  }
  $("accept").addEventListener("click", accept);
  $("reject").addEventListener("click", reject);
  $("mute").addEventListener("click", toggleMute);
  $("hold").addEventListener("click", toggleHold);
  $("keypad-toggle").addEventListener("click", toggleKeypad);
  $("transfer-toggle").addEventListener("click", toggleTransfer);
  $("hangup").addEventListener("click", hangUp);
  $("transfer").addEventListener("submit", startTransfer);
  for (const radio of document.querySelectorAll("input[name=target-kind]")) {
    radio.addEventListener("change", fillTransferTargets);
  }
  $("warm-complete").addEventListener("click", completeWarmTransfer);
  $("warm-cancel").addEventListener("click", cancelWarmTransfer);
  $("recent-more").addEventListener("click", () => refreshRecent({ more: true }));
  $("dial-form").addEventListener("submit", dial);
  $("colleague-form").addEventListener("submit", dialColleague);
  $("colleague-name").addEventListener("focus", fillColleagueOptions);
  $("wrapup-view").addEventListener("submit", finishWrapUp);
  $("recent-refresh").addEventListener("click", refreshRecent);
  $("followups-refresh").addEventListener("click", () => followUps?.refresh());
  $("blocked-reload").addEventListener("click", () => reloadForVersion(true));
  document.addEventListener("keydown", onKey);
  globalThis.addEventListener("online", () => presence?.beatNow());
  globalThis.addEventListener("offline", () => setConnected(false));
  buildKeypad();
}

async function main() {
  await initI18n();
  onLanguage(() => {
    renderState();
    if (ui.call) renderCall();
    showSupervision(supervising);
    drawTranscript($("transcript-lines"), liveTranscript);
    applyTranscriptToggle();
    refreshRecent();
    followUps?.refresh();
  });
  if (!config || !config.apiBaseUrl || !config.cognito || !config.clientVersion) {
    block(t("softphone.msg.notConfigured"), t("softphone.msg.notConfiguredDetail"));
    return;
  }
  document.documentElement.dataset.clientVersion = config.clientVersion;
  session = new CognitoSession(config.cognito);
  api = new ApiClient({
    baseUrl: config.apiBaseUrl,
    clientVersion: config.clientVersion,
    getToken: () => session.idToken(),
    onUnauthorized: () => session.refresh(),
    onVersions,
    onRefused,
    onReachability: onApiReachability,
  });
  control = new CallControl(api);
  wrapUpCodes = new WrapUpCodes(api);
  listenForDialRequests(config.crmOrigins, readyToDial);
  transcript = new TranscriptFollower({
    get: (path) => api.get(path),
    onUpdate: (live) => {
      liveTranscript = live;
      $("transcript-empty").hidden = Boolean(live && live.lines.length);
      drawTranscript($("transcript-lines"), live);
    },
  });
  setupTranscriptToggle();
  wire();
  if (session.signedIn) {
    ringer.unlock();
    startWorking();
  } else {
    showSignIn();
  }
}

main();

// ---------------------------------------------------------------- live transcript

/** The rep can hide the live transcript; the choice is kept for the next calls. */
function applyTranscriptToggle(shown = !$("transcript-lines").hidden) {
  const button = $("transcript-toggle");
  $("transcript-lines").hidden = !shown;
  button.setAttribute("aria-expanded", String(shown));
  button.textContent = t(shown ? "softphone.transcript.hide" : "softphone.transcript.show");
}

function setupTranscriptToggle() {
  applyTranscriptToggle(localStorage.getItem("cc.transcript.hidden") !== "1");
  $("transcript-toggle").addEventListener("click", () => {
    const shown = $("transcript-lines").hidden;
    localStorage.setItem("cc.transcript.hidden", shown ? "0" : "1");
    applyTranscriptToggle(shown);
  });
}
