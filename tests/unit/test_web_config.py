"""web/config.js: what the static pages learn about their stage."""

from __future__ import annotations

import json
from pathlib import Path

from ops.web_config import WebConfig, client_version, local_web_config, write_web_config

ROOT = Path(__file__).resolve().parents[2]


def _config_of(script: str) -> dict[str, object]:
    prefix, _, rest = script.partition("window.CC_CONFIG = Object.freeze(")
    assert prefix.startswith("//"), "the file says who writes it"
    return json.loads(rest.removesuffix(");\n"))


def test_local_config_points_the_page_at_chalice_local_and_motos_cognito() -> None:
    config = local_web_config(
        "http://127.0.0.1:8000/", "http://127.0.0.1:5000", "ap-northeast-1", "pool_1", "client1"
    )
    assert _config_of(config.script()) == {
        "apiBaseUrl": "http://127.0.0.1:8000",
        "cognito": {
            "region": "ap-northeast-1",
            "userPoolId": "pool_1",
            "clientId": "client1",
            "endpoint": "http://127.0.0.1:5000/",
        },
        "edge": "tokyo",
        "clientVersion": client_version(),
    }


def test_a_deployed_stage_uses_cognitos_own_endpoint() -> None:
    config = WebConfig("https://api.example.test/api", "ap-northeast-1", "p", "c", edge="sydney")
    data = _config_of(config.script())
    assert "endpoint" not in data["cognito"]  # type: ignore[operator]
    assert data["edge"] == "sydney"


def test_client_version_is_package_json_version() -> None:
    package = json.loads((ROOT / "web" / "package.json").read_text())
    assert client_version() == package["version"]


def test_write_replaces_the_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "web" / "config.js"
    target.parent.mkdir()
    target.write_text("old")
    config = WebConfig("http://api", "ap-northeast-1", "p", "c", client_version="9.9.9")
    assert write_web_config(target, config) == target
    assert _config_of(target.read_text())["clientVersion"] == "9.9.9"
    assert [p.name for p in target.parent.iterdir()] == ["config.js"]
