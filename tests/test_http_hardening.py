"""HTTP framing and cheap denial of service (kubelearn.apiserver.http, .framing), over raw sockets.

Each test speaks bytes to a served cluster, as a hostile client would:
chunked bodies and Content-Length read as Go's net/http reads them (answers
in Go's words), authentication before the body is read, bounded time for
headers and bodies, a cap on connections, and request lines that are not
HTTP/1.x. The tables of chunk sizes and chunked inputs are ported from
net/http/internal/chunked_test.go.
"""

from __future__ import annotations

import http.client
import io
import json
import socket
import ssl
import threading
import time

import pytest

from kubelearn.apiserver import framing
from kubelearn.apiserver.authn import UserInfo
from kubelearn.cluster import Cluster

PODS = "/api/v1/namespaces/default/pods"
POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "framed"},
       "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}
MIB = 1024 * 1024

# The answers Go's server writes itself, before any handler runs (server.go c.serve).
GO_HEADERS = b"\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"
GO_400 = b"HTTP/1.1 400 Bad Request" + GO_HEADERS + b"400 Bad Request"
GO_501 = b"HTTP/1.1 501 Not Implemented" + GO_HEADERS + b"Unsupported transfer encoding"
GO_505 = (b"HTTP/1.1 505 HTTP Version Not Supported: unsupported protocol version" + GO_HEADERS
          + b"505 HTTP Version Not Supported: unsupported protocol version")


@pytest.fixture(scope="module")
def server():
    cluster = Cluster(seed=0)
    served = cluster.serve(quiet=True, speed=0)
    yield served
    served.stop()


@pytest.fixture
def httpd(server):
    """The HTTP server, its limits put back after the test."""
    httpd = server.httpd
    saved = {name: getattr(httpd, name) for name in
             ("header_timeout", "body_timeout", "idle_timeout", "max_connections")}
    yield httpd
    for name, value in saved.items():
        setattr(httpd, name, value)


def connect(server, timeout: float = 10) -> ssl.SSLSocket:
    """A TLS connection to the server, handshake done."""
    host, port = server.httpd.server_address[:2]
    context = ssl.create_default_context(cafile=str(server.ca_path))
    sock = socket.create_connection((host, port), timeout=timeout)
    return context.wrap_socket(sock, server_hostname=host)


def head(method: str, path: str, token: str | None = None, host: bool = True,
         **headers: str) -> bytes:
    """A request line and headers, ready to send (underscores in names become dashes)."""
    lines = [f"{method} {path} HTTP/1.1"]
    if host:
        lines.append("Host: 127.0.0.1")
    if token:
        lines.append(f"Authorization: Bearer {token}")
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_until_closed(sock: ssl.SSLSocket) -> bytes:
    """All the server sends until it closes the connection (TimeoutError if it never does)."""
    data = bytearray()
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return bytes(data)


def read_response(sock: ssl.SSLSocket) -> tuple[int, http.client.HTTPMessage, bytes]:
    """One response read off the connection: status, headers, body."""
    resp = http.client.HTTPResponse(sock)
    resp.begin()
    return resp.status, resp.headers, resp.read()


def closed(sock: ssl.SSLSocket) -> bool:
    """True if the server has closed its end (EOF or reset)."""
    try:
        return sock.recv(1) == b""
    except (ConnectionResetError, ssl.SSLError):
        return True


def exchange(server, data: bytes, timeout: float = 10) -> bytes:
    """Send ``data`` on a new connection; all the server answers before it closes."""
    with connect(server, timeout) as sock:
        sock.sendall(data)
        return read_until_closed(sock)


def status(body: bytes) -> dict:
    status = json.loads(body)
    assert status["kind"] == "Status", status
    return status


# -- chunked bodies -----------------------------------------------------------------------------

# chunked_test.go TestParseHexUint
HEX_CASES = [
    (b"x", None, "invalid byte in chunk length"),
    (b"0000000000000000", 0, ""),
    (b"0000000000000001", 1, ""),
    (b"ffffffffffffffff", (1 << 64) - 1, ""),
    (b"000000000000bogus", None, "invalid byte in chunk length"),
    (b"00000000000000000", None, "http chunk length too large"),
    (b"10000000000000000", None, "http chunk length too large"),
    (b"00000000000000001", None, "http chunk length too large"),
    (b"", None, "empty hex number for chunk length"),
    (b"-1", None, "invalid byte in chunk length"),
    (b"+1", None, "invalid byte in chunk length"),
    (b"0x1", None, "invalid byte in chunk length"),
    (b"1_0", None, "invalid byte in chunk length"),
] + [(f"{i:x}".encode(), i, "") for i in range(1235)]


@pytest.mark.parametrize("digits,want,error", HEX_CASES)
def test_chunk_sizes_are_parsed_as_go_does(digits, want, error):
    if error:
        with pytest.raises(framing.ChunkedError, match=error):
            framing.parse_hex_uint(digits)
    else:
        assert framing.parse_hex_uint(digits) == want


def test_chunked_reader_follows_go():
    def read(data: bytes, limit: int = MIB) -> bytes:
        return framing.read_chunked(io.BufferedReader(io.BytesIO(data)), limit)

    # TestChunkReadingIgnoresExtensions
    assert read(b"7;ext=\"some quoted string\"\r\nhello, \r\n17;someext\r\nworld! 0123456789abcdef"
                b"\r\n0;someextension=sometoken\r\n\r\n") == b"hello, world! 0123456789abcdef"
    # TestChunkInvalidInputs
    for bad in (b"1\na\r\n0\r\n\r\n", b"1\r\r\na\r\n0\r\n\r\n", b"1\r\na\n0\r\n\r\n",
                b"1;\na\r\n0\r\n\r\n"):
        with pytest.raises(framing.ChunkedError):
            read(bad)
    # TestChunkReaderTooMuchOverhead: 100 bytes of extension for every byte of data
    with pytest.raises(framing.ChunkedError, match="too much non-data"):
        read((b"1;" + b"a" * 100 + b"\r\nX\r\n") * 1000 + b"0\r\n\r\n")
    # TestChunkReaderByteAtATime: one byte a chunk is not too much overhead
    assert read(b"1\r\nX\r\n" * 5000 + b"0\r\n\r\n") == b"X" * 5000
    # the running total is capped, before the chunk is read
    with pytest.raises(framing.BodyTooLarge):
        read(b"10\r\n" + b"x" * 16 + b"\r\n10\r\n", limit=20)
    # a trailer is read and dropped, but not an endless one
    assert read(b"1\r\nX\r\n0\r\nExpires: never\r\n\r\n") == b"X"
    with pytest.raises(framing.ChunkedError, match="suspiciously long trailer"):
        read(b"1\r\nX\r\n0\r\n" + b"X-Pad: aaaaaaaaaaaaaaaaaaaaaa\r\n" * 200 + b"\r\n")


def test_chunk_size_minus_one_is_a_400_not_a_bypass(server):
    body = b"-1\r\n" + b"x" * 1000
    answer = exchange(server, head("POST", PODS, server.token, Content_Type="application/json",
                                   Transfer_Encoding="chunked") + body)
    code, _, rest = answer.partition(b"\r\n")[0], None, answer
    assert code == b"HTTP/1.1 400 Bad Request", answer
    message = status(rest.partition(b"\r\n\r\n")[2])["message"]
    assert message == "invalid byte in chunk length"


def test_a_chunked_body_over_the_limit_is_413_and_the_rest_not_read(server):
    chunk = b"%x\r\n" % MIB + b"x" * MIB + b"\r\n"
    with connect(server) as sock:
        sock.sendall(head("POST", PODS, server.token, Content_Type="application/json",
                          Transfer_Encoding="chunked") + chunk * 3)
        sock.sendall(b"%x\r\n" % (100 * MIB))  # announces 100 MiB more: never read
        code, _, body = read_response(sock)
        assert code == 413
        assert status(body)["message"] == "Request entity too large: limit is 3145728"
        assert closed(sock)


def test_a_chunked_body_is_served(server):
    data = json.dumps(POD).encode()
    chunks = b"".join(b"%x\r\n" % len(part) + part + b"\r\n" for part in (data[:10], data[10:]))
    with connect(server) as sock:
        sock.sendall(head("POST", PODS, server.token, Content_Type="application/json",
                          Transfer_Encoding="chunked") + chunks + b"0\r\n\r\n")
        code, _, body = read_response(sock)
        assert code == 201, body
        sock.sendall(head("DELETE", f"{PODS}/framed", server.token))  # the connection goes on
        assert read_response(sock)[0] == 200


# -- Content-Length and Transfer-Encoding ------------------------------------------------------


@pytest.mark.parametrize("value", ["1_0", "+5", "-1", "5 5", "0x5", "1e3", "\u0665",
                                   str(1 << 63), ""])
def test_a_malformed_content_length_is_gos_400(server, value):
    answer = exchange(server, head("POST", PODS, server.token, Content_Length=value))
    assert answer == GO_400


def test_content_length_copies_must_agree(server):
    request = head("POST", PODS, server.token, Content_Type="application/json")
    twice = request[:-2] + b"Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}"
    assert exchange(server, twice) == GO_400
    body = json.dumps(POD).encode()
    same = request[:-2] + b"Content-Length: %d\r\nContent-Length:  %d \r\n\r\n" % (
        len(body), len(body))
    with connect(server) as sock:
        sock.sendall(same + body)
        assert read_response(sock)[0] == 201  # duplicates of one value are one (Go issue 16490)
        sock.sendall(head("DELETE", f"{PODS}/framed", server.token))
        assert read_response(sock)[0] == 200


@pytest.mark.parametrize("encoding", ["xchunked", "gzip", "chunked, chunked", "identity"])
def test_a_transfer_encoding_other_than_chunked_is_gos_501(server, encoding):
    answer = exchange(server, head("POST", PODS, server.token, Transfer_Encoding=encoding))
    assert answer == GO_501


def test_two_transfer_encoding_headers_are_gos_501(server):
    request = head("POST", PODS, server.token)[:-2]
    answer = exchange(server, request + b"Transfer-Encoding: chunked\r\n"
                      b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    assert answer == GO_501


def test_chunked_wins_over_a_valid_content_length_as_in_go(server):
    data = json.dumps(POD).encode()
    with connect(server) as sock:
        sock.sendall(head("POST", PODS, server.token, Content_Type="application/json",
                          Content_Length="3", Transfer_Encoding="chunked")
                     + b"%x\r\n" % len(data) + data + b"\r\n0\r\n\r\n")
        assert read_response(sock)[0] == 201
        sock.sendall(head("DELETE", f"{PODS}/framed", server.token))
        assert read_response(sock)[0] == 200
    bad_length = head("POST", PODS, server.token, Content_Length="1_0",
                      Transfer_Encoding="chunked")
    assert exchange(server, bad_length) == GO_400


# -- authentication before the body ------------------------------------------------------------


def test_no_token_is_401_before_the_body_is_read(server):
    with connect(server, timeout=5) as sock:
        # 3 MiB announced, none sent: the answer must not wait for it
        sock.sendall(head("POST", PODS, Content_Type="application/yaml",
                          Content_Length=str(3 * MIB - 1)))
        code, headers, body = read_response(sock)
        assert code == 401 and status(body)["message"] == "Unauthorized"
        assert headers["Connection"] == "close"  # the unread body would poison the connection
        assert closed(sock)


def test_a_forbidden_user_is_403_before_the_body_is_read(server):
    with server.lock:
        token = server.cluster.api.authenticator.issue(UserInfo("mallory"))
    with connect(server, timeout=5) as sock:
        sock.sendall(head("POST", PODS, token, Content_Type="application/json",
                          Transfer_Encoding="chunked") + b"-1\r\n")
        code, _, body = read_response(sock)
        assert code == 403, body
        assert status(body)["message"] == ('pods is forbidden: User "mallory" cannot create '
                                           'resource "pods" in API group "" in the namespace '
                                           '"default"')
        assert closed(sock)


def test_a_small_unread_body_is_discarded_and_the_connection_kept(server):
    before = len(server.cluster.api.audit_log)
    with connect(server, timeout=5) as sock:
        sock.sendall(head("POST", PODS, "not-a-token", Content_Type="application/json",
                          Content_Length="1000") + b"x" * 1000)
        code, _, body = read_response(sock)
        assert code == 401
        sock.sendall(head("GET", "/version"))  # up to 256 KiB is read and dropped, as Go does
        assert read_response(sock)[0] == 200
    rows = server.cluster.api.audit_log.records[before:]
    assert [(r.verb, r.code, r.stage) for r in rows] == [("create", 401, "authentication")]


# -- slow clients -----------------------------------------------------------------------------


def trickle(sock: ssl.SSLSocket, data: bytes, every: float) -> float:
    """Send ``data`` a byte at a time; the seconds until the server hung up."""
    start = time.monotonic()
    try:
        for byte in data:
            sock.sendall(bytes([byte]))
            time.sleep(every)
        read_until_closed(sock)
    except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
        pass
    return time.monotonic() - start


def test_headers_trickled_in_are_cut_off_at_the_header_timeout(httpd, server):
    httpd.header_timeout = 1.0
    with connect(server, timeout=10) as sock:
        took = trickle(sock, b"GET /version HTTP/1.1\r\n" + b"X-Slow: " + b"a" * 100, 0.1)
    assert took < 4  # not 60 s for each read, not for ever


def test_a_body_trickled_in_is_cut_off_at_the_body_timeout(httpd, server):
    httpd.body_timeout = 1.0
    with connect(server, timeout=10) as sock:
        sock.sendall(head("POST", PODS, server.token, Content_Type="application/json",
                          Content_Length="100"))
        took = trickle(sock, b"{" * 100, 0.1)
    assert took < 4


def test_an_idle_connection_is_closed_after_the_idle_timeout(httpd, server):
    httpd.idle_timeout = 0.5
    with connect(server, timeout=10) as sock:
        sock.sendall(head("GET", "/version"))
        assert read_response(sock)[0] == 200
        start = time.monotonic()
        assert closed(sock)
        assert time.monotonic() - start < 4


def test_connections_over_the_cap_are_closed_at_accept(httpd, server):
    httpd.max_connections = 3
    held = [connect(server) for _ in range(3)]
    try:
        with pytest.raises((ssl.SSLError, ConnectionResetError, OSError)):
            extra = connect(server, timeout=5)
            extra.sendall(head("GET", "/version"))
            read_response(extra)
    finally:
        for sock in held:
            sock.close()
    deadline = time.monotonic() + 5
    while True:  # the held connections' threads end; a new connection is served again
        try:
            with connect(server, timeout=5) as sock:
                sock.sendall(head("GET", "/version"))
                assert read_response(sock)[0] == 200
            break
        except (ssl.SSLError, ConnectionResetError, OSError, http.client.HTTPException):
            assert time.monotonic() < deadline
            time.sleep(0.1)


def test_many_slow_clients_do_not_stop_a_kubectl_request(httpd, server):
    httpd.header_timeout = 1.0
    slow = [connect(server) for _ in range(20)]
    for sock in slow:
        sock.sendall(b"GET /version HTTP/1.1\r\n")
    try:
        with connect(server) as sock:
            sock.sendall(head("GET", "/version"))
            assert read_response(sock)[0] == 200
        threads = [threading.Thread(target=read_until_closed, args=(s,)) for s in slow]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(5)
        assert not any(thread.is_alive() for thread in threads)  # all cut off
    finally:
        for sock in slow:
            sock.close()


# -- request lines ------------------------------------------------------------------------------


@pytest.mark.parametrize("line,answer", [
    (b"GET /version HTTP/9.9\r\nHost: x\r\n\r\n", GO_505),
    (b"GET /version HTTP/2.0\r\nHost: x\r\n\r\n", GO_505),
    (b"GET /version HTTP/0.9\r\nHost: x\r\n\r\n", GO_505),
    (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", GO_400),  # the HTTP/2 preface, on HTTP/1.1
    (b"GET /version\r\n", GO_400),  # HTTP/0.9: never served
    (b"GET /version HTTP/1\r\nHost: x\r\n\r\n", GO_400),
    (b"GET /version HTTP/1.1 extra\r\nHost: x\r\n\r\n", GO_400),
    (b"GET  /version HTTP/1.1\r\nHost: x\r\n\r\n", GO_400),
    (b"G(T /version HTTP/1.1\r\nHost: x\r\n\r\n", GO_400),
    (b"GET /ver\x01sion HTTP/1.1\r\nHost: x\r\n\r\n", GO_400),
    (b"\r\n", GO_400),
    (b"GET /version HTTP/1.1\r\n\r\n", GO_400),  # "missing required Host header"
    (b"GET /version HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", GO_400),
])
def test_malformed_request_lines_get_gos_answer(server, line, answer):
    assert exchange(server, line) == answer


def test_http_1_0_is_served(server):
    answer = exchange(server, b"GET /version HTTP/1.0\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n") or answer.startswith(b"HTTP/1.0 200 OK\r\n")
    assert b'"gitVersion"' in answer


def test_headers_too_large_are_gos_431(server):
    answer = exchange(server, b"GET /version HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70000
                      + b"\r\n\r\n")
    assert answer == (b"HTTP/1.1 431 Request Header Fields Too Large" + GO_HEADERS
                      + b"431 Request Header Fields Too Large")


def test_a_resource_version_in_the_future_is_still_504(server):
    with connect(server) as sock:
        sock.sendall(head("GET", f"{PODS}?resourceVersion=999999999", server.token))
        code, _, body = read_response(sock)
    assert code == 504  # storage.NewTooLargeResourceVersionError, as upstream
    assert status(body)["message"].startswith("Timeout: Too large resource version: 999999999")


def test_no_answer_here_is_a_traceback(server):
    requests = [head("POST", PODS, server.token, Transfer_Encoding="chunked") + b"zz\r\n",
                head("POST", PODS, server.token, Transfer_Encoding="chunked") + b"1\r\nabc",
                head("POST", PODS, server.token, Content_Length="99999999999999999999"),
                b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\n{]{]{"]
    for request in requests:
        answer = exchange(server, request)
        assert b"Traceback" not in answer and b" 500 " not in answer.partition(b"\r\n")[0]
