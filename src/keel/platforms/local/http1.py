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
# proxy and its backend must never disagree on framing). Matched in C, once per head.
_HEADER_BLOCK = re.compile(rb"(?:\r\n[!#$%&'*+.^_`|~0-9A-Za-z-]+:[^\r\n]*)*")
_FRAMING = re.compile(rb"\r\n(content-length|transfer-encoding|connection|expect):([^\r\n]*)")


def _split(head: bytes) -> tuple[bytes, bytes]:
    """The first line and the header block (each line preceded by CRLF) of a head ending in CRLF CRLF."""
    line_end = head.find(CRLF)
    return head[:line_end], head[line_end:-4]


def _keeps_alive(version: bytes, connection: set[bytes]) -> bool:
    return b"close" not in connection if version == b"HTTP/1.1" else b"keep-alive" in connection


def _headers(block: bytes) -> tuple[int | None, bool, set[bytes], bool]:
    """Content-Length, chunked, Connection tokens and Expect: 100-continue from a header block."""
    if not _HEADER_BLOCK.fullmatch(block):
        raise BadMessage("malformed header line")
    length: int | None = None
    chunked = False
    connection: set[bytes] = set()
    expect = False
    for name, raw in _FRAMING.findall(block.lower()):
        value = raw.strip()
        if name == b"content-length":
            if not value.isdigit() or (length is not None and length != int(value)):
                raise BadMessage("bad Content-Length")
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = value.endswith(b"chunked")
        elif name == b"connection":
            connection |= {t.strip() for t in value.split(b",")}
        else:
            expect = value == b"100-continue"
    if chunked and length is not None:
        raise BadMessage("both Content-Length and chunked Transfer-Encoding")
    return length, chunked, connection, expect


def parse_request_head(head: bytes) -> RequestHead:
    first, block = _split(head)
    parts = first.split(b" ")
    if len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
        raise BadMessage("malformed request line")
    length, chunked, connection, expect = _headers(block)
    keep_alive = _keeps_alive(parts[2], connection)
    if length is not None and length > MAX_BODY:
        raise BadMessage("request body too large")
    return RequestHead(parts[0], keep_alive, length or 0, chunked, expect)


def parse_response_head(head: bytes) -> ResponseHead:
    first, block = _split(head)
    parts = first.split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        raise BadMessage("malformed status line")
    length, chunked, connection, _ = _headers(block)
    return ResponseHead(int(parts[1]), _keeps_alive(parts[0], connection), length, chunked)


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
