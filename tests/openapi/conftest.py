"""The OpenAPI check of the session's recorded requests runs after every other test."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "openapi_last: run after every other test (it checks what they recorded)"
    )


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    last = [item for item in items if item.get_closest_marker("openapi_last")]
    items[:] = [item for item in items if item not in last] + last
