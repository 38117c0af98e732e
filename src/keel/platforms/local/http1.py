"""The little of HTTP/1.1 the router must understand: message heads, body framing, canned error answers."""

from __future__ import annotations

import re
from typing import NamedTuple

MAX_HEAD = 64 * 1024
MAX_BODY = 64 * 1024 * 1024
CRLF = b"\r\n"
HEAD_END = b"\r\n\r\n"


class BadMessage(Exception):
    """A malformed HTTP/1.1 message: the router answers 400 (client) or 502 (revision) and closes."""


class RequestHead(NamedTuple):  # a NamedTuple: immutable, and built in a third of a frozen dataclass's time
    method: bytes
    keep_alive: bool
    content_length: int
    chunked: bool
    expect_continue: bool


class ResponseHead(NamedTuple):
    status: int
    keep_alive: bool
    content_length: int | None
    chunked: bool


# Every header line is a token, a colon and a value without bare CR or LF (no space before the colon: a
# proxy and its backend must never disagree on framing). The whole head (first line and header lines) is
# validated by one C regex match, which also captures what the router needs from the first line; the framing
# headers are then found by a second match over the lowered head. Nothing else of the head is parsed: it
# travels through untouched.
_LINES = rb"((?:\r\n[!#$%&'*+.^_`|~0-9A-Za-z-]++:[^\r\n]*+)*+)\r\n\r\n"
_REQUEST = re.compile(rb"([^ \r\n]++) [^ \r\n]++ (HTTP/1\.[^ \r\n]*+)" + _LINES)
_RESPONSE = re.compile(rb"(HTTP/1\.[^ \r\n]*+) ([0-9]++)(?: [^\r\n]*+)?" + _LINES)
_FRAMING = re.compile(rb"\r\n(content-length|transfer-encoding|connection|expect):([^\r\n]*)")


def _headers(head: bytes, version: bytes) -> tuple[int | None, bool, bool, bool]:
    """Content-Length, chunked, keep-alive and Expect: 100-continue from a validated head."""
    length: int | None = None
    chunked = False
    expect = False
    http11 = version == b"HTTP/1.1"
    keep_alive = http11
    for name, raw in _FRAMING.findall(head.lower()):
        value = raw.strip()
        if name == b"content-length":
            if not value.isdigit() or (length is not None and length != int(value)):
                raise BadMessage("bad Content-Length")
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = value.endswith(b"chunked")
        elif name == b"connection":
            tokens = {t.strip() for t in value.split(b",")}
            if http11 and b"close" in tokens:
                keep_alive = False
            elif not http11 and b"keep-alive" in tokens:
                keep_alive = True
        else:
            expect = value == b"100-continue"
    if chunked and length is not None:
        raise BadMessage("both Content-Length and chunked Transfer-Encoding")
    return length, chunked, keep_alive, expect


def parse_request_head(head: bytes) -> RequestHead:
    """A request head ending in CRLF CRLF."""
    match = _REQUEST.fullmatch(head)
    if match is None:
        line = head[: head.find(CRLF)]
        if line.count(b" ") != 2 or not line.rsplit(b" ", 1)[-1].startswith(b"HTTP/1."):
            raise BadMessage("malformed request line")
        raise BadMessage("malformed header line")
    method, version, block = match.groups()
    if not block:
        return RequestHead(method, version == b"HTTP/1.1", 0, False, False)
    length, chunked, keep_alive, expect = _headers(head, version)
    if length is not None and length > MAX_BODY:
        raise BadMessage("request body too large")
    return RequestHead(method, keep_alive, length or 0, chunked, expect)


def parse_response_head(head: bytes) -> ResponseHead:
    """A response head ending in CRLF CRLF."""
    match = _RESPONSE.fullmatch(head)
    if match is None:
        raise BadMessage("malformed status line or header line")
    version, status, _ = match.groups()
    length, chunked, keep_alive, _ = _headers(head, version)
    return ResponseHead(int(status), keep_alive, length, chunked)


def response_has_body(method: bytes, status: int) -> bool:
    return method != b"HEAD" and status >= 200 and status not in (204, 304)


def chunked_end(buffer: bytearray, start: int) -> int | None:
    """Where a chunked body that starts at ``start`` ends (past its trailers), or None while incomplete."""
    pos = start
    while True:
        line_end = buffer.find(b"\r\n", pos)
        if line_end < 0:
            return None
        try:
            size = int(bytes(buffer[pos:line_end]).split(b";", 1)[0].strip(), 16)
        except ValueError as exc:
            raise BadMessage("bad chunk size") from exc
        if size < 0 or line_end - start > MAX_BODY:
            raise BadMessage("bad or oversized chunked body")
        pos = line_end + 2
        if size == 0:
            while True:  # trailers, then the empty line
                trailer_end = buffer.find(b"\r\n", pos)
                if trailer_end < 0:
                    return None
                if trailer_end == pos:
                    return pos + 2
                pos = trailer_end + 2
        pos += size + 2
        if pos > len(buffer):
            return None


def simple_response(status: int, reason: str, message: str, keep_alive: bool) -> bytes:
    body = (message + "\n").encode()
    connection = b"keep-alive" if keep_alive else b"close"
    return (
        f"HTTP/1.1 {status} {reason}\r\n".encode()
        + b"content-type: text/plain; charset=utf-8\r\n"
        + b"content-length: "
        + str(len(body)).encode()
        + b"\r\nconnection: "
        + connection
        + b"\r\nx-keel-router: 1\r\n\r\n"
        + body
    )
