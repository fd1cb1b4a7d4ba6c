// The board's data, without the DOM: merging the feed, filtering, counting, formatting.
// GET /presence answers {version, full, server_ms, fields, agents: [[...]], counts, totals}.

export const STATES = ["available", "ringing", "on_call", "wrap_up", "away", "break", "offline"];

// Labels come from the catalogues (web/shared/i18n/*.json): board.state.<state>,
// board.reason.<reason>.
export const REASONS = ["heartbeat_lost", "missed_call", "session_expired"];

/** Rows of the feed as objects, by the field names the server sends. */
export function rowsOf(feed) {
  const fields = feed.fields || [];
  return (feed.agents || []).map((row) => Object.fromEntries(fields.map((f, i) => [f, row[i]])));
}

/** Apply one feed to the agents we hold (a Map id -> agent); an older version never wins. */
export function merge(agents, feed) {
  const next = feed.full ? new Map() : new Map(agents);
  for (const row of rowsOf(feed)) {
    const held = next.get(row.id);
    if (!held || feed.full || row.v >= held.v) next.set(row.id, row);
  }
  return next;
}

export function visible(agents, { team = "", states = new Set(STATES) } = {}) {
  return [...agents.values()].filter((a) => (!team || a.team === team) && states.has(a.state));
}

export function byTeam(agents) {
  const teams = new Map();
  for (const agent of agents) {
    if (!teams.has(agent.team)) teams.set(agent.team, []);
    teams.get(agent.team).push(agent);
  }
  for (const members of teams.values()) {
    members.sort((a, b) => STATES.indexOf(a.state) - STATES.indexOf(b.state) || a.name.localeCompare(b.name));
  }
  return new Map([...teams.entries()].sort(([a], [b]) => a.localeCompare(b)));
}

export function countStates(agents) {
  const counts = Object.fromEntries(STATES.map((s) => [s, 0]));
  for (const agent of agents) counts[agent.state] = (counts[agent.state] || 0) + 1;
  return counts;
}

/** "0:42", "12:05", "3:07:44": time in state, from the server's clock. */
export function duration(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}
