// The pages' language (issue 18): Japanese by default, English by choice, through i18next
// (vendored like the Voice SDK: web/vendor/i18next.min.js, loaded as the global `i18next`).
// Every string lives in one catalogue per language, web/shared/i18n/<lang>.json, keyed by page
// ("softphone.*", "board.*", "dashboard.*", "floor.*", "reports.*", "common.*"), sorted, so new
// strings merge as new lines.
//
// In the markup: data-i18n="key" sets an element's text; data-i18n-attr="placeholder:key;title:key"
// sets attributes. A <select data-lang-switch> anywhere becomes the switch. The choice is kept
// in localStorage per user ("cc.lang:<user>", once known) and for the device ("cc.lang").
// Numbers are shown as the floor reads them (libphonenumber-js, vendored: national format for
// Japanese numbers, international for the rest); times in the floor's time zone.

export const LANGUAGES = ["ja", "en"];
export const DEFAULT_LANGUAGE = "ja";
const DEVICE_KEY = "cc.lang";
const LOCALES = { ja: "ja-JP", en: "en-GB" };
const catalogues = {};
let user = "";
let current = DEFAULT_LANGUAGE;
const listeners = [];

function stored(key) {
  try {
    return localStorage.getItem(key) || "";
  } catch {
    return "";
  }
}

function remember(lang) {
  try {
    localStorage.setItem(DEVICE_KEY, lang);
    if (user) localStorage.setItem(`${DEVICE_KEY}:${user}`, lang);
  } catch {
    // Private mode: the choice lasts as long as the page.
  }
}

function wanted() {
  const choice = (user && stored(`${DEVICE_KEY}:${user}`)) || stored(DEVICE_KEY);
  return LANGUAGES.includes(choice) ? choice : DEFAULT_LANGUAGE;
}

async function catalogue(lang) {
  if (!catalogues[lang]) {
    const url = new URL(`./i18n/${lang}.json`, import.meta.url);
    const response = await fetch(url, { cache: "no-cache" });
    catalogues[lang] = response.ok ? await response.json() : {};
  }
  return catalogues[lang];
}

/** Load both catalogues and apply the remembered language to the page. */
export async function initI18n() {
  const [ja, en] = await Promise.all(LANGUAGES.map(catalogue));
  current = wanted();
  await window.i18next.init({
    lng: current,
    fallbackLng: "en",
    resources: { ja: { translation: ja }, en: { translation: en } },
    // Flat keys ("softphone.call.mute"): one line each, so catalogues merge line by line.
    keySeparator: false,
    nsSeparator: false,
    interpolation: { escapeValue: false }, // we set textContent, never HTML
    returnNull: false,
  });
  translatePage();
  for (const select of document.querySelectorAll("select[data-lang-switch]")) bindSwitch(select);
  return current;
}

export function t(key, values) {
  return window.i18next ? window.i18next.t(key, values) : key;
}

export function language() {
  return current;
}

/** Called when the page's language changes (to redraw what JavaScript wrote). */
export function onLanguage(listener) {
  listeners.push(listener);
}

/** The signed-in user: from now on their own choice is remembered (and applied). */
export async function setUser(id) {
  user = String(id || "");
  const theirs = user && stored(`${DEVICE_KEY}:${user}`);
  if (theirs && theirs !== current) await setLanguage(theirs);
  else if (user) remember(current);
}

export async function setLanguage(lang) {
  if (!LANGUAGES.includes(lang)) return;
  current = lang;
  remember(lang);
  await window.i18next.changeLanguage(lang);
  translatePage();
  for (const listener of listeners) listener(lang);
}

export function translatePage(root = document) {
  document.documentElement.lang = current;
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-attr]")) {
    for (const pair of el.dataset.i18nAttr.split(";")) {
      const [attr, key] = pair.split(":").map((s) => s.trim());
      if (attr && key) el.setAttribute(attr, t(key));
    }
  }
  for (const select of root.querySelectorAll("select[data-lang-switch]")) select.value = current;
}

function bindSwitch(select) {
  select.replaceChildren(
    ...LANGUAGES.map((lang) => {
      const option = document.createElement("option");
      option.value = lang;
      option.textContent = t(`common.language.${lang}`);
      return option;
    }),
  );
  select.value = current;
  select.setAttribute("aria-label", t("common.language.label"));
  select.addEventListener("change", () => setLanguage(select.value));
}

/** A number as the floor reads it: 03-3736-3999 for Japan, +1 415 555 0100 for the rest. */
export function formatPhone(number, home = "JP") {
  const text = String(number || "");
  const lib = window.libphonenumber;
  if (!lib || !/^\+?\d{6,}$/.test(text)) return text;
  const parsed = lib.parsePhoneNumberFromString(text, home);
  if (!parsed || !parsed.isValid()) return text;
  return parsed.country === home ? parsed.formatNational() : parsed.formatInternational();
}

/** A moment in the floor's time zone (the stage's config, Asia/Tokyo by default). */
export function formatTime(ms, options = { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" }) {
  if (!ms) return "";
  const date = new Date(ms);
  if (Number.isNaN(date.getTime())) return "";
  const timeZone = (window.CC_CONFIG && window.CC_CONFIG.timeZone) || "Asia/Tokyo";
  return new Intl.DateTimeFormat(LOCALES[current], { ...options, timeZone }).format(date);
}
