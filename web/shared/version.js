// Client/server version comparison, the browser half of chalicelib/platform/versions.py.
// Versions are MAJOR.MINOR.PATCH; a "-suffix" or "+build" is ignored when comparing.

const VERSION = /^(\d{1,6})\.(\d{1,6})\.(\d{1,6})(?:[-+][0-9A-Za-z.+-]{0,64})?$/;

export function parseVersion(text) {
  const match = VERSION.exec(String(text ?? "").trim());
  if (!match) return null;
  return match.slice(1, 4).map(Number);
}

/** Negative if a < b, 0 if equal, positive if a > b; null if either is unreadable. */
export function compareVersions(a, b) {
  const left = parseVersion(a);
  const right = parseVersion(b);
  if (!left || !right) return null;
  for (let i = 0; i < 3; i += 1) {
    if (left[i] !== right[i]) return left[i] - right[i];
  }
  return 0;
}

/**
 * What this client should do given the versions the server announced:
 * "ok", "update" (newer available: banner, reload when idle) or "refused" (too old to work).
 */
export function versionVerdict(clientVersion, { min, latest }) {
  if (min && compareVersions(clientVersion, min) < 0) return "refused";
  if (latest && compareVersions(clientVersion, latest) < 0) return "update";
  return "ok";
}
