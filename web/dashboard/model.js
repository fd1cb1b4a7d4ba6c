// Pure formatting of the KPI feed (GET /kpis/today) for the dashboard; no DOM, testable alone.
// Labels are catalogue keys (web/shared/i18n/*.json, dashboard.*), translated by the page.

export function percent(rate) {
  return rate === null || rate === undefined ? "–" : `${(rate * 100).toFixed(1)}%`;
}

export function seconds(ms) {
  if (ms === null || ms === undefined) return "–";
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} m ${String(s % 60).padStart(2, "0")} s`;
}

/** The headline tiles, in reading order: [label key, value, tone, values for the label]. */
export function tiles(feed) {
  const t = feed.totals;
  const sl = feed.service_level_threshold_ms / 1000;
  return [
    ["dashboard.tile.offered", String(t.offered), ""],
    ["dashboard.tile.answered", String(t.answered), ""],
    ["dashboard.tile.abandoned", String(t.abandoned), ""],
    ["dashboard.tile.abandonment", percent(t.abandonment_rate), t.abandonment_rate > 0.1 ? "bad" : ""],
    ["dashboard.tile.shortAbandons", String(t.short_abandons), ""],
    ["dashboard.tile.reachRate", percent(t.reach_rate), ""],
    ["dashboard.tile.serviceLevel", percent(t.service_level), t.service_level !== null && t.service_level < 0.8 ? "bad" : "", { seconds: sl }],
    ["dashboard.tile.asa", seconds(t.asa_ms), ""],
    ["dashboard.tile.asaP90", seconds(t.asa_p90_ms), ""],
    ["dashboard.tile.aht", seconds(t.aht_ms), ""],
    ["dashboard.tile.longestWait", seconds(t.longest_wait_ms), ""],
    ["dashboard.tile.ownerReach", percent(t.owner_reach_rate), ""],
  ];
}

/** Agents with missed offers, most first (ties by name). */
export function missedRows(feed, limit = 15) {
  return Object.entries(feed.by_agent)
    .filter(([, a]) => a.missed_offers > 0)
    .sort((a, b) => b[1].missed_offers - a[1].missed_offers || a[0].localeCompare(b[0]))
    .slice(0, limit)
    .map(([agent, a]) => [agent, a.missed_offers, a.offers, a.answered]);
}

export function teamRows(feed) {
  return Object.entries(feed.by_team).map(([team, t]) => [
    team,
    t.offered,
    t.answered,
    percent(t.abandonment_rate),
    percent(t.service_level),
    seconds(t.asa_ms),
    percent(t.owner_reach_rate),
  ]);
}

/** Bars of the hourly chart: hours that had calls, plus the working day around them. */
export function hourlyBars(feed) {
  const hours = feed.by_hour;
  const busy = hours.filter((h) => h.offered > 0).map((h) => h.hour);
  const first = Math.min(8, ...busy);
  const last = Math.max(19, ...busy);
  return hours.filter((h) => h.hour >= first && h.hour <= last);
}

/** Outbound calls per rep, most attempts first: rep, attempts, connected, connect rate, talk. */
export function outboundRows(feed, limit = 15) {
  const byAgent = (feed.outbound && feed.outbound.by_agent) || {};
  return Object.entries(byAgent)
    .sort((a, b) => b[1].attempts - a[1].attempts || a[0].localeCompare(b[0]))
    .slice(0, limit)
    .map(([agent, o]) => [agent, o.attempts, o.connected, percent(o.connect_rate), seconds(o.talk_ms)]);
}
