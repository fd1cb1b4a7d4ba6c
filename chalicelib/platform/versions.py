"""Keeping the softphone and the API in step: which client versions this server still serves.

The old browser extension drifted out of version with the server and failed silently. Now every
API request from the web pages carries `X-Client-Version`, and every response tells the page
which versions the server supports (`X-Server-Version`, `X-Min-Client-Version`,
`X-Latest-Client-Version`). A page older than `latest` shows a banner and reloads itself when no
call is active; a page older than `min` is refused with 426 and a message it can show. Requests
without the header (Twilio's webhooks, operators' scripts) are not version-checked.

Versions are `MAJOR.MINOR.PATCH` (a `-suffix` or `+build` is allowed and ignored when
comparing). Pure functions: the middleware in app.py is the only caller.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CLIENT_VERSION_HEADER = "X-Client-Version"
SERVER_VERSION_HEADER = "X-Server-Version"
MIN_CLIENT_VERSION_HEADER = "X-Min-Client-Version"
LATEST_CLIENT_VERSION_HEADER = "X-Latest-Client-Version"
RESPONSE_HEADERS = (SERVER_VERSION_HEADER, MIN_CLIENT_VERSION_HEADER, LATEST_CLIENT_VERSION_HEADER)

UPGRADE_REQUIRED = 426
_VERSION = re.compile(r"^(\d{1,6})\.(\d{1,6})\.(\d{1,6})(?:[-+][0-9A-Za-z.+-]{0,64})?$")


class InvalidVersion(ValueError):
    """Not a MAJOR.MINOR.PATCH version."""


def parse_version(text: str) -> tuple[int, int, int]:
    match = _VERSION.match(text.strip())
    if match is None:
        raise InvalidVersion(f"{text[:40]!r} is not a MAJOR.MINOR.PATCH version")
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


@dataclass(frozen=True)
class Refusal:
    """Why a client is refused, as the JSON body of the 426 the page shows to the agent."""

    client_version: str
    reason: str
    policy: VersionPolicy

    def body(self) -> dict[str, str]:
        return {
            "Code": "UpgradeRequired",
            "Message": self.reason,
            "client_version": self.client_version,
            "min_client_version": self.policy.min_client,
            "latest_client_version": self.policy.latest_client,
        }


@dataclass(frozen=True)
class VersionPolicy:
    server: str
    min_client: str
    latest_client: str

    def __post_init__(self) -> None:
        for value in (self.server, self.min_client, self.latest_client):
            parse_version(value)
        if parse_version(self.min_client) > parse_version(self.latest_client):
            raise InvalidVersion(
                f"min client version {self.min_client} is newer than latest {self.latest_client}"
            )

    def headers(self) -> dict[str, str]:
        """The headers every response carries."""
        return {
            SERVER_VERSION_HEADER: self.server,
            MIN_CLIENT_VERSION_HEADER: self.min_client,
            LATEST_CLIENT_VERSION_HEADER: self.latest_client,
        }

    def refusal(self, client_version: str | None) -> Refusal | None:
        """None if a request with this `X-Client-Version` may proceed, else why not.

        No header at all means the request is not from the web pages (a webhook, a script) and
        is not checked. A header the server cannot read is refused: only a broken or ancient
        page sends one, and a reload is what fixes it.
        """
        if client_version is None:
            return None
        try:
            version = parse_version(client_version)
        except InvalidVersion:
            return Refusal(
                client_version[:40],
                f"This softphone sent an unreadable version ({client_version[:40]!r}). "
                f"Reload the page to get version {self.latest_client}.",
                self,
            )
        if version < parse_version(self.min_client):
            return Refusal(
                client_version,
                f"This softphone (version {client_version}) is too old for the server, which "
                f"needs version {self.min_client} or newer. Reload the page to get version "
                f"{self.latest_client}.",
                self,
            )
        return None
