"""Serving a cluster to kubectl: the HTTP server, a clock that follows the wall, one lock.

:func:`serve` starts two threads next to the caller's:

- the HTTP server (:mod:`kubelearn.apiserver.http`), one more thread per
  connection, each taking ``cluster.lock`` around its call to the API server;
- the driver, which advances the simulation as real time passes:
  ``speed`` virtual seconds per wall second (``speed=60``: a minute of
  cluster life every second; ``speed=0``: time stands still, as in a lesson).
  It takes the lock around each step of at most :data:`MAX_STEP` virtual
  seconds and sleeps only with the lock released, so requests interleave.

This is the one module of kubelearn that reads the wall clock
(:class:`WallClock`): everything else runs on the simulation's virtual
clock. The HTTP server measures watch timeouts with the clock passed in here.

:class:`Server` is the handle: ``.url``, ``.kubeconfig_path``, ``.token``,
``.stop()`` (ends open watches, stops both threads and joins them), and a
context manager. It writes a kubeconfig for the cluster's admin (bearer token)
and prints how to point kubectl at it. It serves HTTPS with a certificate the
cluster's CA signed (:mod:`kubelearn.apiserver.tls`; the kubeconfig trusts that
CA), because kubectl sends a bearer token only over TLS; ``tls=False`` serves
plain HTTP (clients that send their token anyway, such as the ``kubernetes``
Python client, still work).
"""

from __future__ import annotations

import logging
import shutil
import ssl
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, TextIO

from kubelearn.apiserver.http import APIHTTPServer, make_server
from kubelearn.apiserver.kubeconfig import write_kubeconfig
from kubelearn.apiserver.tls import write_tls_files

log = logging.getLogger(__name__)

TICK = 0.05  # wall seconds between driver steps
MAX_STEP = 1.0  # virtual seconds simulated under one hold of the lock
MAX_LAG = 5.0  # wall seconds of simulation the driver will catch up on; older is dropped


class WallClock:
    """Real elapsed time (``time.monotonic``): the serving loop's only link to the wall."""

    def monotonic(self) -> float:
        """Seconds since an arbitrary fixed moment, never going backwards."""
        return time.monotonic()


def cluster_lock(cluster: Any) -> threading.RLock:
    """The cluster's lock, created and attached if the cluster has none yet."""
    lock = getattr(cluster, "lock", None)
    if lock is None:
        lock = threading.RLock()
        cluster.lock = lock
    return lock


def admin_token(cluster: Any) -> str:
    """A bearer token for the cluster's admin (kubernetes-admin, group system:masters)."""
    token = getattr(cluster, "admin_token", None)
    if isinstance(token, str) and token:
        return token
    from kubelearn.apiserver import authn

    authenticator = cluster.api.authenticator
    return authenticator.token_for(authn.ADMIN_NAME) or authenticator.issue(authn.admin())


class Server:
    """A cluster served over HTTP, its simulation following the wall clock."""

    def __init__(self, cluster: Any, *, host: str = "127.0.0.1", port: int = 0,
                 speed: float = 1.0, kubeconfig: str | Path | None = None, tls: bool = True,
                 clock: WallClock | None = None) -> None:
        if speed < 0:
            raise ValueError(f"speed must be >= 0, not {speed}")
        self.cluster = cluster
        self.speed = float(speed)
        self.clock = clock or WallClock()
        self.lock = cluster_lock(cluster)
        # A private directory for the TLS key (and the kubeconfig unless told where).
        self.directory = Path(tempfile.mkdtemp(prefix="kubelearn-"))
        context, self.ca_path = None, None
        try:
            if tls:
                hosts = sorted({host, "127.0.0.1", "localhost"})
                # Signed by the cluster's CA: the one its kube-root-ca.crt ConfigMaps carry.
                files = write_tls_files(self.directory, hosts, getattr(cluster, "ca", None))
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                context.load_cert_chain(files.cert_path, files.key_path)
                self.ca_path = files.ca_path
            self.httpd: APIHTTPServer = make_server(cluster, host, port, clock=self.clock,
                                                    lock=self.lock, ssl_context=context)
        except BaseException:  # the port is taken...: leave nothing behind
            shutil.rmtree(self.directory, ignore_errors=True)
            raise
        with self.lock:
            self.token = admin_token(cluster)
        kubeconfig = kubeconfig if kubeconfig is not None else self.directory / "kubeconfig"
        try:
            self.kubeconfig_path = write_kubeconfig(
                kubeconfig, self.url, self.token,
                ca_pem=self.ca_path.read_bytes() if self.ca_path else None)
        except BaseException:  # the path is a directory...: close the socket, leave nothing
            self.httpd.server_close()
            shutil.rmtree(self.directory, ignore_errors=True)
            raise
        self._stopping = threading.Event()
        self._threads = [
            threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1},
                             name="kubelearn-http", daemon=True),
            threading.Thread(target=self._drive, name="kubelearn-driver", daemon=True),
        ]
        self.error: BaseException | None = None  # the last exception the simulation raised
        for thread in self._threads:
            thread.start()

    @property
    def url(self) -> str:
        """Where the API server listens: ``https://127.0.0.1:<port>``."""
        return self.httpd.url

    def _drive(self) -> None:
        """Advance the simulation by ``speed`` x the wall time gone by, step by step."""
        last = self.clock.monotonic()
        while not self._stopping.wait(TICK):
            now = self.clock.monotonic()
            due = min(now - last, MAX_LAG) * self.speed
            last = now
            while due > 0 and not self._stopping.is_set():
                step = min(due, MAX_STEP)
                try:
                    with self.lock:
                        self.cluster.run(step)
                except Exception as err:  # keep serving; the failure is kept for inspection
                    log.exception("the simulation failed while served")
                    self.error = err
                due -= step

    def usage(self) -> str:
        """How to point kubectl at this server."""
        return (f"kubelearn API server at {self.url}\n"
                f"  export KUBECONFIG={self.kubeconfig_path}\n"
                f"  kubectl get pods")

    def stop(self) -> None:
        """Stop serving: end open watches, stop the driver and HTTP threads, join them."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        self.httpd.shutdown()  # no new connections
        self.httpd.close_connections()  # open ones (watches, keep-alives) end and are joined
        for thread in self._threads:
            thread.join(timeout=10)
        self.httpd.server_close()
        shutil.rmtree(self.directory, ignore_errors=True)

    @property
    def running(self) -> bool:
        """True until :meth:`stop`."""
        return not self._stopping.is_set()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"Server({self.url}, speed={self.speed:g}, {state})"


def serve(cluster: Any, *, host: str = "127.0.0.1", port: int = 0, speed: float = 1.0,
          kubeconfig: str | Path | None = None, tls: bool = True, quiet: bool = False,
          out: TextIO | None = None) -> Server:
    """Serve ``cluster`` over HTTP for kubectl; return the running :class:`Server`.

    ``port=0`` picks a free port; ``speed`` is virtual seconds per wall second;
    the kubeconfig (admin, bearer token, the server's certificate) goes to
    ``kubeconfig`` or a temporary directory removed by ``stop()``. Unless
    ``quiet``, prints how to use it.
    """
    server = Server(cluster, host=host, port=port, speed=speed, kubeconfig=kubeconfig, tls=tls)
    if not quiet:
        print(server.usage(), file=out or sys.stdout, flush=True)
    return server
