"""The edge of the API, before routing: request size and time limits, and HEAD answered as GET."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bayit.envelope import send_error


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = 1_048_576
    max_header_bytes: int = 16_384
    max_headers: int = 100
    body_timeout: float = 10.0


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body larger than {limit} bytes")


class BodyTimeout(HTTPException):
    def __init__(self, timeout: float) -> None:
        super().__init__(408, f"request body not received within {timeout:g} s")


def refusal(scope: Scope, limits: Limits) -> tuple[int, str] | None:
    """The status and message that refuse this request on its head alone (too many or too large headers,
    a bad or too large ``Content-Length``), or None when it may go on."""
    headers = scope["headers"]
    declared: bytes | None = None
    size = 0
    for name, value in headers:
        size += len(name) + len(value) + 4
        if name == b"content-length":
            declared = value
    if len(headers) > limits.max_headers or size > limits.max_header_bytes:
        return 431, f"request headers exceed {limits.max_headers} fields or {limits.max_header_bytes} bytes"
    if declared is not None:
        if not declared.isdigit():
            return 400, "Content-Length is not a number"
        if int(declared) > limits.max_body_bytes:
            return 413, f"request body larger than {limits.max_body_bytes} bytes"
    return None


class EdgeMiddleware:
    """Refuses oversized requests before they cost memory: headers beyond the limits (431), a declared
    ``Content-Length`` over the body limit (413, nothing read), a streamed body that passes it (413, counted
    chunk by chunk, nothing buffered here) or that stalls between chunks (408). Runs inside the observability
    middleware, so these answers are logged, counted and carry the correlation id.

    HEAD on any route that answers GET is served as that GET without its body (FastAPI routes list GET only).
    """

    def __init__(self, app: ASGIApp, limits: Limits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limits = self.limits
        refused = refusal(scope, limits)
        if refused is not None:
            await send_error(send, *refused)
            return

        received = 0
        body_done = False

        async def limited_receive() -> Message:
            nonlocal received, body_done
            if body_done:  # later receives wait for the disconnect: no deadline
                return await receive()
            try:
                async with asyncio.timeout(limits.body_timeout):
                    message = await receive()
            except TimeoutError:
                raise BodyTimeout(limits.body_timeout) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limits.max_body_bytes:
                    raise BodyTooLarge(limits.max_body_bytes)
                body_done = not message.get("more_body", False)
            else:
                body_done = True
            return message

        started = False
        head = scope["method"] == "HEAD"
        if head:
            scope = {**scope, "method": "GET"}

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            elif head and message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except (BodyTooLarge, BodyTimeout) as exc:  # raised outside FastAPI's handlers (plain routes)
            if started:
                raise
            await send_error(tracking_send, exc.status_code, str(exc.detail))
