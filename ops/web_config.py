"""`/config.js`: what the static pages need to know about the stage they talk to.

The pages are plain static files, so the stage's settings reach them as one small script that
sets `window.CC_CONFIG` before the app loads: the API's URL, the Cognito user pool to sign in
to, the Twilio edge, and the page's own version (sent as `X-Client-Version`). The client
version is `web/package.json`'s `version`, so there is one place to bump it.

Locally, `ops local` (`make run`, and the browser tests' stacks on their own ports) writes the
stack's config to `var/web-config-<web port>.js` and `serve_web` answers `/config.js` with it,
so two stacks never share (or overwrite) one file in `web/`. In the cloud, `ops web-deploy`
writes the stage's config into the release.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
LOCAL_CONFIG_DIR = WEB_DIR.parent / "var"
CONFIG_PATH = "/config.js"
DEFAULT_EDGE = "tokyo"


def client_version(web_dir: Path = WEB_DIR) -> str:
    """The softphone's version: `version` in web/package.json."""
    return str(json.loads((web_dir / "package.json").read_text(encoding="utf-8"))["version"])


@dataclass(frozen=True)
class WebConfig:
    api_base_url: str
    cognito_region: str
    cognito_user_pool_id: str
    cognito_client_id: str
    # Empty in the cloud (the page uses cognito-idp.<region>.amazonaws.com); moto's URL locally.
    cognito_endpoint: str = ""
    edge: str = DEFAULT_EDGE
    client_version: str = ""
    # Origins of CRM pages allowed to ask the softphone to dial (postMessage; web/app/
    # click_to_dial.js). Left out of the file when there are none: nobody may.
    crm_origins: tuple[str, ...] = ()
    # Where the pages play media from besides their own origin: the recordings bucket's S3
    # origins (presigned GETs). Not written to config.js: only the page's CSP needs it
    # (ops/web_csp.py).
    media_origins: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        cognito = {
            "region": self.cognito_region,
            "userPoolId": self.cognito_user_pool_id,
            "clientId": self.cognito_client_id,
        }
        if self.cognito_endpoint:
            cognito["endpoint"] = self.cognito_endpoint.rstrip("/") + "/"
        config: dict[str, object] = {
            "apiBaseUrl": self.api_base_url.rstrip("/"),
            "cognito": cognito,
            "edge": self.edge,
            "clientVersion": self.client_version or client_version(),
        }
        if self.crm_origins:
            config["crmOrigins"] = list(self.crm_origins)
        return config

    def script(self) -> str:
        body = json.dumps(self.as_dict(), indent=2, ensure_ascii=False)
        return (
            "// Written by `python -m ops` (ops/web_config.py); do not edit by hand.\n"
            f"window.CC_CONFIG = Object.freeze({body});\n"
        )


def write_web_config(path: Path, config: WebConfig) -> Path:
    """Write `config.js` for `config` to `path` (atomically: the page may be loading it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".js.partial")
    partial.write_text(config.script(), encoding="utf-8")
    partial.replace(path)
    return path


def local_web_config(
    api_url: str,
    moto_url: str,
    region: str,
    pool_id: str,
    client_id: str,
    crm_origins: tuple[str, ...] = (),
) -> WebConfig:
    """The local stack's: chalice local's API, moto's Cognito."""
    return WebConfig(
        api_base_url=api_url,
        cognito_region=region,
        cognito_user_pool_id=pool_id,
        cognito_client_id=client_id,
        cognito_endpoint=moto_url,
        crm_origins=crm_origins,
        media_origins=(moto_url,),  # moto is the local S3 too
    )


_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$")


def parse_crm_origins(text: str) -> tuple[str, ...]:
    """The CRM_ORIGINS setting: comma-separated origins exactly as browsers write them
    (`https://crm.example.com`, `http://127.0.0.1:9000`: scheme, host, port; no path, no
    trailing slash, since a message's `origin` is compared as a string)."""
    origins = tuple(o.strip() for o in text.split(",") if o.strip())
    bad = [o for o in origins if not _ORIGIN.match(o)]
    if bad:
        raise ValueError(f"not origins (scheme://host[:port]): {', '.join(bad)}")
    return origins


def local_config_path(web_port: int, directory: Path = LOCAL_CONFIG_DIR) -> Path:
    """Where `ops local` keeps the config of the stack whose pages are on `web_port`."""
    return directory / f"web-config-{web_port}.js"


def web_handler(config: Path | None, web_dir: Path = WEB_DIR, csp: str = "") -> type[Any]:
    """A static file handler for `web_dir` that answers `/config.js` from `config` (uncached:
    it changes with every start of the stack), every answer with the `csp` policy
    (ops/web_csp.py), if any."""

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(web_dir), **kwargs)

        def _is_config(self) -> bool:
            return config is not None and urlsplit(self.path).path == CONFIG_PATH

        def translate_path(self, path: str) -> str:
            if config is not None and urlsplit(path).path == CONFIG_PATH:
                return str(config)
            return super().translate_path(path)

        def end_headers(self) -> None:
            if self._is_config():
                self.send_header("Cache-Control", "no-store")
            if csp:
                self.send_header("Content-Security-Policy", csp)
            super().end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return  # chalice local's log is the one worth reading

    return Handler


def serve_web(port: int, config: Path | None = None, web_dir: Path = WEB_DIR, csp: str = "") -> int:
    """Serve `web_dir` on 127.0.0.1:`port` until interrupted, `/config.js` from `config`,
    with `csp` as every answer's Content-Security-Policy."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), web_handler(config, web_dir, csp))
    with server, contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0
