// What the softphone asks the server to do to a call, and how it reads a call's context.
// Hold and transfer act on the conference (the customer's leg), which only the server can
// reach; mute and DTMF stay in the browser (the SDK's call.mute / call.sendDigits).
import { t } from "../shared/i18n.js";

const enc = encodeURIComponent;

/** The caller and why the call came to this agent, from the SDK Call. */
export function callInfo(call) {
  const custom =
    call.customParameters instanceof Map
      ? Object.fromEntries(call.customParameters)
      : { ...(call.customParameters || {}) };
  const params = call.parameters || {};
  const outgoing = String(call.direction || "").toUpperCase() === "OUTGOING";
  return {
    callSid: params.CallSid || custom.call_sid || "",
    direction: outgoing ? "outbound" : "inbound",
    number: custom.caller || (outgoing ? custom.To || params.To : params.From) || "",
    customerId: custom.customer_id || "",
    customerName: custom.customer_name || "",
    owner: custom.owner_agent_id || "",
    team: custom.team || "",
    stage: custom.stage || "",
    taskSid: custom.task_sid || "",
    taskType: custom.type || "",
    conversationId: custom.conversation_id || "",
    conferenceSid: custom.conference_sid || "",
    customerCallSid: "",
  };
}

/** Merge what the server knows about a call into what the SDK told us (server wins if set). */
export function mergeInfo(info, server) {
  if (!server || typeof server !== "object") return info;
  const pick = (key, ...names) => {
    for (const name of names) if (server[name]) return server[name];
    return info[key];
  };
  return {
    ...info,
    number: pick("number", "caller", "customer_number"),
    customerId: pick("customerId", "customer_id"),
    customerName: pick("customerName", "customer_name"),
    owner: pick("owner", "owner_agent_id"),
    team: pick("team", "team"),
    stage: pick("stage", "stage"),
    taskSid: pick("taskSid", "task_sid"),
    taskType: pick("taskType", "type"),
    conversationId: pick("conversationId", "conversation_id"),
    conferenceSid: pick("conferenceSid", "conference_sid"),
    customerCallSid: pick("customerCallSid", "customer_call_sid"),
    transferFrom: (server.transfer && server.transfer.from_agent_id) || info.transferFrom || "",
    transferMode: (server.transfer && server.transfer.mode) || info.transferMode || "",
  };
}

/** Why this call came to the agent `me`: routing stage, transfer, or a follow-up's owner/team. */
export function reasonText(info, me = "") {
  if (info.colleague) {
    const key = info.direction === "outbound" ? "softphone.reason.internalTo" : "softphone.reason.internalFrom";
    return t(key, { name: info.colleague.name });
  }
  if (info.transferFrom) return t("softphone.reason.transferred", { agent: info.transferFrom });
  if (info.taskType === "voicemail" || info.taskType === "callback") {
    const what = t(`common.followup.${info.taskType}`);
    if (info.owner && info.owner === me) return t("softphone.reason.followupMine", { what });
    if (info.team) return t("softphone.reason.followupTeam", { what, team: info.team });
    return t("softphone.reason.followupNew", { what });
  }
  switch (info.stage) {
    case "owner":
      return t("softphone.reason.owner");
    case "team":
      return info.team ? t("softphone.reason.team", { team: info.team }) : t("softphone.reason.teamUnnamed");
    case "everyone":
      return info.customerId ? t("softphone.reason.everyoneKnown") : t("softphone.reason.everyoneNew");
    case "fallback":
      return t("softphone.reason.fallback");
    default:
      return info.direction === "outbound" ? t("softphone.reason.outbound") : "";
  }
}

export class CallControl {
  constructor(api) {
    this.api = api;
  }

  /**
   * The conference call the agent holds now, as the server sees it (task attributes and the
   * conference sid that hold/transfer act on); null when there is none (yet).
   */
  async current() {
    return (await this.lookup()).call;
  }

  /**
   * What the server knows: `call` (held now) and `offer` (ringing the agent now: customer,
   * owner, team, stage and type from the task TaskRouter reserved for them).
   */
  async lookup() {
    const body = await this.api.get("/agents/me/call");
    return { call: (body && body.call) || null, offer: (body && body.offer) || null };
  }

  hold(conferenceSid, hold) {
    return this.api.post(`/calls/${enc(conferenceSid)}/${hold ? "hold" : "resume"}`, {});
  }

  /** Ends the conference for everyone (the customer too); the agent's own leg alone would not. */
  hangUp(conferenceSid) {
    return this.api.post(`/calls/${enc(conferenceSid)}/hangup`, {});
  }

  transfer(conferenceSid, { kind, target, mode }) {
    const body = kind === "team" ? { to_team: target, mode } : { to_agent: target, mode };
    return this.api.post(`/calls/${enc(conferenceSid)}/transfer`, body);
  }

  completeTransfer(conferenceSid) {
    return this.api.post(`/calls/${enc(conferenceSid)}/transfer/complete`, {});
  }

  /** Call off a warm transfer: the colleague is no longer offered the call; the customer is back. */
  cancelTransfer(conferenceSid, transferTaskSid) {
    return this.api.post(`/calls/${enc(conferenceSid)}/transfer/cancel`, { transfer_task_sid: transferTaskSid });
  }

  /**
   * The wrap-up note. The conversation record is built from Twilio's callbacks, which can trail
   * the hang-up by a second or two: a 404 is retried a few times before it is an error.
   */
  async saveNote(conversationId, text, { attempts = 4, delayMs = 1000 } = {}) {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.api.post(`/conversations/${enc(conversationId)}/note`, { text });
      } catch (error) {
        if (error.status !== 404 || attempt >= attempts) throw error;
        await new Promise((resolve) => setTimeout(resolve, delayMs * attempt));
      }
    }
  }

  /** The customer's last conversations (the search defaults to today: look back 90 days). */
  history(customerId, limit = 5, days = 90) {
    const from = Date.now() - days * 86400000;
    return this.api.get(`/conversations?customer=${enc(customerId)}&limit=${limit}&from=${from}`);
  }

  /** The signed-in agent's own calls since `from` (epoch ms), newest first, a page at a time. */
  recent({ limit = 10, from = Date.now() - 7 * 86400000, cursor = "" } = {}) {
    const next = cursor ? `&cursor=${enc(cursor)}` : "";
    return this.api.get(`/conversations?agent=me&limit=${limit}&from=${from}${next}`);
  }

  colleagues() {
    return this.api.get("/presence");
  }
}

/**
 * Colleagues from the presence feed (GET /presence): rows are compact arrays named by
 * `fields` (id, name, team, state, ...); teams are the keys of `counts`.
 */
export function colleaguesFrom(body) {
  const fields = Array.isArray(body?.fields) ? body.fields : [];
  const agents = itemsOf(body).map((row) => {
    if (!Array.isArray(row)) return row;
    return Object.fromEntries(fields.map((name, i) => [name, row[i]]));
  });
  const teams = new Set(Object.keys(body?.counts || {}));
  for (const agent of agents) if (agent.team) teams.add(agent.team);
  return {
    agents: agents
      .map((a) => ({ id: a.id || a.agent_id, name: a.name || a.id || a.agent_id, team: a.team || "", state: a.state || "" }))
      .filter((a) => a.id),
    teams: [...teams].sort(),
  };
}

/** The list inside a list answer, whatever the server called it. */
export function itemsOf(body) {
  if (Array.isArray(body)) return body;
  if (!body || typeof body !== "object") return [];
  for (const key of ["items", "conversations", "agents", "results"]) {
    if (Array.isArray(body[key])) return body[key];
  }
  return [];
}
