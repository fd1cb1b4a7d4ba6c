// Copies the Twilio Voice SDK's browser bundle from node_modules into web/vendor/ and records its
// version in vendor/manifest.json (a test checks it matches package-lock.json). Run by
// `make web-vendor` after `npm ci`; the result is committed so `make run` needs no npm.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const web = join(dirname(fileURLToPath(import.meta.url)), "..");
const sdk = join(web, "node_modules", "@twilio", "voice-sdk");
const { version } = JSON.parse(readFileSync(join(sdk, "package.json"), "utf8"));
const vendor = join(web, "vendor");
mkdirSync(vendor, { recursive: true });
const file = "twilio.min.js";
copyFileSync(join(sdk, "dist", "twilio.min.js"), join(vendor, file));
writeFileSync(
  join(vendor, "manifest.json"),
  JSON.stringify({ "@twilio/voice-sdk": { version, file } }, null, 2) + "\n",
);
console.log(`vendored @twilio/voice-sdk ${version} as web/vendor/${file}`);
