// Reports for supervisors: GET /reports?from=&to=&team=&agent=&by= drawn as tables and charts.
// The charts are Chart.js (web/vendor/chart.umd.min.js, vendored by web/scripts/vendor.mjs); the
// CSV is built here from the same answer. `window.reportRendered` holds the last draw's timing
// (ops/benchmarks/reports_page.py reads it).

import { CognitoSession } from "../shared/cognito.js";
import { isMfaRequired, staffSignIn } from "../shared/staff_sign_in.js";
import { initI18n, onLanguage, t } from "../shared/i18n.js";

const config = window.CC_CONFIG || {};
const API = String(config.apiBaseUrl || "http://127.0.0.1:8000").replace(/\/$/, "");
const session = config.cognito ? new CognitoSession(config.cognito) : null;
const $ = (id) => document.getElementById(id);
const form = $("query");
const charts = {};
let last = null;

const pct = (x) => (x === null || x === undefined ? "" : `${(x * 100).toFixed(1)}%`);
const secs = (ms) => (ms === null || ms === undefined ? "" : (ms / 1000).toFixed(1));
const yen = (micros) => (micros ? (micros / 1e6).toFixed(2) : "0");

/** A preset asks for the last 1, 7 or 30 days up to today in the report's time zone (the
server's; this browser may be elsewhere), then shows the dates the server chose. */
let lastDays = 0;
function preset(range) {
  lastDays = { day: 1, week: 7, month: 30 }[range];
  form.by.value = "day";
  for (const b of document.querySelectorAll("[data-range]")) b.setAttribute("aria-pressed", String(b.dataset.range === range));
}

async function fetchReport(query, retried = false) {
  const headers = {};
  if (session) {
    const id = await session.idToken();
    if (!id) {
      $("sign-in").showModal();
      throw new Error(t("common.notSignedIn"));
    }
    headers.Authorization = `Bearer ${id}`;
  }
  const response = await fetch(`${API}/reports?${query}`, { headers, cache: "no-store" });
  if (response.status === 401 && session && !retried && (await session.refresh())) return fetchReport(query, true);
  if (response.status === 401) $("sign-in").showModal();
  if (await isMfaRequired(response)) signIn.mfaRequired();
  const body = await response.json();
  if (!response.ok) throw new Error(body.Message || body.error || t("reports.answered", { status: response.status }));
  return body;
}

/** A chart axis titled in the page's language. */
const axis = (key) => ({ title: { display: true, text: t(key) } });
const summary = (report) => t("reports.summary", { from: report.from, to: report.to, conversations: report.conversations });
let shown = null; // the report the status line describes

function chart(id, config) {
  if (charts[id]) charts[id].destroy();
  charts[id] = new window.Chart($(id), { ...config, options: { animation: false, responsive: true, maintainAspectRatio: false, ...config.options } });
}

function rows(id, items, cells) {
  $(id).querySelector("tbody").replaceChildren(
    ...items.map((item) => {
      const tr = document.createElement("tr");
      for (const text of cells(item)) {
        const td = document.createElement("td");
        td.textContent = text;
        tr.append(td);
      }
      return tr;
    }),
  );
}

export function render(report) {
  const started = performance.now();
  last = report;
  const totals = report.totals;
  // data-kpi names the figure whatever the language (tests and scripts read it).
  const kpis = [
    ["Conversations", "conversations", report.conversations],
    ["Offered", "offered", totals.offered],
    ["Answered", "answered", totals.answered],
    ["Abandoned", "abandoned", totals.abandoned],
    ["Service level", "serviceLevel", pct(totals.service_level)],
    ["ASA (s)", "asa", secs(totals.asa_ms)],
    ["AHT (s)", "aht", secs(totals.aht_ms)],
    ["Owner reach", "ownerReach", pct(totals.owner_reach_rate)],
  ];
  $("totals").replaceChildren(
    ...kpis.map(([name, key, value]) => {
      const div = document.createElement("div");
      div.className = "kpi";
      div.dataset.kpi = name;
      const b = document.createElement("b");
      b.textContent = String(value ?? "");
      div.append(b, t(`reports.kpi.${key}`));
      return div;
    }),
  );
  const labels = report.periods.map((p) => p.period);
  const series = (get) => report.periods.map((p) => get(p.totals));
  chart("volume-chart", {
    type: "bar",
    data: {
      labels,
      datasets: [
        { label: t("reports.series.offered"), data: series((x) => x.offered) },
        { label: t("reports.series.answered"), data: series((x) => x.answered) },
        { label: t("reports.series.abandoned"), data: series((x) => x.abandoned) },
      ],
    },
    options: { scales: { x: axis("reports.axis.period"), y: axis("reports.axis.calls") } },
  });
  chart("rates-chart", {
    type: "line",
    data: {
      labels,
      datasets: [
        { label: t("reports.series.serviceLevel"), data: series((x) => (x.service_level ?? 0) * 100) },
        { label: t("reports.series.abandonment"), data: series((x) => (x.abandonment_rate ?? 0) * 100) },
      ],
    },
    options: { scales: { x: axis("reports.axis.period"), y: { min: 0, max: 100, ...axis("reports.axis.percent") } } },
  });
  chart("times-chart", {
    type: "line",
    data: {
      labels,
      datasets: [
        { label: t("reports.series.asa"), data: series((x) => (x.asa_ms ?? 0) / 1000) },
        { label: t("reports.series.aht"), data: series((x) => (x.aht_ms ?? 0) / 1000) },
      ],
    },
    options: { scales: { x: axis("reports.axis.period"), y: axis("reports.axis.seconds") } },
  });
  const reps = Object.entries(report.by_agent).sort((a, b) => b[1].answered - a[1].answered);
  chart("reps-chart", {
    type: "bar",
    data: { labels: reps.slice(0, 30).map(([id]) => id), datasets: [{ label: t("reports.series.answered"), data: reps.slice(0, 30).map(([, r]) => r.answered) }] },
    options: { indexAxis: "y", scales: { x: axis("reports.axis.calls"), y: axis("reports.axis.rep") } },
  });
  rows("teams", Object.entries(report.by_team), ([name, k]) => [name || t("reports.noTeam"), k.offered, k.answered, k.abandoned, pct(k.service_level), secs(k.asa_ms), secs(k.aht_ms), pct(k.owner_reach_rate)]);
  const dialled = report.outbound.by_agent;
  rows("reps", reps, ([id, r]) => [id, r.answered, secs(r.aht_ms), secs(r.talk_ms), r.offers, r.missed_offers, dialled[id]?.attempts ?? 0, dialled[id]?.connected ?? 0, pct(dialled[id]?.connect_rate)]);
  // Wrap-up codes: one column per code given in the range, one row per team, then per rep.
  const w = report.wrap_up_codes;
  const codes = Object.keys(w.total);
  $("wrap-up").querySelector("thead tr").replaceChildren(
    ...["", "", ...codes].map((text) => {
      const th = document.createElement("th");
      th.textContent = text;
      return th;
    }),
  );
  rows("wrap-up", wrapUpRows(w), ([kind, name, counts]) => [t(`reports.kind.${kind}`), name || (kind === "team" ? t("reports.noTeam") : ""), ...codes.map((code) => counts[code] ?? 0)]);
  const customers = Object.entries(report.cost_per_customer).sort((a, b) => b[1].cost_micros - a[1].cost_micros).slice(0, 200);
  rows("customers", customers, ([id, c]) => [id, c.conversations, secs(c.total_ms), yen(c.cost_micros)]);
  window.reportRendered = { ms: performance.now() - started, charts: Object.keys(charts).length };
  document.body.dataset.rendered = String(Date.now());
}

/** [kind, name, {code: calls}]: all calls taken, each team, each rep. */
function wrapUpRows(w) {
  return [["all", "", w.total], ...Object.entries(w.by_team).map(([n, c]) => ["team", n, c]), ...Object.entries(w.by_agent).map(([n, c]) => ["rep", n, c])];
}

/** The report as CSV: one row per period (totals), then one per team and one per rep, with
outbound attempts / connected / connect rate and one column per wrap-up code (calls taken). */
export function toCsv(report) {
  const quote = (v) => {
    const s = v === null || v === undefined ? "" : String(v);
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const w = report.wrap_up_codes;
  const codes = Object.keys(w.total);
  const head = ["kind", "name", "offered", "answered", "abandoned", "service_level", "abandonment_rate", "asa_ms", "aht_ms", "owner_reach_rate", "outbound_attempts", "outbound_connected", "connect_rate", ...codes.map((c) => `wrap_up:${c}`)];
  const out_ = (o) => (o ? [o.attempts, o.connected, o.connect_rate] : [0, 0, ""]);
  const coded = (counts) => codes.map((c) => (counts && counts[c]) || 0);
  const line = (kind, name, k) => [kind, name, k.offered, k.answered, k.abandoned, k.service_level, k.abandonment_rate, k.asa_ms, k.aht_ms, k.owner_reach_rate];
  const out = [head];
  for (const p of report.periods) out.push([...line("period", p.period, p.totals), "", "", "", ...codes.map(() => "")]);
  out.push([...line("all", "", report.totals), ...out_(report.outbound.totals), ...coded(w.total)]);
  for (const [name, k] of Object.entries(report.by_team)) out.push([...line("team", name, k), ...out_(report.outbound.by_team[name]), ...coded(w.by_team[name] ?? (name === "(none)" ? w.by_team["-"] : undefined))]);
  const reps = new Set([...Object.keys(report.by_agent), ...Object.keys(report.outbound.by_agent), ...Object.keys(w.by_agent)]);
  for (const id of [...reps].sort()) {
    const r = report.by_agent[id] || {};
    out.push(["rep", id, "", r.answered ?? 0, "", "", "", "", r.aht_ms ?? "", "", ...out_(report.outbound.by_agent[id]), ...coded(w.by_agent[id])]);
  }
  return out.map((row) => row.map(quote).join(",")).join("\n") + "\n";
}

async function show() {
  const params = new URLSearchParams();
  for (const name of ["from", "to", "by", "team", "agent"]) if (form[name].value) params.set(name, form[name].value);
  if (lastDays) {
    params.delete("from");
    params.delete("to");
    params.set("last", String(lastDays));
  }
  $("status").textContent = t("common.loading");
  try {
    const report = await fetchReport(params.toString());
    render(report);
    form.from.value = report.from;
    form.to.value = report.to;
    shown = report;
    $("status").textContent = summary(report);
  } catch (error) {
    $("status").textContent = String(error.message || error);
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  show();
});
// Dates typed in replace the preset.
for (const name of ["from", "to"]) form[name].addEventListener("input", () => { lastDays = 0; });
for (const b of document.querySelectorAll("[data-range]")) {
  b.addEventListener("click", () => {
    preset(b.dataset.range);
    show();
  });
}
$("csv").addEventListener("click", () => {
  if (!last) return;
  const blob = new Blob([toCsv(last)], { type: "text/csv" });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = `report-${last.from}-${last.to}.csv`;
  a.click();
});
const signIn = staffSignIn({ session, onSignedIn: () => show() });

window.renderReport = render;
await initI18n();
// Charts, figures and the status line are drawn by this script: redrawn in the new language.
onLanguage(() => {
  if (last) render(last);
  if (shown) $("status").textContent = summary(shown);
});
preset("week");
if (!new URLSearchParams(location.search).has("manual")) show();
