"""A tiny client for a real etcd's JSON gateway, to compare our store with the real thing.

etcd 3.4 serves its gRPC API as JSON over plain HTTP too (the grpc-gateway):
``POST /v3/kv/put`` with ``{"key": base64, "value": base64}`` and so on.
:class:`Gateway` speaks enough of it to replay a lesson or a test against a
real server, returning the same types as :class:`~kubelearn.etcd.Store`
(``KeyValue``, ``PutResponse``, ``Event`` ...) and raising the same errors,
so ``ours == theirs`` is a plain comparison. :class:`LocalEtcd` starts a
throwaway single-member etcd on free loopback ports. Only the standard
library is used; this is for tests, benchmarks and curious learners, not
for production.

A real server lives in real time, so this module — unlike the rest of the
package — reads the wall clock, for timeouts only. Nothing in the store
imports it.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import selectors
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from typing import Any

from kubelearn.etcd.errors import (
    CompactedError,
    DuplicateKeyError,
    EmptyKeyError,
    EtcdError,
    FutureRevisionError,
    LeaseExistsError,
    LeaseNotFoundError,
    LeaseTTLTooLargeError,
    RequestTimeoutError,
    RequestTooLargeError,
    TooManyOpsError,
)
from kubelearn.etcd.kv import (
    DeleteResponse,
    Event,
    KeyRange,
    KeyValue,
    PutResponse,
    RangeResponse,
    TxnResponse,
)
from kubelearn.etcd.lease import Lease, LeaseTimeToLive
from kubelearn.etcd.txn import Compare, Op

# Error messages as the gateway reports them -> our error classes.
_ERRORS: dict[str, type[EtcdError]] = {
    cls.message: cls for cls in (EmptyKeyError, DuplicateKeyError, TooManyOpsError,
                                 RequestTooLargeError, LeaseNotFoundError, LeaseExistsError,
                                 LeaseTTLTooLargeError)
}
_ERRORS.update({"etcdserver: " + cls.message: cls
                for cls in (CompactedError, FutureRevisionError)})  # rpctypes ErrGRPCCompacted
_ERRORS[RequestTimeoutError.message] = RequestTimeoutError
_ERRORS[RequestTimeoutError.message + ", possibly due to previous leader failure"] = \
    RequestTimeoutError
# gRPC status codes a client decides on (google.golang.org/grpc/codes).
CANCELED, DEADLINE_EXCEEDED, UNAVAILABLE = 1, 4, 14
_COMPARE_FIELD = {"VALUE": "value", "VERSION": "version", "CREATE": "create_revision",
                  "MOD": "mod_revision", "LEASE": "lease"}


def _b64(text: str | bytes) -> str:
    """Base64 of a str (as UTF-8) or bytes, as the gateway wants keys and values."""
    raw = text.encode("utf-8") if isinstance(text, str) else text
    return base64.b64encode(raw).decode("ascii")


def _kv(obj: dict | None) -> KeyValue | None:
    """A gateway key-value (int64s as strings, zero fields left out) as a KeyValue."""
    if obj is None:
        return None
    return KeyValue(base64.b64decode(obj.get("key", "")).decode("utf-8"),
                    base64.b64decode(obj.get("value", "")), int(obj.get("create_revision", 0)),
                    int(obj.get("mod_revision", 0)), int(obj.get("version", 0)),
                    int(obj.get("lease", 0)))


def _range_fields(keys: KeyRange) -> dict[str, Any]:
    """The key and range_end of a request."""
    fields: dict[str, Any] = {"key": _b64(keys.key)}
    if keys.end is not None:
        fields["range_end"] = _b64(keys.end)
    return fields


def _event(obj: dict) -> Event:
    """A gateway watch event as an Event (a missing type is PUT, the enum's zero)."""
    return Event(obj.get("type", "PUT"), _kv(obj["kv"]), _kv(obj.get("prev_kv")))  # type: ignore[arg-type]


class Gateway:
    """A client for one etcd server's JSON gateway, mirroring Store's methods."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        host_port = url.split("://", 1)[-1].rstrip("/")
        self.host, _, port = host_port.partition(":")
        self.port = int(port or 2379)
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    def call(self, path: str, body: dict) -> dict:
        """POST ``body`` as JSON to ``path``; the decoded reply, or the matching EtcdError."""
        data = json.dumps(body).encode("utf-8")
        for attempt in (1, 2):  # one retry if a kept-alive connection was closed meanwhile
            if self._conn is None:
                self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self._conn.request("POST", path, body=data,
                                   headers={"Content-Type": "application/json"})
                response = self._conn.getresponse()
                reply = json.loads(response.read() or b"{}")
                break
            except (ConnectionError, http.client.HTTPException):
                self.close()
                if attempt == 2:
                    raise
        if response.status != 200:
            message = reply.get("error") or reply.get("message") or str(reply)
            error = _ERRORS.get(message, EtcdError)(message=message)
            error.grpc_code = int(reply.get("code") or 0)  # type: ignore[attr-defined]
            raise error
        return reply.get("result", reply)  # streaming endpoints wrap replies in "result"

    def snapshot(self) -> bytes:
        """The server's whole database, as Maintenance.Snapshot streams it (with its SHA-256).

        The gateway sends one JSON line per chunk, ``{"result": {"blob": base64}}``;
        the last chunk is the SHA-256 of the rest, which ``etcdctl snapshot
        restore`` checks. The bytes are the file ``etcdctl snapshot save`` writes.
        """
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            conn.request("POST", "/v3/maintenance/snapshot", body=b"{}",
                         headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            lines = response.read().splitlines()
        finally:
            conn.close()
        chunks = []
        for line in lines:
            if not line.strip():
                continue
            reply = json.loads(line)
            if "error" in reply or response.status != 200:
                error = reply.get("error") or {}
                message = error.get("message") if isinstance(error, dict) else str(error)
                raise EtcdError(message or f"snapshot failed: HTTP {response.status}")
            chunks.append(base64.b64decode(reply.get("result", {}).get("blob", "")))
        return b"".join(chunks)

    def set_timeout(self, seconds: float) -> None:
        """How long the next requests may wait for an answer (a kept-alive connection too)."""
        self.timeout = seconds
        if self._conn is not None:
            self._conn.timeout = seconds
            if self._conn.sock is not None:
                self._conn.sock.settimeout(seconds)

    def close(self) -> None:
        """Close the kept-alive connection."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- kv -------------------------------------------------------------------------
    def put(self, key: str, value: str | bytes, *, lease: int = 0,
            prev_kv: bool = False) -> PutResponse:
        """Put, as Store.put."""
        reply = self.call("/v3/kv/put", {"key": _b64(key), "value": _b64(value), "lease": lease,
                                         "prev_kv": prev_kv})
        return PutResponse(int(reply["header"]["revision"]), _kv(reply.get("prev_kv")))

    def get(self, key: str, *, revision: int = 0) -> KeyValue | None:
        """Get, as Store.get."""
        kvs = self.range(key, revision=revision).kvs
        return kvs[0] if kvs else None

    def range(self, key: str, range_end: str | None = None, *, prefix: bool = False,
              revision: int = 0, limit: int = 0, keys_only: bool = False,
              count_only: bool = False) -> RangeResponse:
        """Range, as Store.range."""
        op = Op.get(key, range_end, prefix, revision, limit, keys_only, count_only)
        return self._range_response(self.call("/v3/kv/range", self._request(op)["request_range"]))

    def delete(self, key: str, range_end: str | None = None, *, prefix: bool = False,
               prev_kv: bool = False) -> DeleteResponse:
        """Delete, as Store.delete."""
        op = Op.delete(key, range_end, prefix, prev_kv)
        reply = self.call("/v3/kv/deleterange", self._request(op)["request_delete_range"])
        return self._delete_response(reply)

    def txn(self, compare: Sequence[Compare] = (), success: Sequence[Op] = (),
            failure: Sequence[Op] = ()) -> TxnResponse:
        """Txn, as Store.txn."""
        body = {"compare": [self._compare(c) for c in compare],
                "success": [self._request(op) for op in success],
                "failure": [self._request(op) for op in failure]}
        reply = self.call("/v3/kv/txn", body)
        responses: list[PutResponse | RangeResponse | DeleteResponse] = []
        for item in reply.get("responses", []):
            if "response_put" in item:
                put = item["response_put"]
                responses.append(PutResponse(int(put["header"]["revision"]),
                                             _kv(put.get("prev_kv"))))
            elif "response_range" in item:
                responses.append(self._range_response(item["response_range"]))
            else:
                responses.append(self._delete_response(item["response_delete_range"]))
        return TxnResponse(int(reply["header"]["revision"]), bool(reply.get("succeeded")),
                           responses)

    def compact(self, revision: int, physical: bool = True) -> None:
        """Compact, as Store.compact (physical: wait until the data is really gone)."""
        self.call("/v3/kv/compaction", {"revision": revision, "physical": physical})

    @property
    def revision(self) -> int:
        """The server's current revision."""
        return int(self.call("/v3/kv/range", {"key": _b64("\0"), "count_only": True})
                   ["header"]["revision"])

    # -- leases -----------------------------------------------------------------------
    def grant(self, ttl: int, lease_id: int = 0) -> Lease:
        """Grant, as Store.grant."""
        reply = self.call("/v3/lease/grant", {"TTL": ttl, "ID": lease_id})
        return Lease(int(reply["ID"]), int(reply["TTL"]))

    def keepalive(self, lease_id: int) -> int:
        """Keepalive once, as Store.keepalive."""
        ttl = int(self.call("/v3/lease/keepalive", {"ID": lease_id}).get("TTL", 0))
        if ttl <= 0:
            raise LeaseNotFoundError()  # as clientv3 KeepAliveOnce does
        return ttl

    def revoke(self, lease_id: int) -> None:
        """Revoke, as Store.revoke."""
        self.call("/v3/lease/revoke", {"ID": lease_id})

    def time_to_live(self, lease_id: int, keys: bool = False) -> LeaseTimeToLive:
        """TimeToLive, as Store.time_to_live."""
        reply = self.call("/v3/lease/timetolive", {"ID": lease_id, "keys": keys})
        return LeaseTimeToLive(int(reply["ID"]), int(reply.get("TTL", 0)),
                               int(reply.get("grantedTTL", 0)),
                               sorted(base64.b64decode(k).decode() for k in reply.get("keys", [])))

    def leases(self) -> list[Lease]:
        """Every live lease (ttl not reported by etcd: 0)."""
        reply = self.call("/v3/lease/leases", {})
        return sorted(Lease(int(lease["ID"]), 0) for lease in reply.get("leases", []))

    # -- watch --------------------------------------------------------------------------
    def watch(self, key: str, range_end: str | None = None, *, prefix: bool = False,
              start_revision: int = 0, prev_kv: bool = False) -> GatewayWatch:
        """Open a watch stream, as Store.watch (read it with ``next_events``)."""
        request = _range_fields(KeyRange.of(key, range_end, prefix))
        request.update(start_revision=start_revision, prev_kv=prev_kv)
        return GatewayWatch(self.host, self.port, request, self.timeout)

    # -- conversions ------------------------------------------------------------------------
    @staticmethod
    def _request(op: Op) -> dict:
        """An Op as a gateway RequestOp."""
        fields = _range_fields(op.range)
        if op.kind == "put":
            fields.update(value=_b64(op.value), lease=op.lease, prev_kv=op.prev_kv)
            return {"request_put": fields}
        if op.kind == "delete":
            fields.update(prev_kv=op.prev_kv)
            return {"request_delete_range": fields}
        fields.update(revision=op.revision, limit=op.limit, keys_only=op.keys_only,
                      count_only=op.count_only)
        return {"request_range": fields}

    @staticmethod
    def _compare(cmp: Compare) -> dict:
        """A Compare as a gateway Compare."""
        fields = _range_fields(cmp.range)
        value = cmp.value
        fields.update(target=cmp.target, result=cmp.result)
        fields[_COMPARE_FIELD[cmp.target]] = _b64(value) if isinstance(value, bytes) else value
        return fields

    @staticmethod
    def _range_response(reply: dict) -> RangeResponse:
        kvs = [_kv(kv) for kv in reply.get("kvs", [])]
        return RangeResponse(kvs, int(reply.get("count", 0)),  # type: ignore[arg-type]
                             bool(reply.get("more")), int(reply["header"]["revision"]))

    @staticmethod
    def _delete_response(reply: dict) -> DeleteResponse:
        prevs = [_kv(kv) for kv in reply.get("prev_kvs", [])]
        return DeleteResponse(int(reply["header"]["revision"]), int(reply.get("deleted", 0)),
                              prevs)  # type: ignore[arg-type]


class GatewayWatch:
    """One watch stream on the gateway: an HTTP/1.0 POST whose reply never ends.

    Each line of the reply is one WatchResponse. ``fileno`` lets many
    watches share a selector (the benchmark reads 1,000 at once).
    """

    def __init__(self, host: str, port: int, request: dict, timeout: float) -> None:
        self.timeout = timeout
        self.events: list[Event] = []
        self.compact_revision = 0
        self.created = False
        self._buffer = b""
        self._sock = socket.create_connection((host, port), timeout=timeout)
        body = json.dumps({"create_request": request}).encode("utf-8")
        self._sock.sendall(b"POST /v3/watch HTTP/1.0\r\nHost: %s\r\nContent-Type: "
                           b"application/json\r\nContent-Length: %d\r\n\r\n%s"
                           % (host.encode(), len(body), body))
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self._sock.recv(65536)
            if not chunk:
                raise EtcdError("etcd closed the watch stream before answering")
            head += chunk
        status_line, _, _ = head.partition(b"\r\n")
        if b" 200 " not in status_line + b" ":
            raise EtcdError(f"watch failed: {status_line.decode(errors='replace')}")
        self._buffer = head.partition(b"\r\n\r\n")[2]
        deadline = time.monotonic() + timeout
        while not self.created:
            if not self._parse():
                if time.monotonic() > deadline:
                    raise TimeoutError("etcd did not confirm the watch")
                self._receive(deadline - time.monotonic())

    def fileno(self) -> int:
        """The socket, for selectors."""
        return self._sock.fileno()

    def read_available(self) -> int:
        """Receive what has arrived (call when the socket is readable); new event count."""
        before = len(self.events)
        self._receive(0)
        self._parse()
        return len(self.events) - before

    def next_events(self, count: int, timeout: float | None = None) -> list[Event]:
        """Wait until ``count`` more events arrived and return them (TimeoutError if not)."""
        want = len(self.events) + count
        start = len(self.events)
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while len(self.events) < want:
            if not self._parse():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"got {len(self.events) - start} of {count} watch events")
                self._receive(left)
        return self.events[start:want]

    def take(self, timeout: float) -> list[Event]:
        """Every event received and not yet taken, waiting up to ``timeout`` s for at least one.

        Taken events leave ``events``: a stream read this way for hours keeps no history.
        """
        if not self.events:
            self.next_events(1, timeout)
        taken, self.events = self.events, []
        return taken

    def quiet_for(self, seconds: float) -> list[Event]:
        """Collect whatever arrives within ``seconds`` (to check that nothing comes)."""
        start = len(self.events)
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if not self._parse():
                self._receive(left)
        return self.events[start:]

    def close(self) -> None:
        """Close the stream (etcd cancels the watch)."""
        self._sock.close()

    def _receive(self, timeout: float) -> None:
        """Append what the socket has to the buffer, waiting up to ``timeout`` seconds."""
        self._sock.settimeout(timeout if timeout > 0 else 0.0)
        try:
            chunk = self._sock.recv(1 << 20)
        except (BlockingIOError, TimeoutError):
            return
        if not chunk:
            raise EtcdError("etcd closed the watch stream")
        self._buffer += chunk

    def _parse(self) -> bool:
        """Turn complete lines in the buffer into events; True if any line was parsed."""
        parsed = False
        while b"\n" in self._buffer:
            line, _, self._buffer = self._buffer.partition(b"\n")
            if not line.strip():
                continue
            parsed = True
            result = json.loads(line).get("result", {})
            if result.get("created"):
                self.created = True
            if result.get("canceled") and int(result.get("compact_revision", 0)):
                self.compact_revision = int(result["compact_revision"])
                raise CompactedError(self.compact_revision)
            self.events.extend(_event(e) for e in result.get("events", []))
        return parsed


def stop_process(process: subprocess.Popen) -> None:
    """Stop an etcd process: SIGTERM, then SIGKILL if it is still there after 5 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def free_port() -> int:
    """A TCP port nobody listens on right now, on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalEtcd:
    """A throwaway one-member etcd on loopback, in a temporary data directory.

    ``with LocalEtcd() as etcd: etcd.client.put("a", "1")``. The binary is
    found on PATH (Debian's etcd-server installs /usr/bin/etcd).
    """

    def __init__(self, binary: str | None = None) -> None:
        self.binary = binary or shutil.which("etcd")
        if self.binary is None:
            raise FileNotFoundError("no etcd binary on PATH (apt-get install etcd-server)")
        self.process: subprocess.Popen | None = None
        self.url = ""
        self.client: Gateway | None = None
        self._dir: tempfile.TemporaryDirectory | None = None

    @staticmethod
    def available() -> bool:
        """Whether an etcd binary is on PATH."""
        return shutil.which("etcd") is not None

    def start(self, timeout: float = 20.0, attempts: int = 3) -> LocalEtcd:
        """Start etcd and wait until it answers /health (new ports if it dies at once)."""
        output = ""
        for _ in range(attempts):
            if self._launch(timeout):
                self.client = Gateway(self.url)
                return self
            output = self.log()
            self.stop()
        raise RuntimeError(f"etcd did not become healthy within {timeout}s:\n{output[-2000:]}")

    def _launch(self, timeout: float) -> bool:
        """Start one etcd process on fresh ports; whether it became healthy."""
        self._dir = tempfile.TemporaryDirectory(prefix="kubelearn-etcd-")
        client_port, peer_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{client_port}"
        peer = f"http://127.0.0.1:{peer_port}"
        with open(os.path.join(self._dir.name, "etcd.log"), "wb") as log:
            self.process = subprocess.Popen(
                [self.binary, "--name", "kubelearn", "--data-dir",
                 os.path.join(self._dir.name, "data"),
                 "--listen-client-urls", self.url, "--advertise-client-urls", self.url,
                 "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                 "--initial-cluster", f"kubelearn={peer}", "--initial-cluster-state", "new"],
                stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            if self._healthy():
                return True
            time.sleep(0.05)
        return False

    def _healthy(self) -> bool:
        """Whether /health says true."""
        conn = http.client.HTTPConnection("127.0.0.1", int(self.url.rsplit(":", 1)[1]),
                                          timeout=1)
        try:
            conn.request("GET", "/health")
            return json.loads(conn.getresponse().read()).get("health") == "true"
        except (OSError, ValueError, http.client.HTTPException):
            return False
        finally:
            conn.close()

    def log(self) -> str:
        """What etcd printed so far."""
        if self._dir is None:
            return ""
        try:
            with open(os.path.join(self._dir.name, "etcd.log"), "rb") as f:
                return f.read().decode("utf-8", errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        """Stop etcd (terminate, wait, kill) and remove its data."""
        if self.client is not None:
            self.client.close()
            self.client = None
        if self.process is not None:
            stop_process(self.process)
            self.process = None
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    def __enter__(self) -> LocalEtcd:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def read_all(watches: Sequence[GatewayWatch], events_each: int, timeout: float) -> int:
    """Read many watch streams until each has ``events_each`` events; returns the total."""
    selector = selectors.DefaultSelector()
    waiting = {w for w in watches if len(w.events) < events_each}
    for w in waiting:
        selector.register(w, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    try:
        while waiting:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{len(waiting)} watch(es) still short of {events_each} events")
            for key, _ in selector.select(left):
                w = key.fileobj
                w.read_available()  # type: ignore[union-attr]
                if len(w.events) >= events_each:  # type: ignore[union-attr]
                    selector.unregister(w)
                    waiting.discard(w)  # type: ignore[arg-type]
    finally:
        selector.close()
    return sum(len(w.events) for w in watches)
