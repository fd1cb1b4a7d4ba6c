"""The pages' Content-Security-Policy, generated from the stage's page config (one function).

The pages load nothing but their own files: every script is a file of the release (no inline
script, no inline event handler, no `eval`), so a script injected into a page (a customer's
name with markup in it, a compromised CRM message) does not run. What the pages may reach:

- their own origin (scripts, styles, `config.js`, the i18n JSON, `audio/hold-loop.wav`);
- the stage's API (`apiBaseUrl` in config.js) and Cognito (`cognito-idp.<region>.amazonaws.com`,
  or the local stack's moto);
- Twilio's Voice JS SDK: signalling over `wss://voice-js.<edge>.twilio.com/signal`, Insights
  events to `eventgw[.<region>].twilio.com`, and its ringtones from
  `https://sdk.twilio.com/js/client/sounds/...` (the vendored SDK 2.18.5's `createChunderEdgeURI`,
  `createEventGatewayURI` and `SOUNDS_BASE_URL`; Twilio lists the SDK's signalling and Insights
  hosts in https://www.twilio.com/docs/voice/sdks/network-connectivity-requirements). CSP host
  wildcards match only a leftmost label, so `*.twilio.com` is as narrow as `voice-js.<edge>`
  can be written;
- the recordings bucket (the voicemail player plays a presigned S3 GET:
  chalicelib/recordings/archive.py `playback_url`), as media only.

Served as a header by `ops serve-web` (the local stack) and as a `<meta http-equiv>` in each entry
point by `ops web-deploy`, whose CloudFront distribution adds the directives a meta element cannot
carry (`frame-ancestors` is ignored there: https://www.w3.org/TR/CSP3/#meta-element) as a
response header (`WebSiteResponseHeaders` in infra/resources.json: `CLOUDFRONT_POLICY`).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from ops.web_config import WebConfig

# Twilio's Voice JS SDK (see the module docstring).
TWILIO_SIGNALLING = "wss://*.twilio.com"
TWILIO_INSIGHTS = "https://*.twilio.com"  # eventgw.twilio.com, eventgw.<region>.twilio.com
TWILIO_SOUNDS = "https://sdk.twilio.com"
# Only meaningful in a header: a meta element's frame-ancestors, report-uri and sandbox are
# ignored (CSP3 §3.3). The softphone is opened by a CRM (window.open), never framed.
HEADER_ONLY = ("frame-ancestors 'none'",)
# What CloudFront adds to every answer of the site (the meta carries the rest).
CLOUDFRONT_POLICY = "; ".join(HEADER_ONLY)
_CHARSET = re.compile(r"<meta\s+charset=[^>]*>", re.IGNORECASE)
_HEAD = re.compile(r"<head(\s[^>]*)?>", re.IGNORECASE)


def origin(url: str) -> str:
    """`https://host[:port]` of `url`: what a CSP source expression matches."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        raise ValueError(f"not an absolute URL: {url!r}")
    return f"{parts.scheme}://{parts.netloc}"


def recordings_origins(bucket: str, region: str, endpoint_url: str = "") -> tuple[str, ...]:
    """Where a presigned GET of the recordings bucket points: the local stack's S3 endpoint, or
    S3's virtual-hosted names (regional, and the global one older SDKs sign for)
    (https://docs.aws.amazon.com/AmazonS3/latest/userguide/VirtualHosting.html)."""
    if endpoint_url:
        return (origin(endpoint_url),)
    if not bucket:
        return ()
    return (f"https://{bucket}.s3.{region}.amazonaws.com", f"https://{bucket}.s3.amazonaws.com")


def content_security_policy(config: WebConfig, *, meta: bool = False) -> str:
    """The policy of every page of a stage whose config.js is `config`. `meta`: for a
    `<meta http-equiv>` (leaves out what only a header can say)."""
    cognito = (
        origin(config.cognito_endpoint)
        if config.cognito_endpoint
        else f"https://cognito-idp.{config.cognito_region}.amazonaws.com"
    )
    connect = _unique(
        ["'self'", origin(config.api_base_url), cognito, TWILIO_SIGNALLING, TWILIO_INSIGHTS]
    )
    media = _unique(["'self'", *(origin(o) for o in config.media_origins), TWILIO_SOUNDS])
    directives = [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        f"connect-src {' '.join(connect)}",
        f"media-src {' '.join(media)}",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "manifest-src 'self'",
    ]
    if not meta:
        directives.extend(HEADER_ONLY)
    return "; ".join(directives)


def with_meta_policy(page: str, policy: str) -> str:
    """`page` with `policy` as a `<meta http-equiv>` right after its charset (or `<head>`):
    it governs only what comes after it, so it must precede every script and stylesheet."""
    match = _CHARSET.search(page) or _HEAD.search(page)
    if match is None:
        raise ValueError("the page has no <head>")
    tag = f'<meta http-equiv="Content-Security-Policy" content="{html.escape(policy)}">'
    return page[: match.end()] + tag + page[match.end() :]


def _unique(sources: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(s for s in sources if s))
