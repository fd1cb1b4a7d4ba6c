// Internal calls (issue 17): a rep calls a colleague through the TwiML App with `To=agent:<id>`
// (chalicelib/softphone/outbound.py, place_internal); the server rings the colleague's softphone
// through the Participants API from `client:<the caller's identity>` (docs/softphone.md,
// "Internal calls"): a call TaskRouter never reserved, so there is no offer to look up.

const AGENT_PREFIX = "agent:";
const CLIENT_PREFIX = "client:";

/** What the TwiML App is given as `To` to call the colleague `agentId`. */
export function internalTarget(agentId) {
  return `${AGENT_PREFIX}${agentId}`;
}

/** Whether `to` calls a colleague rather than a number (no dial guard rails apply). */
export function isInternalTarget(to) {
  return String(to || "").startsWith(AGENT_PREFIX);
}

const fold = (text) => String(text || "").normalize("NFKC").replace(/\s+/g, "").toLowerCase();

/**
 * The colleague `text` names among `agents` ({id, name, ...}): by agent id, else by name (width,
 * case and spaces ignored), else the one whose name starts with it; null when none or several.
 */
export function findColleague(agents, text) {
  const wanted = fold(text);
  if (!wanted) return null;
  const byId = agents.find((a) => fold(a.id) === wanted);
  if (byId) return byId;
  for (const match of [(a) => fold(a.name) === wanted, (a) => fold(a.name).startsWith(wanted)]) {
    const found = agents.filter(match);
    if (found.length === 1) return found[0];
    if (found.length > 1) return null;
  }
  return null;
}

/**
 * The identity of the colleague calling, if `sdkCall` is an internal call; "" otherwise. The
 * SDK's incoming Call carries the caller in `parameters.From` (a `client:` identifier for a
 * browser; https://www.twilio.com/docs/voice/sdks/javascript/twiliocall, "call.parameters").
 * A TaskRouter offer rings us from the customer's number and names its task: never internal.
 */
export function internalCaller(sdkCall) {
  const from = String(sdkCall?.parameters?.From || "");
  if (!from.toLowerCase().startsWith(CLIENT_PREFIX)) return "";
  const custom = sdkCall.customParameters;
  const taskSid = custom instanceof Map ? custom.get("task_sid") : custom?.task_sid;
  return taskSid ? "" : from.slice(CLIENT_PREFIX.length);
}
