// Loaded right after ../config.js: tells the page's module the stage's config did not load
// (the page falls back to the local API). A file rather than an `onerror` attribute, because the
// Content-Security-Policy (ops/web_csp.py) runs no inline handler.
if (!window.CC_CONFIG) window.CC_CONFIG_MISSING = true;
