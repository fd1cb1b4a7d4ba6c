"""The version handshake's rules, without HTTP."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.platform.versions import InvalidVersion, VersionPolicy, parse_version

POLICY = VersionPolicy(server="2.3.0", min_client="1.4.0", latest_client="1.6.2")
versions = st.tuples(*(st.integers(min_value=0, max_value=999),) * 3)


def text(version: tuple[int, int, int]) -> str:
    return ".".join(str(part) for part in version)


def test_requests_without_a_client_version_are_not_checked() -> None:
    assert POLICY.refusal(None) is None


@given(versions)
def test_a_client_is_refused_exactly_when_older_than_the_minimum(
    version: tuple[int, int, int],
) -> None:
    refused = POLICY.refusal(text(version)) is not None
    assert refused == (version < (1, 4, 0))


def test_versions_compare_numerically_not_as_text() -> None:
    assert POLICY.refusal("1.10.0") is None
    assert POLICY.refusal("1.3.99") is not None


def test_prerelease_and_build_suffixes_are_ignored() -> None:
    assert parse_version("1.4.0-rc.1") == (1, 4, 0)
    assert parse_version("1.4.0+build.7") == (1, 4, 0)


@pytest.mark.parametrize("bad", ["", "1.4", "v1.4.0", "1.4.0.0", "latest", "1.4.x"])
def test_an_unreadable_client_version_is_refused_with_a_message(bad: str) -> None:
    refusal = POLICY.refusal(bad)
    assert refusal is not None
    assert "unreadable" in refusal.body()["Message"]


def test_refusal_tells_the_page_what_to_load() -> None:
    refusal = POLICY.refusal("1.2.0")
    assert refusal is not None
    body = refusal.body()
    assert body["Code"] == "UpgradeRequired"
    assert body["min_client_version"] == "1.4.0"
    assert body["latest_client_version"] == "1.6.2"
    assert "1.2.0" in body["Message"] and "Reload" in body["Message"]


def test_policy_rejects_a_minimum_newer_than_latest() -> None:
    with pytest.raises(InvalidVersion):
        VersionPolicy(server="1.0.0", min_client="2.0.0", latest_client="1.9.0")


def test_every_response_header_is_named() -> None:
    assert POLICY.headers() == {
        "X-Server-Version": "2.3.0",
        "X-Min-Client-Version": "1.4.0",
        "X-Latest-Client-Version": "1.6.2",
    }
