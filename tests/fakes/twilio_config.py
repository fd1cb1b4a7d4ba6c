"""A small stateful Twilio behind RecordingHttpClient: the configuration resources provisioning
and the doctor touch (workspaces, activities, task queues, workflows, phone numbers, TwiML Apps,
API keys).

Lists return what was created (with Twilio's list keys so twilio's own client pages them),
creates mint sids, updates change fields, fetches of unknown sids answer 404 like Twilio.
Form parameters arrive in Twilio's spelling (`EventCallbackUrl`) and are kept in the JSON
spelling Twilio answers with (`event_callback_url`).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.twilio_http import RecordedRequest, RecordingHttpClient

# collection name in the URL -> (sid prefix, list key in the JSON answer)
COLLECTIONS = {
    "Workspaces": ("WS", "workspaces"),
    "Activities": ("WA", "activities"),
    "TaskQueues": ("WQ", "task_queues"),
    "Workflows": ("WW", "workflows"),
    "Workers": ("WK", "workers"),
    "IncomingPhoneNumbers": ("PN", "incoming_phone_numbers"),
    "Applications": ("AP", "applications"),
    "Keys": ("SK", "keys"),
}
NOT_FOUND = (404, {"code": 20404, "message": "The requested resource was not found", "status": 404})
PAGING = {"Page", "PageSize", "PageToken"}


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _value(raw: Any) -> Any:
    if raw in ("true", "True"):
        return True
    if raw in ("false", "False"):
        return False
    return raw


def _matches(record: dict[str, Any], name: str, value: Any) -> bool:
    """A list filter. `PhoneNumber` of IncomingPhoneNumbers matches as Twilio documents it:
    "You can specify partial numbers and use '*' as a wildcard for any digit" (the
    IncomingPhoneNumbers list in @twilio/cli-core's twilio_api_v2010.json). Where in the number
    a partial one may match is not documented: anywhere, the loosest reading."""
    if name == "phone_number" and str(record.get("sid", "")).startswith("PN"):
        pattern = "".join(r"\d" if c == "*" else re.escape(c) for c in str(value))
        return re.search(pattern, str(record.get(name, ""))) is not None
    return str(record.get(name)) == str(value)


@dataclass
class FakeTwilioConfig:
    http: RecordingHttpClient
    account_sid: str
    records: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    account_status: str = "active"
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        for method in ("GET", "POST", "DELETE"):
            self.http.respond(method, r"^https://(taskrouter|api)\.twilio\.com/", self._serve)

    # --- what tests set up and read ---------------------------------------------------------

    def add_number(self, phone_number: str, **fields: Any) -> dict[str, Any]:
        collection = f"/2010-04-01/Accounts/{self.account_sid}/IncomingPhoneNumbers"
        return self._create(collection, {"phone_number": phone_number, **fields})

    def collection(self, suffix: str) -> list[dict[str, Any]]:
        """Records of every collection whose path ends with `suffix` (e.g. "/Activities")."""
        return [
            record
            for path, items in self.records.items()
            if path.endswith(suffix)
            for record in items.values()
        ]

    def writes(self) -> list[tuple[str, str]]:
        return [(r.method, r.path) for r in self.http.requests if r.method != "GET"]

    # --- the REST API -----------------------------------------------------------------------

    def _create(self, collection: str, fields: dict[str, Any]) -> dict[str, Any]:
        name = collection.rsplit("/", 1)[-1]
        prefix, _ = COLLECTIONS[name]
        sid = f"{prefix}{next(self._ids):032x}"
        record = {"sid": sid, "account_sid": self.account_sid, **fields}
        if name == "Keys":
            record["secret"] = f"secret-{sid}"
        if name == "Workspaces":
            # Twilio gives a new workspace these activities.
            for activity, available in (
                ("Offline", False),
                ("Available", True),
                ("Unavailable", False),
            ):
                self._create(
                    f"/v1/Workspaces/{sid}/Activities",
                    {"friendly_name": activity, "available": available},
                )
        self.records.setdefault(collection, {})[sid] = record
        return record

    def _parent_exists(self, collection: str) -> bool:
        parent, _, _ = collection.rpartition("/")
        owner_collection, _, owner_sid = parent.rpartition("/")
        if owner_collection.endswith("/Workspaces"):
            return owner_sid in self.records.get(owner_collection, {})
        return True

    def _serve(self, request: RecordedRequest) -> tuple[int, Any]:
        path = re.sub(r"\.json$", "", request.path.split("?")[0])
        segments = path.strip("/").split("/")
        if segments[-2:] == ["Accounts", self.account_sid] and request.method == "GET":
            return 200, {"sid": self.account_sid, "status": self.account_status}
        if segments[-1] in COLLECTIONS:
            collection, sid = path, None
        elif len(segments) >= 2 and segments[-2] in COLLECTIONS:
            collection, sid = path.rsplit("/", 1)[0], segments[-1]
        else:
            return NOT_FOUND
        if not self._parent_exists(collection):
            return NOT_FOUND
        items = self.records.setdefault(collection, {})
        fields = {snake(k): _value(v) for k, v in request.data.items()}
        if sid is None and request.method == "GET":
            wanted = {snake(k): v for k, v in request.params.items() if k not in PAGING}
            found = [r for r in items.values() if all(_matches(r, k, v) for k, v in wanted.items())]
            key = COLLECTIONS[collection.rsplit("/", 1)[-1]][1]
            return 200, {key: found, "meta": {"key": key, "next_page_url": None}}
        if sid is None and request.method == "POST":
            return 201, self._create(collection, fields)
        if sid not in items:
            return NOT_FOUND
        if request.method == "POST":
            items[sid].update(fields)
        elif request.method == "DELETE":
            del items[sid]
            return 204, ""
        return 200, items[sid]
