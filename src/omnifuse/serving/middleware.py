"""ASGI middleware of the server: access log, bearer-token auth, request body limit.

They are plain ASGI callables (no per-request task or body copy beyond the limit check).
Order, outermost first: :class:`AccessLog` (so refused requests are logged too),
:class:`BearerAuth` (before any body is read), :class:`BodyLimit`.

The access log carries the method, the route, the status, the latency and a request id,
never a body, a query string or a header value: requests hold patient data.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import time
import uuid
from collections.abc import Collection, Sequence
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("omnifuse.serving")

REQUEST_ID_HEADER = "x-request-id"
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


async def send_json(send: Send, status: int, body: dict[str, Any], headers: Sequence[tuple[bytes, bytes]] = ()) -> None:
    """Send a complete JSON response."""
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class AccessLog:
    """Logs one line per request: id, method, route, status, latency; adds ``X-Request-ID``.

    A well-formed incoming ``X-Request-ID`` (letters, digits, ``._-``, up to 64) is kept,
    otherwise a new one is made. Paths other than ``routes`` are logged as ``(other)`` (a
    URL may hold anything a client put in it).
    """

    def __init__(self, app: ASGIApp, routes: Collection[str]) -> None:
        self.app = app
        self.routes = frozenset(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or ()).get(REQUEST_ID_HEADER.encode(), b"").decode("latin-1")
        request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        start = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message = {
                    **message,
                    "headers": [*message.get("headers", ()), (REQUEST_ID_HEADER.encode(), request_id.encode())],
                }
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            path = scope.get("path", "")
            logger.info(
                "request_id=%s method=%s path=%s status=%d ms=%.2f",
                request_id,
                scope.get("method", "?"),
                path if path in self.routes else "(other)",
                status,
                1000 * (time.perf_counter() - start),
            )


class BearerAuth:
    """Requires ``Authorization: Bearer <token>`` on every path but ``open_paths`` (401 otherwise).

    The token is compared in constant time.
    """

    def __init__(self, app: ASGIApp, token: str, open_paths: Collection[str] = ("/health",)) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()
        self.open_paths = frozenset(open_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in self.open_paths:
            await self.app(scope, receive, send)
            return
        given = next((v for k, v in scope.get("headers") or () if k == b"authorization"), b"")
        if not hmac.compare_digest(given, self.expected):
            await send_json(
                send,
                401,
                {"detail": "missing or invalid bearer token (Authorization: Bearer <token>)"},
                [(b"www-authenticate", b"Bearer")],
            )
            return
        await self.app(scope, receive, send)


class BodyLimit:
    """Refuses request bodies over ``max_bytes`` with 413.

    A ``Content-Length`` over the limit is refused before reading; otherwise the body is read
    up to the limit (chunked bodies included) and replayed to the app, so an oversized
    stream is refused as soon as it passes the limit.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = int(max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = next((v for k, v in scope.get("headers") or () if k == b"content-length"), None)
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                await send_json(send, 400, {"detail": "invalid Content-Length header"})
                return
            if size > self.max_bytes:
                await self._too_large(send)
                return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            body += message.get("body", b"")
            if len(body) > self.max_bytes:
                await self._too_large(send)
                return
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, send: Send) -> None:
        await send_json(
            send,
            413,
            {
                "detail": f"request body larger than {self.max_bytes} bytes "
                "(send fewer patients per request, or raise --max-body-bytes)"
            },
            [(b"connection", b"close")],
        )
