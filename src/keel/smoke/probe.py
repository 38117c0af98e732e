"""One request of a check: send it, name what went wrong when no usable answer came back, judge the answer."""

from __future__ import annotations

import json
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import jmespath

from keel.smoke.assertions import evaluate
from keel.smoke.report import FailureKind
from keel.smoke.suite import Check, Request
from keel.smoke.templates import Variables

MAX_REDIRECTS = 10


@dataclass(frozen=True)
class Verdict:
    """How one answer was judged: ``kind`` None means it was acceptable."""

    kind: FailureKind | None
    message: str = ""
    status: int | None = None
    captured: dict[str, Any] = field(default_factory=dict)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def classify(exc: BaseException, url: httpx.URL, timeout: float) -> tuple[FailureKind, str]:
    """Name the failure behind a request exception; transport libraries wrap the real cause, so the whole
    cause chain is searched."""
    host = f"{url.host}:{url.port}" if url.port else url.host
    chain = list(_causes(exc))
    if any(isinstance(e, TimeoutError | httpx.TimeoutException) for e in chain):
        return FailureKind.timeout, f"no complete answer within {timeout:g}s"
    if isinstance(exc, httpx.TooManyRedirects):
        return (
            FailureKind.redirect_loop,
            f"more than {MAX_REDIRECTS} redirects, last to {_last_location(exc)}",
        )
    for e in chain:
        if isinstance(e, ssl.SSLCertVerificationError):
            return FailureKind.tls_error, f"TLS certificate of {host} not trusted: {e.verify_message}"
        if isinstance(e, ssl.SSLError):
            return (
                FailureKind.tls_error,
                f"TLS handshake with {host} failed: {getattr(e, 'reason', None) or e}",
            )
        if isinstance(e, socket.gaierror):
            return FailureKind.dns_failure, f"DNS lookup of {url.host} failed: {e.strerror or e}"
        if isinstance(e, ConnectionRefusedError):
            return FailureKind.connection_refused, f"connection to {host} refused"
    if any(isinstance(e, httpx.RemoteProtocolError | ConnectionResetError | httpx.ReadError) for e in chain):
        return FailureKind.connection_closed, f"{host} closed the connection without a complete answer"
    return FailureKind.connection_error, f"{type(exc).__name__} talking to {host}: {exc}"


def _last_location(exc: httpx.TooManyRedirects) -> str:
    try:
        return exc.request.url.path
    except RuntimeError:
        return "?"


def build(request: Request, variables: Variables, headers: dict[str, str]) -> dict[str, Any]:
    """The keyword arguments of ``httpx.AsyncClient.request`` for one request, variables substituted."""
    kwargs: dict[str, Any] = {
        "method": request.method,
        "headers": {**headers, **variables.render_headers(request.headers.items())},
        "follow_redirects": request.follow_redirects,
    }
    if "json_body" in request.model_fields_set:
        kwargs["json"] = variables.render_json(request.json_body)
    elif request.body is not None:
        kwargs["content"] = variables.render(request.body).encode()
    return kwargs


def _media_type(value: str) -> str:
    return value.split(";", 1)[0].strip().lower()


def judge(check: Check, response: httpx.Response, variables: Variables) -> Verdict:
    """Status first, then content type, then JSON: the first thing wrong is what the report names."""
    status = response.status_code
    expect = check.expect
    if status not in expect.status:
        wanted = " or ".join(str(s) for s in expect.status)
        return Verdict(FailureKind.wrong_status, f"expected status {wanted}, got {status}", status)
    if expect.content_type is not None:
        got = _media_type(response.headers.get("content-type", ""))
        if got != _media_type(expect.content_type):
            return Verdict(
                FailureKind.content_type,
                f"expected content type {_media_type(expect.content_type)}, got {got or 'none'}",
                status,
            )
    if not expect.json_assertions and not check.capture:
        return Verdict(None, "", status)
    try:
        document = json.loads(response.content)
    except (ValueError, UnicodeDecodeError) as exc:
        kind = response.headers.get("content-type", "no content type")
        return Verdict(
            FailureKind.invalid_json,
            f"body is not valid JSON ({len(response.content)} bytes, {kind}): {exc}",
            status,
        )
    problems: list[str] = []
    for assertion in expect.json_assertions:
        problems.extend(evaluate(assertion, document, variables.render_json))
    if problems:
        return Verdict(FailureKind.assertion_failed, "; ".join(problems), status)
    captured: dict[str, Any] = {}
    for name, capture in check.capture.items():
        value = jmespath.search(capture.path, document)
        if value is None:
            return Verdict(FailureKind.assertion_failed, f"capture {name}: {capture.path} is missing", status)
        captured[name] = value
    return Verdict(None, "", status, captured)
