"""`web/config.js`: what the static pages need to know about the stage they talk to.

The pages are plain static files, so the stage's settings reach them as one small script that
sets `window.CC_CONFIG` before the app loads: the API's URL, the Cognito user pool to sign in
to, the Twilio edge, and the page's own version (sent as `X-Client-Version`). `make run` writes
it for the local stack (moto's Cognito, chalice local); `ops web-deploy` writes the deployed
stage's. The client version is `web/package.json`'s `version`, so there is one place to bump it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
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

    def as_dict(self) -> dict[str, object]:
        cognito = {
            "region": self.cognito_region,
            "userPoolId": self.cognito_user_pool_id,
            "clientId": self.cognito_client_id,
        }
        if self.cognito_endpoint:
            cognito["endpoint"] = self.cognito_endpoint.rstrip("/") + "/"
        return {
            "apiBaseUrl": self.api_base_url.rstrip("/"),
            "cognito": cognito,
            "edge": self.edge,
            "clientVersion": self.client_version or client_version(),
        }

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
    api_url: str, moto_url: str, region: str, pool_id: str, client_id: str
) -> WebConfig:
    """The local stack's: chalice local's API, moto's Cognito."""
    return WebConfig(
        api_base_url=api_url,
        cognito_region=region,
        cognito_user_pool_id=pool_id,
        cognito_client_id=client_id,
        cognito_endpoint=moto_url,
    )
