"""WEB_ORIGIN, the one origin CORS allows: a deployed stage must name it (tests/infra packages
one without it and with it)."""

from __future__ import annotations

import pytest

from chalicelib.api.web import MissingWebOrigin, web_origin
from chalicelib.platform.local_stage import LOCAL_WEB_ORIGIN


@pytest.mark.parametrize("stage", [{}, {"STAGE": "local"}, {"STAGE": "test"}])
def test_a_local_stage_defaults_to_make_runs_pages(stage: dict[str, str]) -> None:
    assert web_origin(stage) == LOCAL_WEB_ORIGIN


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_a_deployed_stage_without_web_origin_is_refused(stage: str) -> None:
    with pytest.raises(MissingWebOrigin, match=f"stage '{stage}' has no WEB_ORIGIN"):
        web_origin({"STAGE": stage})
    with pytest.raises(MissingWebOrigin):
        web_origin({"STAGE": stage, "WEB_ORIGIN": ""})


def test_a_deployed_stage_allows_the_origin_it_names() -> None:
    origin = "https://d111111abcdef8.cloudfront.net"
    assert web_origin({"STAGE": "prod", "WEB_ORIGIN": origin}) == origin
    assert web_origin({"STAGE": "local", "WEB_ORIGIN": "http://127.0.0.1:8081"}) == (
        "http://127.0.0.1:8081"
    )


@pytest.mark.parametrize(
    "origin",
    ["https://cc.example.com/", "https://cc.example.com/softphone", "cc.example.com", "https://"],
)
def test_what_a_browser_never_sends_as_its_origin_is_refused(origin: str) -> None:
    with pytest.raises(MissingWebOrigin, match="is not an origin"):
        web_origin({"STAGE": "prod", "WEB_ORIGIN": origin})
