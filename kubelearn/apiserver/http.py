"""The HTTP front: the Kubernetes API over real HTTPS, for kubectl and the official client.

Sockets and threads; how a request maps to the API server is in
:mod:`kubelearn.apiserver.rest`. What happens to one request:

- :class:`APIHTTPServer` accepts the connection on a thread of its own and
  does the TLS handshake (kubectl sends its token only over TLS; see
  :mod:`kubelearn.apiserver.tls`);
- :class:`APIRequestHandler` reads it: ``Impersonate-User`` (``kubectl --as``)
  is checked against RBAC's ``impersonate`` verb; the non-resource paths
  (discovery, ``/version``, ``/healthz``, OpenAPI) are answered here; a
  resource request is routed, its body read (at most 3 MiB: 413 beyond) and
  decoded, and passed to ``cluster.api.handle`` under ``cluster.lock``;
- the answer goes back converted as Accept asked (a ``Table`` for
  ``kubectl get``), an error as a ``kind: Status`` with its HTTP code -- never
  a traceback -- and a watch as a chunked stream, one JSON event a line, fed
  from the simulation's thread through a queue.

The wall clock is not read here: a watch's ``timeoutSeconds`` is measured with
the ``clock`` handed in by :mod:`kubelearn.apiserver.serve`.
"""

from __future__ import annotations

import logging
import queue
import select
import socket
import ssl
import threading
from collections.abc import Callable
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
from kubelearn.api.errors import go_quote
from kubelearn.apiserver import discovery, openapi
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
        """Serve a new connection on a thread of its own, remembered so stop() can join it."""
        thread = threading.Thread(target=self.process_request_thread,
                                  args=(request, client_address), daemon=True,
                                  name="kubelearn-http-connection")
        with self._watches_lock:
            self._connections[thread] = request
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
        """A bearer token acting as ``user`` (an impersonated identity), made once."""
        if user not in self._impersonated:
            rng = self.sim.rng(f"impersonation/{len(self._impersonated)}")
            self._impersonated[user] = self.api.authenticator.issue(user, rng)
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
    timeout = 60  # seconds a connection may sit idle between requests

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

    def send_error(self, code: int, message: str | None = None,
                   explain: str | None = None) -> None:
        """Malformed HTTP (bad request line, unknown method): still a Status."""
        self.close_connection = True
        reason = {400: "BadRequest", 405: "MethodNotAllowed", 414: "RequestURITooLong",
                  431: "RequestHeaderFieldsTooLarge", 501: "MethodNotAllowed"}.get(code, "")
        if code == 501:  # an unknown method is the client's fault, not the server's
            code, message = 405, METHOD_NOT_ALLOWED_MESSAGE
        err = StatusError(message or "bad request", reason=reason or "BadRequest", code=code,
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
                self._discard_body()
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
        raw = self._read_body()  # drained so the connection stays usable
        del raw
        self._serve_non_resource(method, path, query, token)

    def _is_resource_path(self, path: str) -> bool:
        segments = path.strip("/").split("/")
        return (segments[0] == "api" and len(segments) > 2) or \
            (segments[0] == "apis" and len(segments) > 3)

    def _token(self) -> str | None:
        header = self.headers.get("Authorization", "")
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
        return None if not header else header  # a malformed header is a bad token

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
    def _discard_body(self) -> None:
        """Read and drop the body of a request answered without it."""
        try:
            self._read_body()
        except StatusError:
            pass  # too big or malformed: the connection is closed after the answer

    def _read_body(self) -> bytes:
        """The request body, at most ``max_body_bytes``; 413 (and the connection closed) beyond."""
        self._body_read = True
        limit = self.server.max_body_bytes
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked(limit)
        length_header = self.headers.get("Content-Length")
        if not length_header:
            return b""
        try:
            length = int(length_header)
        except ValueError:
            self.close_connection = True
            raise BadRequest(f"invalid Content-Length {go_quote(length_header)}") from None
        if length < 0:
            self.close_connection = True
            raise BadRequest(f"invalid Content-Length {go_quote(length_header)}")
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
        return self.rfile.read(length)

    def _read_chunked(self, limit: int) -> bytes:
        body = bytearray()
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";")[0].strip() or b"x", 16)
            except ValueError:
                self.close_connection = True
                raise BadRequest("malformed chunked encoding") from None
            if size == 0:
                while self.rfile.readline(1024).strip():
                    pass  # trailers
                return bytes(body)
            if len(body) + size > limit:
                self.close_connection = True
                raise RequestEntityTooLarge(f"limit is {limit}")
            body += self.rfile.read(size)
            self.rfile.readline(1024)

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
        raw = self._read_body()
        mime = self._mime()
        if request.verb == "patch":
            request.patch_type = mime
        if raw or request.verb in ("create", "update", "patch"):
            try:
                request.body = decode_body(raw, mime, request.verb)
            except StatusError:
                self._precheck(request)  # 401/403 first, as the filters run before the handler
                raise
        with self.server.lock:
            result = self.server.api.handle(request)
            now = self.server.sim.timestamp()
        if hasattr(result, "on_event"):
            self._serve_watch(result, request, info, answer)
            return
        body = convert(result, answer, info, request.query, self._table(), now)
        code = 200
        if isinstance(result, dict) and result.get("kind") == "Status" and result.get("code"):
            code = int(result["code"])
        elif method == "POST":
            code = 201
        self._reply(code, encode(body, answer.encoding, pretty=go_bool(query.get("pretty", "0"))),
                    content_type(answer.encoding))

    def _precheck(self, request: Request) -> None:
        """Raise 401 or 403 for ``request`` if the API server would (before reading the body)."""
        api = self.server.api
        authenticator = getattr(api, "authenticator", None)
        if authenticator is None:
            return
        with self.server.lock:
            user = authenticator.authenticate(request.token)
            allowed = api.can_i(user, request.verb, request.resource,
                                request.namespace or "", request.group,
                                request.subresource or "", request.name or "")
        if not allowed:
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
    def _reply(self, code: int, body: bytes, mime: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", mime)
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
