"""Twilio's own OpenAPI description of its REST API, as a checker of what we send and what the
stand-in answers.

The files come from the npm package `@twilio/cli-core` (pinned in tests/openapi/package.json,
installed by `make test` with `npm ci`): `src/services/twilio-api/twilio_<product>_<version>.json`,
the same files as Twilio's public twilio-oai repository. A request is matched to an operation by
host, method and path template; its query and form parameters must be parameters of that
operation, with values of the declared type, enum and pattern. A response must carry, with the
declared types, the fields of the operation's response schema that our adapter reads.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

SPEC_DIR = (
    Path(__file__).resolve().parent
    / "node_modules"
    / "@twilio"
    / "cli-core"
    / "src"
    / "services"
    / "twilio-api"
)
# The products the app talks to (chalicelib/telephony/rest.py).
SPEC_FILES = ("twilio_api_v2010.json", "twilio_taskrouter_v1.json")

# A recording's media is the Recording resource's URI with `.wav` or `.mp3` instead of `.json`,
# and takes `RequestedChannels` (https://www.twilio.com/docs/voice/api/recording
# #fetch-a-recording-media-file); the description has no operation of its own for it.
MEDIA_EXTENSIONS = (".wav", ".mp3")
MEDIA_PARAMETERS = {"RequestedChannels": {"type": "integer", "enum": [1, 2]}}


class SpecMissing(RuntimeError):
    """The OpenAPI files are not installed (run `make test`, or `npm ci` in tests/openapi)."""


@dataclass(frozen=True)
class Operation:
    spec: str
    host: str
    method: str
    template: str
    pattern: re.Pattern[str]
    body: dict[str, Any]
    path_params: dict[str, dict[str, Any]]
    query_params: dict[str, dict[str, Any]]
    form: dict[str, dict[str, Any]]
    required_form: frozenset[str]
    responses: dict[str, Any] = field(hash=False, compare=False)

    @property
    def operation_id(self) -> str:
        return str(self.body.get("operationId", f"{self.method} {self.template}"))


@cache
def _documents() -> tuple[tuple[str, dict[str, Any]], ...]:
    if not SPEC_DIR.is_dir():
        raise SpecMissing(
            f"{SPEC_DIR} is missing: run `npm ci` in tests/openapi (`make test` does)"
        )
    return tuple(
        (name, json.loads((SPEC_DIR / name).read_text(encoding="utf-8"))) for name in SPEC_FILES
    )


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        ref = schema["$ref"]
        node: Any = document
        for part in ref.lstrip("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def _template_regex(template: str) -> re.Pattern[str]:
    out = ""
    for piece in re.split(r"(\{[^}]+\})", template):
        if piece.startswith("{"):
            out += f"(?P<{piece[1:-1]}>[^/]+?)"
        else:
            out += re.escape(piece)
    return re.compile(out)


@cache
def operations() -> tuple[Operation, ...]:
    found: list[Operation] = []
    for name, document in _documents():
        default_host = urlsplit(document["servers"][0]["url"]).netloc
        for template, item in document["paths"].items():
            host = urlsplit(item["servers"][0]["url"]).netloc if "servers" in item else default_host
            for method in ("get", "post", "delete"):
                body = item.get(method)
                if body is None:
                    continue
                params = [_resolve(document, p) for p in body.get("parameters", [])]
                form_schema = (
                    body.get("requestBody", {})
                    .get("content", {})
                    .get("application/x-www-form-urlencoded", {})
                    .get("schema", {})
                )
                form_schema = _resolve(document, form_schema) if form_schema else {}
                found.append(
                    Operation(
                        spec=name,
                        host=host,
                        method=method.upper(),
                        template=template,
                        pattern=_template_regex(template),
                        body=body,
                        path_params={
                            p["name"]: _resolve(document, p.get("schema", {}))
                            for p in params
                            if p.get("in") == "path"
                        },
                        query_params={
                            p["name"]: _resolve(document, p.get("schema", {}))
                            for p in params
                            if p.get("in") == "query"
                        },
                        form={
                            k: _resolve(document, v)
                            for k, v in form_schema.get("properties", {}).items()
                        },
                        required_form=frozenset(form_schema.get("required", [])),
                        responses=body.get("responses", {}),
                    )
                )
    return tuple(found)


def document_of(operation: Operation) -> dict[str, Any]:
    return dict(_documents())[operation.spec]


def find_operation(method: str, url: str) -> tuple[Operation, dict[str, str], bool] | None:
    """The operation `method url` calls, its path parameters, and whether it is a media fetch."""
    parts = urlsplit(url)
    path = parts.path
    media = path.endswith(MEDIA_EXTENSIONS)
    if media:
        path = path.rsplit(".", 1)[0] + ".json"
    for operation in operations():
        if operation.host != parts.netloc or operation.method != method.upper():
            continue
        match = operation.pattern.fullmatch(path)
        if match:
            return operation, {k: unquote(v) for k, v in match.groupdict().items()}, media
    return None


def operation_by_id(operation_id: str) -> Operation:
    for operation in operations():
        if operation.operation_id == operation_id:
            return operation
    raise KeyError(operation_id)


# ---- values against schemas ------------------------------------------------------------------


def _values(value: Any) -> list[Any]:
    """A form or query value as the items it carries (twilio sends a list as repeated keys)."""
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def value_problems(
    document: dict[str, Any], name: str, schema: dict[str, Any], value: Any
) -> list[str]:
    """Why `value` (as sent on the wire: text, or a list of texts) is not valid for `schema`."""
    schema = _resolve(document, schema)
    if schema.get("type") == "array":
        items = _resolve(document, schema.get("items", {}))
        problems: list[str] = []
        for item in _values(value):
            # An instruction (and some clients) join a list into one text: "a,b" or "a b".
            for one in re.split(r"[ ,]+", str(item).strip()) if isinstance(item, str) else [item]:
                problems += value_problems(document, name, items, one)
        return problems
    text = str(value)
    kind = schema.get("type")
    if kind == "integer":
        if isinstance(value, bool) or not re.fullmatch(r"-?\d+", text):
            return [f"{name}={text!r} is not an integer"]
        number = int(text)
        if "minimum" in schema and number < schema["minimum"]:
            return [f"{name}={number} is below {schema['minimum']}"]
        if "maximum" in schema and number > schema["maximum"]:
            return [f"{name}={number} is above {schema['maximum']}"]
    if kind == "boolean" and text.lower() not in {"true", "false"}:
        return [f"{name}={text!r} is not a boolean"]
    if "enum" in schema and text not in {str(e) for e in schema["enum"]}:
        return [f"{name}={text!r} is not one of {schema['enum']}"]
    if "pattern" in schema and not re.search(schema["pattern"], text):
        return [f"{name}={text!r} does not match {schema['pattern']}"]
    if schema.get("format") == "uri" and not re.match(r"https?://", text):
        return [f"{name}={text!r} is not an absolute URL"]
    return []


def request_problems(
    method: str,
    url: str,
    params: Mapping[str, Any] | None = None,
    data: Mapping[str, Any] | None = None,
) -> list[str]:
    """Why the request is not one Twilio's description documents (empty when it is)."""
    where = f"{method.upper()} {urlsplit(url).netloc}{urlsplit(url).path}"
    found = find_operation(method, url)
    if found is None:
        return [f"{where}: no operation of Twilio's API has this method and path"]
    operation, path_values, media = found
    document = document_of(operation)
    problems: list[str] = []
    for name, value in path_values.items():
        problems += value_problems(document, name, operation.path_params.get(name, {}), value)
    query_schema = MEDIA_PARAMETERS if media else operation.query_params
    for name, value in (params or {}).items():
        if name not in query_schema:
            problems.append(f"query parameter {name!r} is not a parameter of the operation")
        else:
            problems += value_problems(document, name, query_schema[name], value)
    for name, value in (data or {}).items():
        if name not in operation.form:
            problems.append(f"form parameter {name!r} is not a parameter of the operation")
        else:
            problems += value_problems(document, name, operation.form[name], value)
    for name in sorted(operation.required_form - set(data or {})):
        problems.append(f"required form parameter {name!r} is missing")
    return [f"{where} ({operation.operation_id}): {p}" for p in problems]


# ---- responses -------------------------------------------------------------------------------


def _type_problems(document: dict[str, Any], name: str, schema: dict[str, Any], value: Any) -> str:
    schema = _resolve(document, schema)
    if value is None:
        nullable = schema.get("nullable", False) or "$ref" in schema
        # Enum refs (task_enum_status ...) carry no `nullable`; null is a type error for them.
        return "" if nullable else f"{name} is null, which the schema does not allow"
    kind = schema.get("type")
    expected = {
        "string": str,
        "integer": int,
        "number": int | float,
        "boolean": bool,
        "object": dict,
        "array": list,
    }.get(str(kind))
    if expected is not None and (
        not isinstance(value, expected) or (kind in {"integer", "number"} and value is True)
    ):
        return f"{name}={value!r} is not of type {kind}"
    if "enum" in schema and value not in schema["enum"]:
        return f"{name}={value!r} is not one of {schema['enum']}"
    if isinstance(value, str) and value:
        fmt = schema.get("format")
        try:
            if fmt == "date-time":
                datetime.fromisoformat(value.replace("Z", "+00:00"))
            elif fmt == "date-time-rfc-2822":
                parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return f"{name}={value!r} is not {fmt}"
        if "pattern" in schema and not re.search(schema["pattern"], value):
            return f"{name}={value!r} does not match {schema['pattern']}"
    return ""


def response_schema(operation: Operation, status: int) -> dict[str, Any] | None:
    response = operation.responses.get(str(status))
    if response is None:
        return None
    content = response.get("content", {}).get("application/json")
    if content is None:
        return {}
    return _resolve(document_of(operation), content["schema"])


def response_problems(
    operation: Operation, status: int, body: Any, reads: Iterable[str]
) -> list[str]:
    """Why the response is not what Twilio documents: an undocumented status, a field we read
    that the schema does not name, or a field of the wrong type. For a list, `reads` applies to
    each item and the paging fields twilio's client reads are checked too."""
    where = f"{operation.operation_id} {status}"
    document = document_of(operation)
    schema = response_schema(operation, status)
    if schema is None:
        return [f"{where}: status {status} is not a documented response"]
    if not schema:
        return [] if body in (None, "", b"") else [f"{where}: documented with no body"]
    if not isinstance(body, dict):
        return [f"{where}: body is not a JSON object"]
    properties = schema.get("properties", {})
    item_lists = [k for k, v in properties.items() if _resolve(document, v).get("type") == "array"]
    problems: list[str] = []
    if "meta" in properties or ("end" in properties and item_lists):
        key = item_lists[0]
        items_schema = _resolve(document, _resolve(document, properties[key])["items"])
        paging = ["meta"] if "meta" in properties else ["next_page_uri"]
        problems += _fields(document, where, properties, body, [key, *paging])
        if isinstance(body.get("meta"), dict):
            meta = _resolve(document, properties["meta"]).get("properties", {})
            problems += _fields(document, f"{where} meta", meta, body["meta"], ["key"])
            if body["meta"].get("key") != key:
                problems.append(f"{where}: meta.key is {body['meta'].get('key')!r}, not {key!r}")
        for index, item in enumerate(body.get(key) or []):
            problems += _fields(
                document,
                f"{where} {key}[{index}]",
                items_schema.get("properties", {}),
                item,
                reads,
            )
        return problems
    return _fields(document, where, properties, body, reads)


def _fields(
    document: dict[str, Any],
    where: str,
    properties: dict[str, Any],
    body: dict[str, Any],
    reads: Iterable[str],
) -> list[str]:
    problems = []
    for name in reads:
        if name not in properties:
            problems.append(f"{where}: the schema names no field {name!r} (we read it)")
        elif name not in body:
            problems.append(f"{where}: field {name!r} is missing")
        else:
            problem = _type_problems(document, name, properties[name], body[name])
            if problem:
                problems.append(f"{where}: {problem}")
    # Every other field the stand-in sends must be one Twilio documents, of the documented type.
    for name, value in body.items():
        if name in reads:
            continue
        if name not in properties:
            problems.append(f"{where}: field {name!r} is not in the schema")
            continue
        problem = _type_problems(document, name, properties[name], value)
        if problem:
            problems.append(f"{where}: {problem}")
    return problems


# ---- TaskRouter assignment instructions ------------------------------------------------------

# An assignment callback's JSON instruction carries the parameters of the Reservation update,
# in snake_case; the `call`, `dequeue` and `redirect` instructions drop their prefix (`CallTo`
# is `to` of a call instruction). https://www.twilio.com/docs/taskrouter/handle-assignment-callbacks
# and https://www.twilio.com/docs/taskrouter/api/reservations#conference
_PREFIX = {"conference": "", "call": "Call", "dequeue": "Dequeue", "redirect": "Redirect"}
_STATUS = {"accept": "accepted", "reject": "rejected"}


def _pascal(snake: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in snake.split("_"))


def instruction_problems(instruction: Mapping[str, Any]) -> list[str]:
    """Why an assignment instruction uses a parameter the Reservation update does not have."""
    operation = operation_by_id("UpdateTaskReservation")
    document = document_of(operation)
    kind = str(instruction.get("instruction", ""))
    if kind in _STATUS:
        extra = sorted(set(instruction) - {"instruction", "activity_sid"})
        problems = [f"{kind} instruction: {extra} are not parameters"] if extra else []
        if "activity_sid" in instruction:
            schema = operation.form["WorkerActivitySid"]
            value = instruction["activity_sid"]
            problems += value_problems(document, "activity_sid", schema, value)
        return problems
    if kind not in _PREFIX:
        return [f"instruction {kind!r} is not one TaskRouter documents"]
    problems: list[str] = []
    for key, value in instruction.items():
        if key == "instruction":
            continue
        name = _PREFIX[kind] + _pascal(key)
        if name not in operation.form:
            problems.append(
                f"{kind} instruction: {key!r} ({name}) is not a parameter of the Reservation update"
            )
            continue
        wire = str(value).lower() if isinstance(value, bool) else value
        problems += [
            f"{kind} instruction: {p}"
            for p in value_problems(document, key, operation.form[name], wire)
        ]
    return problems
