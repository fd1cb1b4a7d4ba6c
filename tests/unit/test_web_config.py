"""web/config.js: what the static pages learn about their stage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

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


def test_each_local_stack_keeps_its_config_by_web_port(tmp_path: Path) -> None:
    from ops.web_config import local_config_path

    assert local_config_path(8080, tmp_path) == tmp_path / "web-config-8080.js"
    assert local_config_path(35181, tmp_path) != local_config_path(8080, tmp_path)


def test_the_static_server_answers_config_js_from_the_stacks_file(tmp_path: Path) -> None:
    import http.server
    import threading
    import urllib.error
    import urllib.request

    from ops.web_config import web_handler

    web = tmp_path / "web"
    (web / "board").mkdir(parents=True)
    (web / "index.html").write_text("<p>softphone</p>")
    (web / "config.js").write_text("// a stale file in web/: never served when --config is given")
    mine = write_web_config(
        tmp_path / "var" / "web-config-1.js",
        WebConfig("http://127.0.0.1:1", "ap-northeast-1", "p", "c", client_version="1.2.3"),
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), web_handler(mine, web))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"

    def get(path: str) -> tuple[str, str]:
        with urllib.request.urlopen(base + path, timeout=5) as response:  # noqa: S310 - local
            return response.read().decode(), response.headers.get("Cache-Control", "")

    try:
        text, cache = get("/config.js")
        assert _config_of(text)["clientVersion"] == "1.2.3"
        assert cache == "no-store"
        # The boards load `../config.js` from /board/ and /dashboard/: the same file.
        assert _config_of(get("/config.js?v=2")[0])["clientVersion"] == "1.2.3"
        assert get("/index.html")[0] == "<p>softphone</p>"
        assert get("/index.html")[1] == ""
        with pytest.raises(urllib.error.HTTPError) as outside:
            get("/board/../../var/web-config-1.js")
        assert outside.value.code == 404
    finally:
        server.shutdown()
        server.server_close()


def test_crm_origins_reach_the_page_only_when_there_are_some() -> None:
    from ops.web_config import parse_crm_origins

    origins = parse_crm_origins(" https://crm.example.com, http://127.0.0.1:9000 ,")
    assert origins == ("https://crm.example.com", "http://127.0.0.1:9000")
    config = WebConfig("https://api", "ap-northeast-1", "p", "c", crm_origins=origins)
    assert _config_of(config.script())["crmOrigins"] == list(origins)
    assert "crmOrigins" not in _config_of(WebConfig("https://api", "r", "p", "c").script())


@pytest.mark.parametrize(
    "text", ["https://crm.example.com/", "crm.example.com", "https://crm.example.com/app", "*"]
)
def test_a_crm_origin_must_be_written_as_browsers_write_origins(text: str) -> None:
    from ops.web_config import parse_crm_origins

    with pytest.raises(ValueError, match="not origins"):
        parse_crm_origins(text)


def test_a_deployed_stage_writes_its_crm_origins_setting_into_the_release() -> None:
    from ops.settings import OperatorSettings
    from ops.web_deploy import stage_web_config
    from tests.conftest import make_settings

    settings = OperatorSettings.from_values(
        {**make_settings().flat(), "crm_origins": "https://crm.example.com"}
    )
    assert stage_web_config(settings).crm_origins == ("https://crm.example.com",)
