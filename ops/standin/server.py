"""Serving the stand-in's REST API: over HTTP on 127.0.0.1, or straight to an in-process app.

`TWILIO_API_BASE_URL=http://127.0.0.1:<port>` points the app's TwilioGateway here (see
`chalicelib.telephony.rest.rebased_http_client`). In-process runs skip the socket and give
the app's Container a twilio `HttpClient` that calls the same handler.
"""

from __future__ import annotations

import base64
import http.server
import threading
import urllib.parse
from typing import Any

from twilio.http import HttpClient
from twilio.http.response import Response

from ops.standin.rest import Rest


class _Handler(http.server.BaseHTTPRequestHandler):
    rest: Rest
    protocol_version = "HTTP/1.1"

    def _serve(self, method: str) -> None:
        parts = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        form: dict[str, str] = {}
        for key, value in urllib.parse.parse_qsl(body, keep_blank_values=True):
            # Repeated parameters (StatusCallbackEvent=a&StatusCallbackEvent=b) keep every value.
            form[key] = f"{form[key]} {value}" if key in form else value
        query: dict[str, str] = {}
        for key, value in urllib.parse.parse_qsl(parts.query, keep_blank_values=True):
            # A list filter (AssignmentStatus=wrapping&AssignmentStatus=assigned) keeps them all.
            query[key] = f"{query[key]},{value}" if key in query else value
        reply = self.rest.handle(
            method, parts.path, query, form, self.headers.get("Authorization"), self.headers
        )
        self.send_response(reply.status)
        for name, value in reply.headers:
            self.send_header(name, value)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        return


class RestServer:
    """The REST API on 127.0.0.1:<port> in a background thread (port 0: any free port)."""

    def __init__(self, rest: Rest, port: int = 0) -> None:
        handler = type("Handler", (_Handler,), {"rest": rest})
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> RestServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class InProcessTwilioHttp(HttpClient):
    """twilio's HttpClient boundary, answered by the stand-in in this process."""

    def __init__(self, rest: Rest) -> None:
        import logging

        super().__init__(logger=logging.getLogger("twilio-standin"), is_async=False)
        self._rest = rest

    def request(
        self,
        method: str,
        uri: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        parts = urllib.parse.urlsplit(uri)
        product = parts.netloc.split(".")[0]
        authorization = None
        if auth:
            authorization = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        query = {
            k: ",".join(map(str, v)) if isinstance(v, list) else str(v)
            for k, v in (params or {}).items()
        }
        query.update(dict(urllib.parse.parse_qsl(parts.query)))
        form = {
            k: ",".join(map(str, v)) if isinstance(v, list) else str(v)
            for k, v in (data or {}).items()
        }
        reply = self._rest.handle(
            method.upper(), f"/{product}{parts.path}", query, form, authorization, headers
        )
        text = (
            reply.body.decode("latin-1")
            if reply.content_type != "application/json"
            else reply.body.decode()
        )
        return Response(reply.status, text, headers=dict(reply.headers))
