"""The router's HTTP/1.1 head parsing: framing, keep-alive, and what it refuses."""

from __future__ import annotations

import pytest

from keel.platforms.local.http1 import (
    BadMessage,
    chunked_end,
    parse_request_head,
    parse_response_head,
    response_has_body,
)


def test_request_head_framing_and_keep_alive() -> None:
    head = parse_request_head(b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\n")
    assert (head.method, head.content_length, head.chunked, head.keep_alive) == (b"POST", 12, False, True)
    closing = parse_request_head(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert not closing.keep_alive
    old = parse_request_head(b"GET / HTTP/1.0\r\n\r\n")
    assert not old.keep_alive
    old_kept = parse_request_head(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
    assert old_kept.keep_alive
    chunked = parse_request_head(
        b"PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n"
    )
    assert chunked.chunked and chunked.expect_continue


@pytest.mark.parametrize(
    "head",
    [
        b"GET /\r\n\r\n",
        b"GET / HTTP/2\r\n\r\n",
        b"GET / HTTP/1.1\r\nno colon here\r\n\r\n",
        b"GET / HTTP/1.1\r\nContent-Length: ten\r\n\r\n",
        b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost : a\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\nb\r\n\r\n",
        b"GET  / HTTP/1.1\r\n\r\n",
    ],
)
def test_malformed_or_ambiguous_requests_are_refused(head: bytes) -> None:
    with pytest.raises(BadMessage):
        parse_request_head(head)


def test_response_head() -> None:
    head = parse_response_head(b"HTTP/1.1 404 Not Found\r\ncontent-length: 9\r\n\r\n")
    assert (head.status, head.content_length, head.keep_alive) == (404, 9, True)
    closed = parse_response_head(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n")
    assert closed.content_length is None and not closed.keep_alive
    with pytest.raises(BadMessage):
        parse_response_head(b"HTTP/1.1 abc OK\r\n\r\n")
    no_reason = parse_response_head(b"HTTP/1.1 204\r\nServer: x\r\n\r\n")
    assert (no_reason.status, no_reason.content_length, no_reason.keep_alive) == (204, None, True)
    old = parse_response_head(b"HTTP/1.0 200 OK\r\nConnection: x, Keep-Alive\r\nContent-Length: 0\r\n\r\n")
    assert old.keep_alive and old.content_length == 0
    for bad in (b"HTTP/1.1 200 OK\r\nServer : x\r\n\r\n", b"HTTP/2 200 OK\r\n\r\n"):
        with pytest.raises(BadMessage):
            parse_response_head(bad)


def test_which_responses_have_a_body() -> None:
    assert response_has_body(b"GET", 200)
    assert not response_has_body(b"HEAD", 200)
    assert not response_has_body(b"GET", 204)
    assert not response_has_body(b"GET", 304)


def test_chunked_end_finds_the_end_past_trailers() -> None:
    body = b"4\r\nwiki\r\n5;ext=1\r\npedia\r\n0\r\nTrailer: x\r\n\r\n"
    buffer = bytearray(b"HEAD" + body + b"GET /next")
    assert chunked_end(buffer, 4) == 4 + len(body)
    for cut in range(4, 4 + len(body)):  # every incomplete prefix asks for more
        assert chunked_end(bytearray(buffer[:cut]), 4) is None
    with pytest.raises(BadMessage):
        chunked_end(bytearray(b"zz\r\n"), 0)
