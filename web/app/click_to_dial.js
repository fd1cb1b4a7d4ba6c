// Click-to-dial from the CRM: besides opening `/?call=NUMBER`, a CRM page on an allowed origin
// (`crmOrigins` in /config.js) may message an open softphone window:
//   softphone.postMessage({type: "dial", number: "03-1234-5678"}, "<softphone origin>")
// The number is put in the dialler, ready to call, exactly like `?call=`: the page never dials
// by itself. Messages from any other origin are ignored, and never answered. The softphone
// tells its opener `{type: "softphone-ready"}` once the rep is signed in, and answers each
// accepted request with `{type: "dial-ready", number}` (docs/softphone-web.md, "Click-to-dial").
// https://developer.mozilla.org/en-US/docs/Web/API/Window/postMessage

/** `origin` exactly as the browser gives it (scheme://host[:port]) is one of `allowed`. */
export function originAllowed(origin, allowed) {
  return Array.isArray(allowed) && allowed.includes(origin);
}

/**
 * Listen for `{type: "dial", number}` from allowed origins; `onDial(number)` gets the raw text
 * (the page normalises and checks it as if typed). Returns a function that stops listening.
 */
export function listenForDialRequests(allowed, onDial, target = window) {
  const listener = (event) => {
    if (!originAllowed(event.origin, allowed)) return;
    const data = event.data;
    if (!data || data.type !== "dial" || typeof data.number !== "string") return;
    const number = onDial(data.number);
    if (number && event.source) {
      event.source.postMessage({ type: "dial-ready", number }, event.origin);
    }
  };
  target.addEventListener("message", listener);
  return () => target.removeEventListener("message", listener);
}

/** Tell the CRM window that opened this one (if it is on an allowed origin) we are ready. */
export function announceReady(allowed, opener = window.opener) {
  if (!opener || !Array.isArray(allowed)) return;
  for (const origin of allowed) {
    try {
      // Delivered only if the opener is on `origin`: nothing reaches any other page.
      opener.postMessage({ type: "softphone-ready" }, origin);
    } catch {
      // an origin the browser will not parse: skip it
    }
  }
}
