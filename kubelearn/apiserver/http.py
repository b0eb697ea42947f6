"""The HTTP front: the Kubernetes API over real HTTPS, for kubectl and the official client.

Sockets and threads; how a request maps to the API server is in
:mod:`kubelearn.apiserver.rest`. What happens to one request:

- :class:`APIHTTPServer` accepts the connection on a thread of its own and
  does the TLS handshake (kubectl sends its token only over TLS; see
  :mod:`kubelearn.apiserver.tls`);
- :class:`APIRequestHandler` reads it, framed as Go's net/http frames it
  (:mod:`kubelearn.apiserver.framing`: HTTP/1.x only, strict Content-Length
  and chunked bodies, Go's plain-text answers to what it refuses), its
  headers within :data:`READ_HEADER_TIMEOUT` and its body within
  :data:`BODY_TIMEOUT`; ``Impersonate-User`` (``kubectl --as``) is checked
  against RBAC's ``impersonate`` verb; the non-resource paths (discovery,
  ``/version``, ``/healthz``, OpenAPI) are answered here; a resource request
  is routed, authenticated and authorized *before* its body is read (401/403
  without reading it, as kube-apiserver's filters run before its handler),
  then its body read (at most 3 MiB: 413 beyond) and decoded, and passed to
  ``cluster.api.handle`` under ``cluster.lock``;
- the answer goes back converted as Accept asked (a ``Table`` for
  ``kubectl get``), an error as a ``kind: Status`` with its HTTP code -- never
  a traceback -- and a watch as a chunked stream, one JSON event a line, fed
  from the simulation's thread through a queue.

At most :data:`MAX_CONNECTIONS` connections are served at once; more are
closed as they are accepted. The wall clock is not read here: a watch's
``timeoutSeconds`` and the header and body deadlines are measured with the
``clock`` handed in by :mod:`kubelearn.apiserver.serve`.
"""

from __future__ import annotations

import dataclasses
import http.client
import io
import logging
import queue
import select
import socket
import ssl
import threading
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from kubelearn.api import (
    BadRequest,
    Forbidden,
    Invalid,
    NotAcceptable,
    RequestEntityTooLarge,
    StatusError,
    Unauthorized,
)
from kubelearn.apiserver import discovery, framing, openapi
from kubelearn.apiserver.request import Request
from kubelearn.apiserver.rest import (
    JSON,
    MAX_REQUEST_BODY_BYTES,
    METHOD_NOT_ALLOWED_MESSAGE,
    PATCH_TYPES,
    Answer,
    MethodNotAllowed,
    ResourceIndex,
    RouteNotFound,
    content_type,
    convert,
    decode_body,
    encode,
    go_bool,
    media_types,
    negotiate,
    partial_metadata,
    query_options,
    route,
    table_options,
    wants_aggregated,
    warning_headers,
)

log = logging.getLogger(__name__)

# kube-apiserver --min-request-timeout: a watch without timeoutSeconds ends after
# this many seconds (upstream randomises it to 1-2x to spread reconnections).
MIN_REQUEST_TIMEOUT = 1800
# How often an idle watch checks whether its client is still there (seconds).
WATCH_POLL_INTERVAL = 0.25
# An oversized body up to this size is read and dropped before the 413, so the
# client, still sending, sees the answer; beyond it the connection is closed.
DRAIN_LIMIT = 16 * 1024 * 1024
TLS_HANDSHAKE_TIMEOUT = 10  # seconds (net/http's default TLSHandshakeTimeout)
# k8s.io/apiserver pkg/server/secure_serving.go sets these on kube-apiserver's http.Server:
READ_HEADER_TIMEOUT = 32  # ReadHeaderTimeout, "just shy of requestTimeoutUpperBound"
IDLE_TIMEOUT = 90  # IdleTimeout, "matches http.DefaultTransport keep-alive timeout"
# kube-apiserver --request-timeout (1m0s): upstream sets no ReadTimeout, so a body
# could trickle in for ever; here reading one may take no longer than a request may.
BODY_TIMEOUT = 60
# net/http server.go maxPostHandlerReadBytes: of a body the handler did not read, at
# most this much is read and dropped to keep the connection; beyond, it is closed.
MAX_POST_HANDLER_READ_BYTES = 256 << 10
# Connections served at once; more are closed at accept. Go caps requests, not
# connections: --max-requests-inflight (400) + --max-mutating-requests-inflight (200).
MAX_CONNECTIONS = 400 + 200
# Verbs whose request carries a body the API server reads (a read's body is ignored).
BODY_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})

# Paths anyone may read, even without credentials (bootstrap ClusterRole
# system:public-info-viewer, bound to system:unauthenticated).
PUBLIC_PATHS = ("/healthz", "/livez", "/readyz", "/version")


# -- the server -------------------------------------------------------------------


class Clock:
    """What a watch needs of time: a monotonic reading in seconds (given by serve.py)."""

    def monotonic(self) -> float:  # pragma: no cover - interface
        """Seconds since some fixed moment."""
        raise NotImplementedError


_STOP = object()  # put in a watch's queue to end it


class APIHTTPServer(ThreadingHTTPServer):
    """A threaded HTTP server in front of one cluster's API server."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], cluster: Any, *, clock: Clock,
                 lock: threading.RLock | None = None, ssl_context: ssl.SSLContext | None = None,
                 max_body_bytes: int = MAX_REQUEST_BODY_BYTES) -> None:
        self.cluster = cluster
        self.ssl_context = ssl_context
        self.api = cluster.api
        self.sim = cluster.sim
        self.lock = lock if lock is not None else cluster.lock
        self.clock = clock
        self.max_body_bytes = max_body_bytes
        # Limits on slow or many clients; attributes so a test can make them small.
        self.header_timeout: float = READ_HEADER_TIMEOUT
        self.body_timeout: float = BODY_TIMEOUT
        self.idle_timeout: float = IDLE_TIMEOUT
        self.max_connections: int = MAX_CONNECTIONS
        self.patch_types = PATCH_TYPES
        self.index = ResourceIndex(self.api.resources)
        self.stopping = threading.Event()
        self._watches: dict[queue.SimpleQueue, threading.Thread] = {}
        self._watches_lock = threading.Lock()
        self._connections: dict[threading.Thread, Any] = {}  # thread: its socket
        self._impersonated: dict[Any, str] = {}
        self._openapi: dict[str, Any] = {}
        self._openapi_lock = threading.Lock()
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, APIRequestHandler)

    @property
    def url(self) -> str:
        """``https://host:port`` of this server (``http://`` without TLS)."""
        host, port = self.server_address[:2]
        if ":" in host:
            host = f"[{host}]"
        return f"{'https' if self.ssl_context else 'http'}://{host}:{port}"

    def process_request(self, request: Any, client_address: Any) -> None:
        """Serve a new connection on a thread of its own, remembered so stop() can join it.

        Beyond ``max_connections`` open ones, the connection is closed at once:
        a thread each, held by slow clients, must not grow without bound.
        """
        thread = threading.Thread(target=self.process_request_thread,
                                  args=(request, client_address), daemon=True,
                                  name="kubelearn-http-connection")
        with self._watches_lock:
            full = len(self._connections) >= self.max_connections
            if not full:
                self._connections[thread] = request
        if full:
            log.warning("%d connections open: closing the one from %s",
                        self.max_connections, client_address)
            self.shutdown_request(request)
            return
        thread.start()

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        """One connection, on its own thread: the TLS handshake, then its requests."""
        thread = threading.current_thread()
        try:
            # Headers and body leave in separate writes: without TCP_NODELAY, Nagle's
            # algorithm and the client's delayed ACK add 40 ms to every answer.
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.ssl_context is not None:
                request.settimeout(TLS_HANDSHAKE_TIMEOUT)
                request = self.ssl_context.wrap_socket(request, server_side=True)
                with self._watches_lock:
                    self._connections[thread] = request
            self.finish_request(request, client_address)
        except (OSError, ssl.SSLError) as err:  # handshake failed, client gone
            log.debug("connection from %s ended: %s", client_address, err)
        except Exception:  # a bug in a handler: logged, the server goes on
            log.exception("error serving %s", client_address)
        finally:
            with self._watches_lock:
                self._connections.pop(thread, None)
            self.shutdown_request(request)

    def close_connections(self, timeout: float = 5.0) -> None:
        """End every open connection (idle keep-alives and watches) and join their threads."""
        with self._watches_lock:
            watching = list(self._watches.values())
        self.stop_watches()
        for thread in watching:  # let each watch write its last chunk
            thread.join(timeout)
        with self._watches_lock:
            connections = dict(self._connections)
        for sock in connections.values():
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed by the client
        for thread in connections:
            thread.join(timeout)

    def token_for(self, user: Any) -> str:
        """A bearer token acting as ``user`` (an impersonated identity), made once (secrets)."""
        if user not in self._impersonated:
            self._impersonated[user] = self.api.authenticator.issue(user)
        return self._impersonated[user]

    def add_watch(self, events: queue.SimpleQueue) -> None:
        """Remember an open watch so :meth:`stop_watches` can end it."""
        with self._watches_lock:
            self._watches[events] = threading.current_thread()

    def remove_watch(self, events: queue.SimpleQueue) -> None:
        """Forget an ended watch."""
        with self._watches_lock:
            self._watches.pop(events, None)

    def stop_watches(self) -> None:
        """End every open watch (their handler threads return)."""
        self.stopping.set()
        with self._watches_lock:
            for events in self._watches:
                events.put(_STOP)

    def openapi_v2(self) -> bytes:
        """The Swagger 2.0 document, built once (the registry does not change)."""
        with self._openapi_lock:
            if "v2" not in self._openapi:
                doc = openapi.swagger(self.index.resources, self.patch_types)
                self._openapi["v2"] = openapi.encode(doc)
            return self._openapi["v2"]

    def openapi_v3(self) -> dict[str, bytes]:
        """The OpenAPI v3 documents by index path (``api/v1``...), built once."""
        with self._openapi_lock:
            if "v3" not in self._openapi:
                docs = openapi.v3_documents(self.index.resources, self.patch_types)
                self._openapi["v3"] = {k: openapi.encode(d) for k, d in docs.items()}
            return self._openapi["v3"]


class APIRequestHandler(BaseHTTPRequestHandler):
    """Serves one connection: each request routed, answered, or streamed (watch)."""

    protocol_version = "HTTP/1.1"  # keep-alive and chunked watches, as kubectl expects
    server_version = "kubelearn"
    server: APIHTTPServer
    timeout = 60  # seconds one read or write may wait (phases have their own deadlines)
    default_request_version = "HTTP/1.1"  # never HTTP/0.9: every answer has a status line

    # -- entry points -----------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._serve("PUT")

    def do_PATCH(self) -> None:  # noqa: N802
        self._serve("PATCH")

    def do_DELETE(self) -> None:  # noqa: N802
        self._serve("DELETE")

    def do_HEAD(self) -> None:  # noqa: N802
        self._serve("HEAD")

    def do_OPTIONS(self) -> None:  # noqa: N802
        self._serve("OPTIONS")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        log.debug("%s - %s", self.address_string(), format % args)

    # -- reading a request (framing: kubelearn.apiserver.framing) ------------------------
    def setup(self) -> None:
        """Read the connection through a :class:`~framing.DeadlineReader` (phase deadlines)."""
        super().setup()
        self.rfile.close()  # the plain makefile() reader, replaced (and its socket ref dropped)
        self._reader = framing.DeadlineReader(self.connection, self.server.clock.monotonic,
                                              self.timeout)
        self.rfile = io.BufferedReader(self._reader)
        self._requests = 0
        self._body_length = 0
        self._expect_continue = False

    def handle_one_request(self) -> None:
        """Wait at most ``idle_timeout`` for a request to start, then its headers are due.

        As Go's server: the first request's headers must arrive within
        ``header_timeout``; between kept-alive requests the connection may
        sit idle for ``idle_timeout``, and the header deadline starts with the
        next request's first byte. A timeout closes the connection unanswered.
        """
        server = self.server
        try:
            if self._requests:
                self._reader.expire_in(server.idle_timeout)
                if not self.rfile.peek(1):
                    self.close_connection = True
                    return
            self._requests += 1
            self._reader.expire_in(server.header_timeout)
        except OSError:  # TimeoutError included: the client was idle too long, or left
            self.close_connection = True
            return
        super().handle_one_request()

    def parse_request(self) -> bool:
        """The request line and headers, checked as Go's server checks them.

        A request Go refuses before its handlers run gets Go's plain-text answer
        and the connection is closed; False then, as http.server expects.
        """
        self.close_connection = True
        line = str(self.raw_requestline, "iso-8859-1").removesuffix("\n").removesuffix("\r")
        self.requestline = line
        try:
            if framing.is_http2_preface(line):  # handed to the handler upstream, refused here
                raise framing.bad_request("the HTTP/2 preface on an HTTP/1.1 connection")
            self.command, self.path, self.request_version = framing.parse_request_line(line)
            self.headers = self._read_headers()
            self._body_length = framing.body_length(self.headers, self.request_version,
                                                    self.command)
        except framing.FramingError as err:
            self._reply_framing(err)
            return False
        self._reader.expire_in(None)
        if self.path.startswith("//"):  # as http.server: never an absolute URI without scheme
            self.path = "/" + self.path.lstrip("/")
        http_1_1 = self.request_version != "HTTP/1.0"
        connection = self.headers.get("Connection", "").lower()
        self.close_connection = connection == "close" or (not http_1_1 and
                                                          connection != "keep-alive")
        # "100 Continue" is sent when the body is read, so a refused client never sends it.
        self._expect_continue = http_1_1 and \
            self.headers.get("Expect", "").lower() == "100-continue"
        return True

    def _read_headers(self) -> Any:
        try:
            return http.client.parse_headers(self.rfile, _class=self.MessageClass)
        except http.client.LineTooLong as err:  # a line over 64 KiB
            raise framing.headers_too_large(str(err)) from None
        except http.client.HTTPException as err:  # over 100 headers
            raise framing.headers_too_large(str(err)) from None

    def _reply_framing(self, err: framing.FramingError) -> None:
        """Go's answer to a request refused before any handler, then the connection closes."""
        log.debug("%s: refused %r: %s", self.address_string(), self.requestline, err)
        self.close_connection = True
        try:
            self.wfile.write(err.response())
            self.wfile.flush()
        except OSError:
            pass  # the client is gone

    def send_error(self, code: int, message: str | None = None,
                   explain: str | None = None) -> None:
        """http.server's own refusals: an unknown method (a Status), a request line too long."""
        self.close_connection = True
        if code != 501:  # 414: the request line counts against Go's header limit
            self._reply_framing(framing.headers_too_large(message or ""))
            return
        # An unknown method reaches kube-apiserver's handlers: 405, the client's fault.
        err = StatusError(METHOD_NOT_ALLOWED_MESSAGE, reason="MethodNotAllowed", code=405,
                          details={})
        try:
            self._reply_status(err)
        except OSError:
            pass

    # -- dispatch ---------------------------------------------------------------------
    def _serve(self, method: str) -> None:
        self._body_read = False
        try:
            self._dispatch(method)
        except StatusError as err:
            if not self._body_read:  # a body left unread would be taken for the next request
                self._skip_body()
            self._reply_status(err)
        except (TimeoutError, BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as err:  # a bug: answer a Status, never a traceback
            log.exception("internal error serving %s %s", method, self.path)
            self._reply_status(StatusError(f"Internal error occurred: {err}",
                                           reason="InternalError", code=500, details={}))

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        path = parts.path or "/"
        query = query_options(parts.query)
        token = self._impersonate(self._token())
        if path.startswith(("/api/", "/apis/")) and self._is_resource_path(path):
            self._serve_resource(method, path, query, token)
            return
        self._skip_body()  # never read: what these paths answer does not depend on it
        self._serve_non_resource(method, path, query, token)

    def _is_resource_path(self, path: str) -> bool:
        segments = path.strip("/").split("/")
        return (segments[0] == "api" and len(segments) > 2) or \
            (segments[0] == "apis" and len(segments) > 3)

    def _token(self) -> str | None:
        from kubelearn.apiserver import authn

        # Only "Bearer <token>" carries credentials (bearertoken.go); any other form is none.
        return authn.bearer_token(self.headers.get("Authorization"))

    def _impersonate(self, token: str | None) -> str | None:
        """The token to act with: the caller's own, or that of the user it impersonates.

        ``kubectl --as jane --as-group dev`` sends Impersonate-User and
        Impersonate-Group headers; the caller needs RBAC's ``impersonate`` verb on
        ``users`` (``serviceaccounts`` for a service account) and ``groups``
        (filters/impersonation.go). The request then runs as that user.
        """
        name = self.headers.get("Impersonate-User")
        groups = tuple(self.headers.get_all("Impersonate-Group") or ())
        if not name:
            if groups or self.headers.get("Impersonate-Uid"):
                raise BadRequest("impersonating groups or a uid requires impersonating a user")
            return token
        from kubelearn.apiserver import authn  # A2's module

        api = self.server.api
        service_account = authn.split_service_account(name)
        checks = [("serviceaccounts", *service_account) if service_account else
                  ("users", "", name)] + [("groups", "", group) for group in groups]
        with self.server.lock:
            caller = api.authenticator.authenticate(token)
            for resource, namespace, target in checks:
                if not api.can_i(caller, "impersonate", resource, namespace, name=target):
                    raise Forbidden.for_request(caller.name, "impersonate", resource,
                                                namespace=namespace, name=target)
            if service_account and not groups:
                groups = authn.service_account_user(*service_account).groups
            return self.server.token_for(authn.UserInfo(name, groups))

    # -- bodies -----------------------------------------------------------------------
    def _skip_body(self) -> None:
        """Drop the body of a request answered without it, as net/http does.

        Up to 256 KiB is read and dropped so the connection can carry the next
        request; a longer body, a malformed one, or one the client holds back
        for a ``100 Continue`` it never got, closes the connection instead.
        """
        self._body_read = True
        length = self._body_length
        if not length:
            return
        if self._expect_continue or length > MAX_POST_HANDLER_READ_BYTES:
            self.close_connection = True  # (CHUNKED is negative: read up to the limit)
            return
        self._reader.expire_in(self.server.body_timeout)
        try:
            if length == framing.CHUNKED:
                framing.read_chunked(self.rfile, MAX_POST_HANDLER_READ_BYTES)
            elif len(self.rfile.read(length)) < length:
                self.close_connection = True
        except (framing.ChunkedError, framing.BodyTooLarge):
            self.close_connection = True
        finally:
            self._reader.expire_in(None)

    def _read_body(self) -> bytes:
        """The request body, at most ``max_body_bytes``; 413 (and the connection closed) beyond.

        The whole body must arrive within ``body_timeout`` (TimeoutError, and
        the connection closed unanswered, if not).
        """
        self._body_read = True
        length = self._body_length
        if not length:
            return b""
        if self._expect_continue:  # the client waits for this before it sends the body
            self._expect_continue = False
            self.send_response_only(100)
            self.end_headers()
        self._reader.expire_in(self.server.body_timeout)
        try:
            if length == framing.CHUNKED:
                return self._read_chunked(self.server.max_body_bytes)
            return self._read_length(length, self.server.max_body_bytes)
        finally:
            self._reader.expire_in(None)

    def _read_length(self, length: int, limit: int) -> bytes:
        if length > limit:
            if length <= DRAIN_LIMIT:  # read and drop it, so the client gets its answer
                while length > 0:
                    chunk = self.rfile.read(min(length, 1 << 16))
                    if not chunk:
                        break
                    length -= len(chunk)
            else:
                self.close_connection = True  # unread bytes would poison the next request
            raise RequestEntityTooLarge(f"limit is {limit}")
        body = self.rfile.read(length)
        if len(body) < length:  # the client closed its end early
            self.close_connection = True
            raise BadRequest("unexpected EOF")
        return body

    def _read_chunked(self, limit: int) -> bytes:
        try:
            return framing.read_chunked(self.rfile, limit)
        except framing.BodyTooLarge:
            self.close_connection = True  # the rest is never read
            raise RequestEntityTooLarge(f"limit is {limit}") from None
        except framing.ChunkedError as err:
            # Upstream the handler's read fails with Go's words (and a 500); never a 5xx here.
            self.close_connection = True
            raise BadRequest(str(err)) from None

    def _mime(self) -> str:
        value = self.headers.get("Content-Type", "")
        return value.split(";")[0].strip().lower()  # "; charset=utf-8" is dropped, as upstream

    # -- resource requests ------------------------------------------------------------
    def _serve_resource(self, method: str, path: str, query: dict[str, str],
                        token: str | None) -> None:
        request = route(method, path, query, self.server.index)
        request.token = token
        request.user_agent = self.headers.get("User-Agent", "")
        info = self.server.index.find(request.group, request.version, request.resource)
        answer = negotiate(self.headers.get("Accept"))
        if answer.convert == "Table":
            table_options(query)  # a bad includeObject is a 400 before anything is done
        if request.verb not in BODY_VERBS:
            self._skip_body()  # a read's body is never read upstream either
            raw = b""
        else:
            if self._body_length:
                self._authenticate_first(request)
            raw = self._read_body()
        mime = self._mime()
        if request.verb == "patch":
            request.patch_type = mime
        if raw or request.verb in ("create", "update", "patch"):
            request.body = decode_body(raw, mime, request.verb)
        with self.server.lock:
            result = self.server.api.handle(request)
            now = self.server.sim.timestamp()
        if hasattr(result, "on_event"):
            self._serve_watch(result, request, info, answer)
            return
        body = convert(result, answer, info, request.query, self._table(), now)
        code = 200
        if method == "POST":  # createHandler answers 201 even with a Failure Status body
            code = 201  # (an eviction refused for two budgets: its code 500 is in the body)
        elif isinstance(result, dict) and result.get("kind") == "Status" and result.get("code"):
            code = int(result["code"])
        self._reply(code, encode(body, answer.encoding, pretty=go_bool(query.get("pretty", "0"))),
                    content_type(answer.encoding), warning_headers(request.warnings))

    def _authenticate_first(self, request: Request) -> None:
        """Refuse (401, 403) a request before its body is read, as kube-apiserver's filters do.

        Authentication and authorization run before the handler upstream, so a
        client without rights costs no body read and no decoding. A refused
        request goes to ``api.handle`` without its body: the pipeline stops at
        the stage that refuses it, raises its own error and audits it, once.
        """
        api = self.server.api
        authenticator = getattr(api, "authenticator", None)
        if authenticator is None:
            return
        with self.server.lock:
            try:
                user = authenticator.authenticate(request.token)
            except Unauthorized:
                user = None
            if user is not None and api.can_i(user, request.verb, request.resource,
                                              request.namespace or "", request.group,
                                              request.subresource or "", request.name or ""):
                return
            # dryRun: should the check and the pipeline ever disagree, nothing is stored.
            query = {**request.query, "dryRun": "All"}
            api.handle(dataclasses.replace(request, body=None, query=query))
        if user is None:
            raise Unauthorized("Unauthorized")
        raise Forbidden.for_request(user.name, request.verb, request.resource,
                                    group=request.group, namespace=request.namespace or "",
                                    name=request.name or "",
                                    subresource=request.subresource or "")

    def _table(self) -> Callable[..., dict[str, Any]]:
        from kubelearn.apiserver import printers  # A2's module; imported when first needed

        return printers.table

    # -- watch ------------------------------------------------------------------------
    def _serve_watch(self, stream: Any, request: Request, info: Any, answer: Answer) -> None:
        """Stream a watch: chunked, one JSON event a line, until timeout, stop or disconnect."""
        events: queue.SimpleQueue = queue.SimpleQueue()
        server = self.server
        server.add_watch(events)
        try:
            with server.lock:
                stream.on_event(events.put)
                if hasattr(stream, "on_stop"):  # the API server ended it (timeout, error)
                    stream.on_stop(lambda: events.put(_STOP))
            self.send_response(200)
            self.send_header("Content-Type", content_type(answer.encoding))
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Cache-Control", "no-cache, private")
            self.end_headers()
            self.wfile.flush()
            timeout = request.query.get("timeoutSeconds", "")
            seconds = int(timeout) if timeout not in ("", "0") else MIN_REQUEST_TIMEOUT
            deadline = server.clock.monotonic() + max(seconds, 0)
            headers = True
            while not server.stopping.is_set():
                remaining = deadline - server.clock.monotonic()
                if remaining <= 0:
                    break
                try:
                    event = events.get(timeout=min(remaining, WATCH_POLL_INTERVAL))
                except queue.Empty:
                    if getattr(stream, "stopped", False) or self._client_gone():
                        break
                    continue
                if event is _STOP:
                    break
                event = self._watch_event(event, request, info, answer, headers)
                if answer.convert == "Table" and event["type"] != "ERROR":
                    headers = False
                self._chunk(encode(event, answer.encoding))
            self._chunk(b"")
        except OSError:  # the client went away (BrokenPipe, ConnectionReset, timeout)
            pass
        except Exception:  # a bug while streaming: the headers are gone, so just end it
            log.exception("watch %s failed", self.path)
        finally:
            self.close_connection = True
            server.remove_watch(events)
            with server.lock:
                stream.stop()

    def _watch_event(self, event: dict[str, Any], request: Request, info: Any, answer: Answer,
                     headers: bool) -> dict[str, Any]:
        obj = event.get("object", {})
        if answer.convert == "Table" and event.get("type") != "ERROR":
            obj = convert(obj, answer, info, request.query, self._table(),
                          self.server.sim.timestamp(), headers=headers)
        elif answer.convert.startswith("PartialObjectMetadata") and event.get("type") != "ERROR":
            obj = partial_metadata(obj, answer.version)
        return {"type": event.get("type"), "object": obj}

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _client_gone(self) -> bool:
        """True if the client closed its end of the connection (checked between events)."""
        connection = self.connection
        try:
            readable, _, _ = select.select([connection], [], [], 0)
            if not readable:
                return False
            # A watch's client never sends anything: readable means closed (a TLS
            # close_notify or EOF). The connection is not reused after a watch,
            # so reading a stray byte does no harm.
            connection.settimeout(0)
            try:
                return connection.recv(1) == b""
            finally:
                connection.settimeout(self.timeout)
        except (ssl.SSLWantReadError, BlockingIOError):
            return False  # part of a TLS record: not a close
        except (OSError, ValueError):
            return True

    # -- non-resource paths -----------------------------------------------------------
    def _serve_non_resource(self, method: str, path: str, query: dict[str, str],
                            token: str | None) -> None:
        path = "/" + path.strip("/") if path != "/" else "/"
        if method not in ("GET", "HEAD"):
            if self._known_non_resource(path):
                self._authorize_path(path, token, method)
                raise MethodNotAllowed()
            raise RouteNotFound()
        body, mime = self._non_resource(path, token)
        if method == "HEAD":
            body = b""
        self._reply(200, body, mime)

    def _known_non_resource(self, path: str) -> bool:
        return path in ("/", "/api", "/apis", "/version", "/openapi/v2", "/openapi/v3") or \
            path.startswith(("/healthz", "/livez", "/readyz", "/api/", "/apis/", "/openapi/"))

    def _authorize_path(self, path: str, token: str | None, method: str = "GET") -> None:
        """Authenticate (401) and authorize a non-resource path by RBAC (403), audited."""
        if token is None and "/" + path.strip("/").split("/")[0] in PUBLIC_PATHS:
            return  # anyone may read these (system:public-info-viewer)
        verb = "get" if method == "HEAD" else method.lower()
        with self.server.lock:
            self.server.api.authorize_path(token, path, verb)

    def _non_resource(self, path: str, token: str | None) -> tuple[bytes, str]:
        """The body and Content-Type of a non-resource GET."""
        health = path.split("/")[1] if path != "/" else ""
        if health in ("healthz", "livez", "readyz"):
            self._authorize_path(path, token)
            return b"ok", "text/plain; charset=utf-8"
        if not self._known_non_resource(path):
            raise RouteNotFound()
        self._authorize_path(path, token)
        index = self.server.index
        accept = self.headers.get("Accept")
        if path == "/version":
            return encode(discovery.version_info()), JSON
        if path == "/":
            paths = ["/api", "/api/v1", "/apis", "/healthz", "/livez", "/openapi/v2",
                     "/openapi/v3", "/readyz", "/version"]
            paths += [f"/apis/{g}" for g in index.groups() if g]
            paths += [f"/apis/{g}/{v}" for g, vs in index.groups().items() if g for v in vs]
            return encode({"paths": sorted(paths)}), JSON
        if path.startswith("/openapi"):
            return self._openapi(path)
        if path in ("/api", "/apis"):
            legacy = path == "/api"
            version = wants_aggregated(accept)
            if version:
                doc = discovery.aggregated_discovery(index.resources, legacy=legacy,
                                                     version=version)
                mime = (f"{JSON};g={discovery.AGGREGATED_GROUP};v={version};"
                        "as=APIGroupDiscoveryList")
                return encode(doc), mime
            if legacy:
                host, port = self.server.server_address[:2]
                return encode(discovery.api_versions(f"{host}:{port}")), JSON
            return encode(discovery.api_group_list(index.resources)), JSON
        segments = path.strip("/").split("/")
        if segments[0] == "api" and len(segments) == 2:
            doc = discovery.api_resource_list(index.resources, "", segments[1])
        elif segments[0] == "apis" and len(segments) == 2:
            versions = index.groups().get(segments[1])
            doc = discovery.api_group(segments[1], versions) if versions and segments[1] else None
        elif segments[0] == "apis" and len(segments) == 3:
            doc = discovery.api_resource_list(index.resources, segments[1], segments[2])
        else:
            doc = None
        if doc is None:
            raise RouteNotFound()
        return encode(doc), JSON

    def _openapi(self, path: str) -> tuple[bytes, str]:
        """The OpenAPI documents kubectl reads (see :mod:`kubelearn.apiserver.openapi`)."""
        server = self.server
        if path == "/openapi/v2":
            accept = [c.type for c in media_types(self.headers.get("Accept") or "")]
            if accept and not any(t in (JSON, "application/*", "*/*") for t in accept):
                raise NotAcceptable([JSON])  # kubectl asks protobuf first; JSON only here
            return server.openapi_v2(), JSON
        documents = server.openapi_v3()
        if path == "/openapi/v3":
            return encode(openapi.v3_index(documents)), JSON
        document = documents.get(path.removeprefix("/openapi/v3/"))
        if document is None:
            raise RouteNotFound()
        return document, JSON

    # -- writing answers ----------------------------------------------------------------
    def _reply(self, code: int, body: bytes, mime: str, warnings: Sequence[str] = ()
               ) -> None:
        self.send_response(code)
        self.send_header("Content-Type", mime)
        for warning in warnings:  # UTF-8 on the wire, as Go writes it (http.server: latin-1)
            self.send_header("Warning", warning.encode().decode("latin-1"))
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache, private")
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()

    def _reply_status(self, err: StatusError) -> None:
        status = err.status
        code = int(status.get("code") or err.code or 500)
        if isinstance(err, Unauthorized):
            status["message"] = "Unauthorized"  # upstream never says why a token failed
        if isinstance(err, Invalid) and not status.get("details"):
            status.pop("details", None)
        self._reply(code, encode(status), JSON)


def make_server(cluster: Any, host: str = "127.0.0.1", port: int = 0, *, clock: Clock,
                lock: threading.RLock | None = None, ssl_context: ssl.SSLContext | None = None,
                max_body_bytes: int = MAX_REQUEST_BODY_BYTES) -> APIHTTPServer:
    """An HTTP(S) server for ``cluster`` on ``host:port`` (0: a free port), not serving yet."""
    return APIHTTPServer((host, port), cluster, clock=clock, lock=lock, ssl_context=ssl_context,
                         max_body_bytes=max_body_bytes)
