// Copies the browser bundles the pages load from node_modules into web/vendor/ and records
// their versions in vendor/manifest.json (tests check they match package-lock.json):
// - the Twilio Voice SDK (the softphone's Device);
// - amazon-cognito-identity-js, AWS's client for Cognito's SRP sign-in (web/shared/cognito.js);
// - i18next, the pages' translations (web/shared/i18n.js, catalogues in web/shared/i18n/);
// - libphonenumber-js (its "min" metadata), numbers shown as the floor reads them.
// - Chart.js, the reports page's charts (web/reports/).
// - qrcode-generator (MIT), the otpauth:// QR code of MFA enrolment (web/shared/staff_sign_in.js),
//   drawn on a canvas so the strict CSP needs no data: images.
// Run by `make web-vendor` after `npm ci`; the result is committed so `make run` needs no npm.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const web = join(dirname(fileURLToPath(import.meta.url)), "..");
const vendor = join(web, "vendor");
const BUNDLES = [
  { name: "@twilio/voice-sdk", from: "dist/twilio.min.js", file: "twilio.min.js" },
  {
    name: "amazon-cognito-identity-js",
    from: "dist/amazon-cognito-identity.min.js",
    file: "amazon-cognito-identity.min.js",
  },
  { name: "i18next", from: "dist/umd/i18next.min.js", file: "i18next.min.js" },
  {
    name: "libphonenumber-js",
    from: "bundle/libphonenumber-min.js",
    file: "libphonenumber-min.js",
  },
  { name: "chart.js", from: "dist/chart.umd.min.js", file: "chart.umd.min.js" },
  { name: "qrcode-generator", from: "dist/qrcode.mjs", file: "qrcode.mjs" },
];
mkdirSync(vendor, { recursive: true });
const manifest = {};
for (const { name, from, file } of BUNDLES) {
  const pkg = join(web, "node_modules", ...name.split("/"));
  const { version } = JSON.parse(readFileSync(join(pkg, "package.json"), "utf8"));
  copyFileSync(join(pkg, ...from.split("/")), join(vendor, file));
  manifest[name] = { version, file };
  console.log(`vendored ${name} ${version} as web/vendor/${file}`);
}
writeFileSync(join(vendor, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
