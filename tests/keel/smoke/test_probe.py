"""Judging an answer (status, content type, JSON, captures) and naming transport failures."""

from __future__ import annotations

import socket
import ssl

import httpx

from keel.smoke.probe import classify, judge
from keel.smoke.report import FailureKind
from keel.smoke.suite import Check
from keel.smoke.templates import Redactor, Variables

URL = httpx.URL("https://svc.example:8443/x")


def wrapped(cause: BaseException) -> httpx.ConnectError:
    """What httpx raises: its own error, the OS or TLS error as the cause."""
    try:
        raise httpx.ConnectError("boom") from cause
    except httpx.ConnectError as exc:
        return exc


def test_classify_searches_the_cause_chain() -> None:
    assert (
        classify(wrapped(ConnectionRefusedError(111, "refused")), URL, 1)[0] is FailureKind.connection_refused
    )
    assert (
        classify(wrapped(socket.gaierror(-2, "Name or service not known")), URL, 1)[0]
        is FailureKind.dns_failure
    )
    assert classify(wrapped(ssl.SSLError(1, "WRONG_VERSION_NUMBER")), URL, 1)[0] is FailureKind.tls_error
    assert classify(httpx.ReadTimeout("slow"), URL, 2.5) == (
        FailureKind.timeout,
        "no complete answer within 2.5s",
    )
    assert classify(TimeoutError(), URL, 1)[0] is FailureKind.timeout
    assert classify(httpx.RemoteProtocolError("gone"), URL, 1)[0] is FailureKind.connection_closed
    kind, message = classify(wrapped(OSError(99, "cannot assign")), URL, 1)
    assert kind is FailureKind.connection_error and "svc.example:8443" in message


def answer(
    status: int = 200, content: bytes = b"{}", content_type: str = "application/json"
) -> httpx.Response:
    return httpx.Response(status, content=content, headers={"content-type": content_type})


def variables() -> Variables:
    return Variables(Redactor(), {})


def test_judge_order_status_content_type_json() -> None:
    check = Check.model_validate(
        {"name": "c", "path": "/", "expect": {"content_type": "application/json", "json": [{"exists": True}]}}
    )
    assert judge(check, answer(500, b"nope", "text/plain"), variables()).kind is FailureKind.wrong_status
    assert judge(check, answer(200, b"nope", "text/plain"), variables()).kind is FailureKind.content_type
    assert judge(check, answer(200, b"nope"), variables()).kind is FailureKind.invalid_json
    assert judge(check, answer(200, b"null"), variables()).kind is FailureKind.assertion_failed
    ok = judge(check, answer(200, b'{"a": 1}', "application/json; charset=utf-8"), variables())
    assert ok.kind is None and ok.status == 200


def test_a_body_is_only_parsed_when_something_looks_at_it() -> None:
    check = Check.model_validate({"name": "c", "path": "/"})
    assert judge(check, answer(200, b"<html>", "text/html"), variables()).kind is None


def test_captures() -> None:
    check = Check.model_validate({"name": "c", "path": "/", "capture": {"id": "items[0].id"}})
    assert judge(check, answer(200, b'{"items": [{"id": 7}]}'), variables()).captured == {"id": 7}
    missing = judge(check, answer(200, b'{"items": []}'), variables())
    assert missing.kind is FailureKind.assertion_failed and "capture id" in missing.message
