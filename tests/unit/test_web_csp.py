"""The pages' Content-Security-Policy: one function of the stage's page config, sent as a header
by the local web server, carried in each deployed page as a meta element, and completed by
CloudFront's response headers (ops/web_csp.py)."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from ops.web_config import WebConfig, local_web_config, web_handler
from ops.web_csp import (
    CLOUDFRONT_POLICY,
    content_security_policy,
    recordings_origins,
    with_meta_policy,
)
from ops.web_deploy import site_files

ROOT = Path(__file__).resolve().parents[2]
STAGE = WebConfig(
    "https://abc123.execute-api.ap-northeast-1.amazonaws.com/api",
    "ap-northeast-1",
    "ap-northeast-1_pool",
    "client",
    media_origins=recordings_origins("cc-prod-recordings", "ap-northeast-1"),
)


def directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for part in policy.split(";"):
        name, *sources = part.split()
        assert name not in parsed, f"{name} twice"
        parsed[name] = sources
    return parsed


def test_a_stage_policy_allows_only_its_api_cognito_twilio_and_recordings() -> None:
    policy = directives(content_security_policy(STAGE))
    assert policy["default-src"] == ["'none'"]
    assert policy["script-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval'
    assert policy["style-src"] == ["'self'"]
    assert policy["connect-src"] == [
        "'self'",
        "https://abc123.execute-api.ap-northeast-1.amazonaws.com",
        "https://cognito-idp.ap-northeast-1.amazonaws.com",
        "wss://*.twilio.com",
        "https://*.twilio.com",
    ]
    assert policy["media-src"] == [
        "'self'",
        "https://cc-prod-recordings.s3.ap-northeast-1.amazonaws.com",
        "https://cc-prod-recordings.s3.amazonaws.com",
        "https://sdk.twilio.com",
    ]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]


def test_the_local_stack_policy_points_at_its_own_api_and_moto() -> None:
    config = local_web_config(
        "http://127.0.0.1:8123/", "http://127.0.0.1:5123", "ap-northeast-1", "p", "c"
    )
    policy = directives(content_security_policy(config))
    assert "http://127.0.0.1:8123" in policy["connect-src"]
    assert "http://127.0.0.1:5123" in policy["connect-src"]  # Cognito
    assert "http://127.0.0.1:5123" in policy["media-src"]  # S3's presigned recordings
    assert not any("amazonaws.com" in s for s in policy["connect-src"])


def test_a_meta_policy_leaves_out_what_only_a_header_can_say() -> None:
    meta = directives(content_security_policy(STAGE, meta=True))
    header = directives(content_security_policy(STAGE))
    assert "frame-ancestors" not in meta
    assert {k: v for k, v in header.items() if k != "frame-ancestors"} == meta


def test_the_meta_element_precedes_every_script_and_stylesheet() -> None:
    page = (ROOT / "web" / "index.html").read_text(encoding="utf-8")
    out = with_meta_policy(page, content_security_policy(STAGE, meta=True))
    at = out.index('http-equiv="Content-Security-Policy"')
    assert at < out.index("<script") and at < out.index("<link")
    assert out.index("<meta charset") < at  # the charset stays first
    assert "&#x27;self&#x27;" in out  # quoted in the attribute, not breaking it
    with pytest.raises(ValueError, match="no <head>"):
        with_meta_policy("<p>no head</p>", "default-src 'none'")


def test_every_deployed_page_carries_the_stage_policy() -> None:
    policy = content_security_policy(STAGE, meta=True)
    pages = [f for f in site_files(ROOT / "web", STAGE) if f.path.endswith(".html")]
    assert {p.path for p in pages} >= {
        "index.html",
        "board/index.html",
        "dashboard/index.html",
        "floor/index.html",
        "reports/index.html",
    }
    for page in pages:
        assert with_meta_policy("<head>", policy)[len("<head>") :] in page.body.decode(), page.path


def test_no_page_has_an_inline_script_or_handler() -> None:
    import re

    for path in (ROOT / "web").rglob("*.html"):
        if "node_modules" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), path
        assert not re.search(r"\son[a-z]+\s*=", text), path
        assert "javascript:" not in text, path


def test_cloudfront_adds_the_header_only_directives() -> None:
    template = json.loads((ROOT / "infra" / "resources.json").read_text())
    resources = template["Resources"]
    config = resources["WebSiteResponseHeaders"]["Properties"]["ResponseHeadersPolicyConfig"]
    csp = config["SecurityHeadersConfig"]["ContentSecurityPolicy"]
    assert csp == {"ContentSecurityPolicy": CLOUDFRONT_POLICY, "Override": True}
    assert config["SecurityHeadersConfig"]["FrameOptions"]["FrameOption"] == "DENY"
    behaviour = resources["WebSiteDistribution"]["Properties"]["DistributionConfig"][
        "DefaultCacheBehavior"
    ]
    assert behaviour["ResponseHeadersPolicyId"] == {"Ref": "WebSiteResponseHeaders"}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    import http.server

    (tmp_path / "index.html").write_text("<head></head>")
    config = tmp_path / "config.js"
    config.write_text("window.CC_CONFIG = {};")
    handler = web_handler(config, tmp_path, "default-src 'none'; frame-ancestors 'none'")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_the_local_web_server_sends_the_policy_on_every_answer(served: str) -> None:
    for path in ("/", "/index.html", "/config.js"):
        with urllib.request.urlopen(served + path, timeout=5) as answer:  # noqa: S310 (http, ours)
            assert answer.headers["Content-Security-Policy"] == (
                "default-src 'none'; frame-ancestors 'none'"
            )
