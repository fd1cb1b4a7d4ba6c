// Today's KPIs, refreshed live: polls GET /kpis/today (the server caches it for a few seconds)
// and redraws. Shares nothing with the softphone but the sign-in helper.

import { CognitoSession } from "../shared/cognito.js";
import { staffSignIn } from "../shared/staff_sign_in.js";
import { tiles, missedRows, teamRows, hourlyBars, percent, outboundRows } from "./model.js";
import { formatTime, initI18n, onLanguage, t } from "../shared/i18n.js";

const POLL_MS = 15000;
const MAX_BACKOFF_MS = 120000;
const config = window.CC_CONFIG || {};
const API = String(config.apiBaseUrl || "http://127.0.0.1:8000").replace(/\/$/, "");
const session = config.cognito ? new CognitoSession(config.cognito) : null;
const SVG = "http://www.w3.org/2000/svg";
let failures = 0;
let lastOk = 0;
let lastFeed = null;

const $ = (id) => document.getElementById(id);

function setStatus(text, kind = "") {
  $("status").textContent = text;
  $("status").className = `status ${kind}`;
}

async function load(retried = false) {
  const headers = {};
  if (session) {
    const id = await session.idToken();
    if (!id) return askSignIn();
    headers.Authorization = `Bearer ${id}`;
  }
  const response = await fetch(`${API}/kpis/today`, { headers, cache: "no-store" });
  if (response.status === 401) {
    // Renew the token and try once more; sign-in is asked for only when the session is over.
    if (session && !retried && (await session.refresh())) return load(true);
    if (session && session.signedIn) throw new Error("sign-in could not be renewed, retrying");
    return askSignIn();
  }
  // 503: the server cannot check sign-ins (or read the KPIs) for a moment: the loop retries.
  if (!response.ok) throw new Error(`KPI feed answered ${response.status}`);
  render(await response.json());
  failures = 0;
  lastOk = Date.now();
  setStatus(t("dashboard.updated", { time: formatTime(Date.now(), { hour: "2-digit", minute: "2-digit", second: "2-digit" }) }));
}

function fillTable(id, rows) {
  const body = $(id).querySelector("tbody");
  body.replaceChildren(
    ...rows.map((row) => {
      const tr = document.createElement("tr");
      for (const cell of row) {
        const td = document.createElement("td");
        td.textContent = String(cell);
        tr.append(td);
      }
      return tr;
    }),
  );
}

function el(name, attributes, text) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attributes)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

function drawHourly(feed) {
  const bars = hourlyBars(feed);
  const width = 720;
  const height = 200;
  const pad = 24;
  const max = Math.max(1, ...bars.map((b) => b.offered));
  const step = (width - pad * 2) / bars.length;
  const svg = el("svg", { viewBox: `0 0 ${width} ${height}`, class: "hourly" });
  bars.forEach((b, i) => {
    const x = pad + i * step;
    const h = ((height - pad * 2) * b.offered) / max;
    const ha = ((height - pad * 2) * b.abandoned) / max;
    const offered = el("rect", { x, y: height - pad - h, width: step * 0.8, height: h, class: "offered" });
    offered.append(el("title", {}, t("dashboard.hourTitle", { hour: b.hour, offered: b.offered, abandoned: b.abandoned, rate: percent(b.abandonment_rate) })));
    svg.append(offered);
    svg.append(el("rect", { x, y: height - pad - ha, width: step * 0.8, height: ha, class: "abandoned" }));
    svg.append(el("text", { x: x + step * 0.4, y: height - 6, "text-anchor": "middle" }, String(b.hour)));
    if (b.offered) svg.append(el("text", { x: x + step * 0.4, y: height - pad - h - 4, "text-anchor": "middle" }, String(b.offered)));
  });
  $("hourly").replaceChildren(svg);
}

function render(feed) {
  lastFeed = feed;
  $("day").textContent = feed.day;
  $("live").textContent = t("dashboard.live", { waiting: feed.live.waiting, inProgress: feed.live.in_progress });
  $("tiles").replaceChildren(
    ...tiles(feed).map(([key, value, tone, values]) => {
      const label = t(key, values);
      const tile = document.createElement("div");
      tile.className = `tile ${tone}`;
      const v = document.createElement("strong");
      v.textContent = value;
      const l = document.createElement("span");
      l.textContent = label;
      tile.append(v, l);
      return tile;
    }),
  );
  drawHourly(feed);
  fillTable("teams", teamRows(feed));
  fillTable("missed", missedRows(feed));
  fillTable("outbound", outboundRows(feed));
}

async function loop() {
  let delay = POLL_MS;
  try {
    await load();
  } catch (error) {
    failures += 1;
    delay = Math.min(MAX_BACKOFF_MS, POLL_MS * 2 ** failures);
    const age = lastOk ? t("dashboard.lastUpdate", { seconds: Math.round((Date.now() - lastOk) / 1000) }) : "";
    setStatus(t("dashboard.offline", { age }), "stale");
    console.warn("kpi poll failed", error);
  }
  setTimeout(loop, delay);
}

const signIn = staffSignIn({ session, onSignedIn: () => load() });
const askSignIn = signIn.ask;

await initI18n();
onLanguage(() => lastFeed && render(lastFeed));
loop();
