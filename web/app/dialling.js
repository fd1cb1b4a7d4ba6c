// Outbound dialling's own rules in the page: ask the server whether a number may be called
// before the Device dials it (GET /calls/dial-check), so the rep reads the reason (foreign,
// premium-rate, shared-cost, do-not-call) instead of only hearing it. The outbound webhook
// checks again and is the authority: when this check cannot be made, the call goes ahead.

import { isInternalTarget } from "./internal_calls.js";

/**
 * The server's verdict on `number`: {allowed, reason, message, number}, or null when the
 * server could not be asked (network, 503): the webhook will decide.
 */
export async function checkDial(api, number) {
  // A colleague (`agent:<id>`) is no number: the server skips its guard rails too.
  if (isInternalTarget(number)) return null;
  try {
    return await api.get(`/calls/dial-check?number=${encodeURIComponent(number)}`);
  } catch (error) {
    if (error.kind === "unauthorized" || error.kind === "refused") throw error;
    return null;
  }
}
