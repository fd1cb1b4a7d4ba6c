// The staff sign-in dialog, one module for the board, dashboard, floor and reports pages (each
// page keeps only its <dialog id="sign-in"> with #sign-in-form and #sign-in-error), and the TOTP
// MFA steps the softphone shares with them (issue 20):
// - the code step: a user with TOTP enabled is asked for the app's 6-digit code after the
//   password (Cognito's SOFTWARE_TOKEN_MFA challenge, web/shared/cognito.js);
// - enrolment: AssociateSoftwareToken's secret shown as text and as an otpauth:// QR code
//   (qrcode-generator, vendored as web/vendor/qrcode.mjs, drawn on a canvas: the pages' CSP
//   allows no inline script or style, ops/web_csp.py), then a code from the app confirms it.
//   Any staff member may enrol (the header's button); a supervisor must: the API answers 403
//   {"Code": "MfaRequired"} until they have, and `mfaRequired()` leads them through enrolment,
//   then back to the sign-in, now with a code. A pool with MFA ON asks for the same enrolment
//   during sign-in (MFA_SETUP).
// The otpauth:// format authenticator apps read:
// https://github.com/google/google-authenticator/wiki/Key-Uri-Format

import { SignInError } from "./cognito.js";
import { t, translatePage } from "./i18n.js";
import { qrcode } from "../vendor/qrcode.mjs";

const ISSUER = "ContactCenter";
const $ = (id) => document.getElementById(id);

function make(tag, attributes = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

const text = (tag, key, attributes = {}) => make(tag, { ...attributes, "data-i18n": key }, [t(key)]);

function codeInput() {
  return make("input", {
    name: "code",
    inputmode: "numeric",
    autocomplete: "one-time-code",
    pattern: "[0-9]{6}",
    maxlength: "6",
    required: "",
  });
}

/** A dialog of this module, made once and added to the page. */
function dialog(id, build) {
  let node = $(id);
  if (!node) {
    node = make("dialog", { id, class: "mfa-dialog" }, build());
    document.body.append(node);
    translatePage(node);
  }
  return node;
}

/** Opens the dialog and settles when `submit` (called with the typed code) resolves, or
 * rejects when cancelled or `submit` throws an error other than a wrong code. */
function runCodeDialog(node, submit) {
  const form = node.querySelector("form");
  const error = node.querySelector("[role=alert]");
  const input = form.elements.code;
  const cancel = node.querySelector("[data-cancel]");
  error.textContent = "";
  input.value = "";
  return new Promise((resolve, reject) => {
    const done = () => {
      form.removeEventListener("submit", onSubmit);
      cancel.removeEventListener("click", onCancel);
      node.removeEventListener("cancel", onCancel);
      node.close();
    };
    const onCancel = (event) => {
      event.preventDefault();
      done();
      reject(new SignInError(t("common.mfa.cancelled"), "cancelled"));
    };
    const onSubmit = async (event) => {
      event.preventDefault();
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      try {
        const value = await submit(input.value.trim());
        done();
        resolve(value);
      } catch (failure) {
        const code = failure && failure.code;
        if (code === "CodeMismatchException" || code === "EnableSoftwareTokenMFAException") {
          // The same challenge may be answered again with the app's next code.
          error.textContent = t("common.mfa.wrongCode");
          input.value = "";
          input.focus();
        } else {
          done();
          reject(
            code === "NotAuthorizedException"
              ? new SignInError(t("common.mfa.sessionOver"), code)
              : failure,
          );
        }
      } finally {
        button.disabled = false;
      }
    };
    form.addEventListener("submit", onSubmit);
    cancel.addEventListener("click", onCancel);
    node.addEventListener("cancel", onCancel);
    if (!node.open) node.showModal();
    input.focus();
  });
}

function codeDialog() {
  return dialog("mfa-code", () => [
    make("form", { id: "mfa-code-form", method: "dialog" }, [
      text("h2", "common.mfa.codeTitle"),
      text("p", "common.mfa.codePrompt"),
      make("label", {}, [text("span", "common.mfa.code"), " ", codeInput()]),
      make("p", { id: "mfa-code-error", class: "error", role: "alert" }),
      text("button", "common.mfa.verify", { type: "submit" }),
      text("button", "common.mfa.cancel", { type: "button", "data-cancel": "" }),
    ]),
  ]);
}

function enrolDialog() {
  return dialog("mfa-enrol", () => [
    make("form", { id: "mfa-enrol-form", method: "dialog" }, [
      text("h2", "common.mfa.enrolTitle"),
      make("p", { id: "mfa-enrol-why" }),
      text("p", "common.mfa.scan"),
      make("canvas", { id: "mfa-qr", class: "mfa-qr" }),
      make("p", {}, [text("span", "common.mfa.secret"), " ", make("code", { id: "mfa-secret" })]),
      make("label", {}, [text("span", "common.mfa.code"), " ", codeInput()]),
      make("p", { id: "mfa-enrol-error", class: "error", role: "alert" }),
      text("button", "common.mfa.verify", { type: "submit" }),
      text("button", "common.mfa.cancel", { type: "button", "data-cancel": "" }),
    ]),
  ]);
}

/** The otpauth:// URI an authenticator app reads from the QR code. */
export function otpauthUri(username, secret, issuer = ISSUER) {
  const label = encodeURIComponent(`${issuer}:${username}`);
  return `otpauth://totp/${label}?secret=${secret}&issuer=${encodeURIComponent(issuer)}&algorithm=SHA1&digits=6&period=30`;
}

function drawQr(canvas, uri) {
  const qr = qrcode(0, "M");
  qr.addData(uri);
  qr.make();
  const cell = 4;
  const margin = 4 * cell; // the quiet zone readers need
  const size = qr.getModuleCount() * cell + margin * 2;
  canvas.width = size;
  canvas.height = size;
  const context = canvas.getContext("2d");
  context.fillStyle = "white";
  context.fillRect(0, 0, size, size);
  context.translate(margin, margin);
  qr.renderTo2dContext(context, cell);
}

/** Show a secret and confirm it with a code: `secret()` gives it, `confirm(code)` checks it. */
async function enrol({ username, secret, confirm, why }) {
  const node = enrolDialog();
  const key = await secret();
  $("mfa-enrol-why").textContent = why;
  $("mfa-secret").textContent = key;
  drawQr($("mfa-qr"), otpauthUri(username, key));
  return runCodeDialog(node, confirm);
}

/** Answer an MFA challenge of `session.signIn`: the code step, or enrolment (MFA_SETUP). */
export function answerChallenge(session, challenge, username) {
  if (challenge.name === "MFA_SETUP") {
    return enrol({
      username,
      why: t("common.mfa.poolRequires"),
      secret: () => challenge.secret(),
      confirm: (code) => session.complete(challenge, code),
    });
  }
  return runCodeDialog(codeDialog(), (code) => session.complete(challenge, code));
}

/** Enrol TOTP for the signed-in user (the header's button, or a supervisor the API refused). */
export function enrolSignedIn(session, { required = false } = {}) {
  return enrol({
    username: session.username,
    why: t(required ? "common.mfa.required" : "common.mfa.optional"),
    secret: () => session.associateTotp(),
    confirm: (code) => session.verifyTotp(code),
  });
}

/** True when the API refused a supervisor for want of MFA (403 {"Code": "MfaRequired"}). */
export async function isMfaRequired(response) {
  if (response.status !== 403) return false;
  const body = await response.clone().json().catch(() => ({}));
  return body.Code === "MfaRequired";
}

/** A button that enrols the signed-in user; `onDone(message)` reports the outcome. */
export function enrolButton(session, onDone) {
  const button = text("button", "common.mfa.enrolButton", { type: "button", id: "mfa-enrol-button", class: "mfa-enrol-button" });
  button.addEventListener("click", async () => {
    if (!session || !session.signedIn) return onDone(t("common.mfa.signInFirst"));
    try {
      await enrolSignedIn(session);
      onDone(t("common.mfa.enabled"));
    } catch (error) {
      if (error.code !== "cancelled") onDone(error.message || t("common.signIn.failed"));
    }
  });
  return button;
}

/**
 * Wires a staff page's sign-in dialog. `onSignedIn` runs after each sign-in (a page that polls
 * needs nothing). Returns `ask()` (open the dialog) and `mfaRequired()` (the API refused this
 * supervisor for want of MFA: enrol, sign out, sign in again with a code, reload the page so every
 * panel starts again with supervisor rights).
 */
export function staffSignIn({ session, onSignedIn = () => {} }) {
  const node = $("sign-in");
  const form = $("sign-in-form");
  const error = $("sign-in-error");
  let reloadWhenSignedIn = false;
  let enrolling = false;
  let answering = false; // the code or enrolment dialog is up: polls must not cover it

  const ask = () => {
    if (!node.open && !answering && !enrolling) node.showModal();
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    if (!session) {
      error.textContent = t("common.signIn.noSettings");
      return;
    }
    const username = String(data.get("username"));
    try {
      const challenge = await session.signIn(username, String(data.get("password")));
      node.close();
      if (challenge) {
        answering = true;
        try {
          await answerChallenge(session, challenge, username);
        } finally {
          answering = false;
        }
      }
      error.textContent = "";
      form.elements.password.value = "";
      if (reloadWhenSignedIn) {
        location.reload();
        return;
      }
      await onSignedIn();
    } catch (failure) {
      error.textContent = failure instanceof SignInError ? failure.message : t("common.signIn.failed");
      ask();
    }
  });

  async function mfaRequired() {
    if (enrolling || !session || !session.signedIn) return;
    enrolling = true;
    try {
      await enrolSignedIn(session, { required: true });
      error.textContent = t("common.mfa.enrolled");
    } catch (failure) {
      error.textContent = failure.code === "cancelled" ? t("common.mfa.required") : failure.message;
    } finally {
      // Signed in again either way: the new tokens come from a sign-in that asked for the code.
      session.signOut();
      reloadWhenSignedIn = true;
      enrolling = false;
      ask();
    }
  }

  const header = document.querySelector("header");
  if (header && session) {
    const status = $("status");
    header.append(enrolButton(session, (message) => {
      if (status) status.textContent = message;
    }));
  }
  return { ask, mfaRequired };
}
