"""HTTP/1.1 framing, read as Go's net/http reads it: where a request starts and where it ends.

Before kube-apiserver's handlers see a request, Go's ``net/http`` server has
read its request line and headers and decided how long its body is. Those
rules are strict because framing is where request smuggling happens (two
parsers disagreeing on where one request ends); this module ports them:

- :func:`parse_request_line` -- ``METHOD SP target SP HTTP/x.y``
  (net/http request.go ``parseRequestLine``, ``ParseHTTPVersion``; server.go
  ``http1ServerSupportsRequest``): HTTP/1.x only, never HTTP/0.9;
- :func:`body_length` -- one ``Host`` header from HTTP/1.1 on (server.go
  ``readRequest``); ``Transfer-Encoding`` (one value, ``chunked``) and
  ``Content-Length`` (ASCII digits only, copies must agree) (transfer.go
  ``parseTransferEncoding``, ``fixLength``, ``parseContentLength``);
- :func:`read_chunked` -- a chunked body (net/http/internal/chunked.go): hex
  sizes of at most 16 digits, CRLF line ends, a cap on the running total and
  on non-data overhead, a trailer of at most 4 KiB (transfer.go ``readTrailer``);
- :class:`DeadlineReader` -- a socket whose reads end at a deadline for a whole
  phase (headers, body), not per ``recv`` (Go's ``SetReadDeadline``), timed
  by the injected clock.

What is wrong before the handler runs is a :class:`FramingError`, answered in
Go's plain-text words (:meth:`FramingError.response`) and the connection closed;
what is wrong inside a body is a :class:`ChunkedError` (its Go message), which
the handler turns into a ``kind: Status``.
"""

from __future__ import annotations

import io
import re
import socket
from collections.abc import Callable
from email.message import Message

CHUNKED = -1  # body_length() of a chunked body: its length is not known up front

# net/http/internal/chunked.go maxLineLength: a chunk-size line (with extensions).
MAX_CHUNK_LINE = 4096
# transfer.go readTrailer peeks for the blank line within its bufio.Reader (4 KiB).
MAX_TRAILER_BYTES = 4096
# chunked.go beginChunk: "chunked encoding contains too much non-data" beyond this.
MAX_CHUNK_OVERHEAD = 16 * 1024
MAX_CONTENT_LENGTH = (1 << 63) - 1  # strconv.ParseUint(cl, 10, 63) in parseContentLength

# server.go c.serve: the headers of every answer written before a handler runs.
_ERROR_HEADERS = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"
# RFC 9110 token characters (httpguts.IsTokenRune), which a method must be made of.
_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz"
                   "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_ASCII_SPACE = " \t\r\n"  # textproto.TrimString
_HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")
_CONTROL = re.compile("[\x00-\x1f\x7f]")  # url.ParseRequestURI: "invalid control character"


class FramingError(Exception):
    """A request Go's server refuses before any handler runs; ``response()`` is its answer."""

    def __init__(self, code: int, status: str, body: str, detail: str = "") -> None:
        super().__init__(detail or body)
        self.code = code
        self.status = status  # the reason phrase of the status line
        self.body = body

    def response(self) -> bytes:
        """The bytes Go's server writes before it closes the connection."""
        return f"HTTP/1.1 {self.code} {self.status}{_ERROR_HEADERS}{self.body}".encode()


def bad_request(detail: str) -> FramingError:
    """server.go c.serve: every other readRequest error is a bare 400 (the detail is not sent)."""
    return FramingError(400, "Bad Request", "400 Bad Request", detail)


def version_not_supported() -> FramingError:
    """server.go readRequest: statusError{505, "unsupported protocol version"}."""
    text = "HTTP Version Not Supported: unsupported protocol version"
    return FramingError(505, text, f"505 {text}")


def unsupported_transfer_encoding(detail: str) -> FramingError:
    """server.go c.serve (isUnsupportedTEError): 501, not echoing the encoding back."""
    return FramingError(501, "Not Implemented", "Unsupported transfer encoding", detail)


def headers_too_large(detail: str = "") -> FramingError:
    """server.go c.serve (errTooLarge): the request line and headers are over the limit."""
    return FramingError(431, "Request Header Fields Too Large",
                        "431 Request Header Fields Too Large", detail)


class ChunkedError(Exception):
    """A malformed chunked body; the message is Go's (net/http/internal/chunked.go)."""


class BodyTooLarge(Exception):
    """A chunked body whose running total went over the limit."""


# -- the request line --------------------------------------------------------------


def parse_request_line(line: str) -> tuple[str, str, str]:
    """``(method, target, version)`` of a request line (CRLF stripped), or FramingError.

    As request.go ``readRequest``: exactly ``METHOD SP target SP version``
    (a two-word HTTP/0.9 line is malformed), a token for a method, and
    ``HTTP/x.y``; then server.go serves HTTP/1.x only (505 for the rest).
    """
    method, space1, rest = line.partition(" ")
    target, space2, version = rest.partition(" ")
    if not space1 or not space2:
        raise bad_request(f"malformed HTTP request {line!r}")
    if not method or not _TOKEN.issuperset(method):
        raise bad_request(f"invalid method {method!r}")
    major = _http_version(version)
    if major is None:
        raise bad_request(f"malformed HTTP version {version!r}")
    if major != 1:
        raise version_not_supported()
    if not target or _CONTROL.search(target):
        raise bad_request(f"invalid request target {target!r}")  # url.ParseRequestURI
    return method, target, version


def is_http2_preface(line: str) -> bool:
    """The request line an HTTP/2 client opens with (request.go ``isH2Upgrade``)."""
    return line == "PRI * HTTP/2.0"


def _http_version(version: str) -> int | None:
    """The major version of ``HTTP/x.y`` (one digit each), None if malformed (ParseHTTPVersion)."""
    if len(version) != 8 or not version.startswith("HTTP/") or version[6] != ".":
        return None
    major, minor = version[5], version[7]
    if not (major.isdigit() and major.isascii() and minor.isdigit() and minor.isascii()):
        return None
    return int(major)


# -- the body's length -------------------------------------------------------------


def body_length(headers: Message, version: str, method: str) -> int:
    """The body's length in bytes, :data:`CHUNKED`, or 0 for none; FramingError if ambiguous.

    Also checks the one ``Host`` header HTTP/1.1 requires (request.go,
    server.go readRequest). One pass over the headers: this runs on every request.
    """
    hosts: list[str] = []
    encodings: list[str] = []
    lengths: list[str] = []
    wanted = {"host": hosts, "transfer-encoding": encodings, "content-length": lengths}
    for name, value in headers.raw_items():
        found = wanted.get(name.lower())
        if found is not None:
            found.append(value)
    if len(hosts) > 1:
        raise bad_request("too many Host headers")
    if not hosts and version != "HTTP/1.0" and method != "CONNECT":
        raise bad_request("missing required Host header")
    chunked = False
    if encodings and version != "HTTP/1.0":  # ignored on HTTP/1.0 (Go issue 12785)
        if len(encodings) != 1:
            raise unsupported_transfer_encoding(f"too many transfer encodings: {encodings!r}")
        encoding = encodings[0].strip(_ASCII_SPACE)
        if not (encoding.isascii() and encoding.lower() == "chunked"):
            raise unsupported_transfer_encoding(f"unsupported transfer encoding: {encoding!r}")
        chunked = True
    if not lengths:
        return CHUNKED if chunked else 0
    first = lengths[0].strip(_ASCII_SPACE)
    if any(value.strip(_ASCII_SPACE) != first for value in lengths[1:]):
        raise bad_request("http: message cannot contain multiple Content-Length headers; "
                          f"got {lengths!r}")
    length = parse_content_length(first)
    # fixLength: with Transfer-Encoding the (valid) Content-Length is dropped (RFC 9112 6.3).
    return CHUNKED if chunked else length


def parse_content_length(value: str) -> int:
    """A Content-Length value: ASCII digits only, below 2**63 (transfer.go parseContentLength)."""
    text = value.strip(_ASCII_SPACE)
    if not text:
        raise bad_request("invalid empty Content-Length")
    if not (text.isascii() and text.isdigit()) or int(text) > MAX_CONTENT_LENGTH:
        raise bad_request(f"bad Content-Length {text!r}")  # no sign, no "_", no spaces inside
    return int(text)


# -- chunked bodies ------------------------------------------------------------------


def read_chunked(rfile: io.BufferedIOBase, limit: int) -> bytes:
    """A chunked body, at most ``limit`` bytes of data (BodyTooLarge beyond, nothing more read).

    Raises ChunkedError with Go's words for anything malformed; the trailer
    (header lines after the last chunk) is read and dropped.
    """
    body = bytearray()
    excess = 0
    while True:
        line = _chunk_line(rfile)
        excess += len(line) + 2  # the line, and the CRLF after the chunk's data
        size = _chunk_size(line)
        # beginChunk: 16 bytes of overhead a chunk plus twice its data are allowed.
        excess = max(excess - 16 - 2 * size, 0)
        if excess > MAX_CHUNK_OVERHEAD:
            raise ChunkedError("chunked encoding contains too much non-data")
        if size == 0:
            _read_trailer(rfile)
            return bytes(body)
        if len(body) + size > limit:
            raise BodyTooLarge(f"limit is {limit}")
        data = rfile.read(size)
        if len(data) < size:
            raise ChunkedError("unexpected EOF")
        body += data
        if rfile.read(2) != b"\r\n":
            raise ChunkedError("malformed chunked encoding")


def _chunk_line(rfile: io.BufferedIOBase) -> bytes:
    """One chunk-size line without its CRLF (chunked.go readChunkLine)."""
    line = rfile.readline(MAX_CHUNK_LINE + 2)
    if not line.endswith(b"\n"):
        raise ChunkedError("header line too long" if len(line) > MAX_CHUNK_LINE
                           else "unexpected EOF")
    cr = line.find(b"\r")
    if cr == -1:
        raise ChunkedError("chunked line ends with bare LF")
    if cr != len(line) - 2:
        raise ChunkedError("invalid CR in chunked line")
    line = line[:-2]
    if len(line) >= MAX_CHUNK_LINE:
        raise ChunkedError("header line too long")
    return line


def _chunk_size(line: bytes) -> int:
    """The size on a chunk line: trailing blanks and extensions dropped (chunked.go beginChunk)."""
    return parse_hex_uint(line.rstrip(b" \t\r\n").partition(b";")[0])


def parse_hex_uint(digits: bytes) -> int:
    """A chunk size: 1-16 hex digits, no sign, no prefix (chunked.go parseHexUint)."""
    if not digits:
        raise ChunkedError("empty hex number for chunk length")
    for i, c in enumerate(digits):
        if c not in _HEX_DIGITS:
            raise ChunkedError("invalid byte in chunk length")
        if i == 16:
            raise ChunkedError("http chunk length too large")
    return int(digits, 16)


def _read_trailer(rfile: io.BufferedIOBase) -> None:
    """Read and drop the trailer up to its blank line, at most 4 KiB (transfer.go readTrailer)."""
    read = 0
    while True:
        line = rfile.readline(MAX_TRAILER_BYTES - read + 1)
        read += len(line)
        if not line.endswith(b"\n"):
            if read > MAX_TRAILER_BYTES:
                raise ChunkedError("http: suspiciously long trailer after chunked body")
            raise ChunkedError("http: unexpected EOF reading trailer")
        if line in (b"\r\n", b"\n"):
            return
        if read >= MAX_TRAILER_BYTES:
            raise ChunkedError("http: suspiciously long trailer after chunked body")


# -- reading within a deadline ---------------------------------------------------------


class DeadlineReader(io.RawIOBase):
    """A socket read as a stream; with a deadline set, every read ends by it (TimeoutError).

    Go bounds a phase of a request -- its headers, its body -- with one
    ``SetReadDeadline``; a socket timeout alone bounds each ``recv``, so a
    client sending a byte just before every timeout could hold a connection
    for ever. Between deadlines reads wait at most ``timeout`` seconds.
    """

    def __init__(self, sock: socket.socket, monotonic: Callable[[], float],
                 timeout: float) -> None:
        super().__init__()
        self.sock = sock
        self.monotonic = monotonic
        self.timeout = timeout
        self.deadline: float | None = None

    def expire_in(self, seconds: float | None) -> None:
        """Let reads go on for ``seconds`` from now (None: no deadline, only ``timeout``)."""
        self.deadline = None if seconds is None else self.monotonic() + seconds

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self.deadline is None:
            return self.sock.recv_into(buffer)
        remaining = self.deadline - self.monotonic()
        if remaining <= 0:
            raise TimeoutError("read deadline passed")
        self.sock.settimeout(min(remaining, self.timeout))
        try:
            return self.sock.recv_into(buffer)
        finally:
            self.sock.settimeout(self.timeout)  # writes keep the plain timeout
