"""A real etcd cluster of three (or five) members on loopback, for learners and tests.

``make etcd`` runs ``python -m kubelearn.etcd.localcluster``: three etcd
processes from Debian's etcd-server, each a member of one Raft group, on the
ports etcd's own Procfile uses (clients 2379, 22379, 32379; peers 2380, 12380,
22380), with their data in a temporary directory that goes when you press
Ctrl-C. Then::

    cluster = kl.Cluster(etcd=["http://127.0.0.1:2379", "http://127.0.0.1:22379",
                               "http://127.0.0.1:32379"])

Tests use :class:`LocalEtcdCluster` on free ports, and stop and restart
members to show what a majority means: with one member of three down the
other two still commit writes; with two down nothing commits.

Like :mod:`kubelearn.etcd.gateway`, this module lives in real time: it starts
processes and waits for them on the wall clock.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import IO

from kubelearn.etcd.gateway import free_port, stop_process

# Debian ships etcd 3.4, kubelearn models 3.5: Pre-Vote is on by default from 3.5
# (server/embed/config.go NewConfig PreVote: true, v3.5.16; false in v3.4.23).
ETCD_3_5_FLAGS = ("--pre-vote=true",)
# etcd's Procfile (etcd-io/etcd, v3.4): infra1..3 on these client and peer ports.
PROCFILE_CLIENT_PORTS = (2379, 22379, 32379)
PROCFILE_PEER_PORTS = (2380, 12380, 22380)


class Member:
    """One etcd process: its name, URLs, data directory and log."""

    def __init__(self, name: str, client_port: int, peer_port: int, data_dir: str) -> None:
        self.name = name
        self.client_url = f"http://127.0.0.1:{client_port}"
        self.peer_url = f"http://127.0.0.1:{peer_port}"
        self.data_dir = data_dir
        self.process: subprocess.Popen | None = None
        self._log: IO[bytes] | None = None

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self.process is not None and self.process.poll() is None

    def start(self, binary: str, initial_cluster: str) -> None:
        """Start the process; with an existing data dir etcd ignores the initial-cluster flags."""
        if self.running:
            return
        self._log = open(self.data_dir + ".log", "ab")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            [binary, "--name", self.name, "--data-dir", self.data_dir,
             "--listen-client-urls", self.client_url, "--advertise-client-urls", self.client_url,
             "--listen-peer-urls", self.peer_url, "--initial-advertise-peer-urls", self.peer_url,
             "--initial-cluster", initial_cluster, "--initial-cluster-state", "new",
             "--initial-cluster-token", "kubelearn", *ETCD_3_5_FLAGS],
            stdout=self._log, stderr=subprocess.STDOUT)

    def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL after 5 s); the data dir stays."""
        if self.process is not None:
            stop_process(self.process)
        self._forget()

    def kill(self) -> None:
        """Kill the process at once (SIGKILL), as a power cut would; the data dir stays."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)
        self._forget()

    def _forget(self) -> None:
        self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def healthy(self) -> bool:
        """Whether the member answers /health with true (it has a leader and can commit)."""
        port = int(self.client_url.rsplit(":", 1)[1])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        try:
            conn.request("GET", "/health")
            return json.loads(conn.getresponse().read()).get("health") == "true"
        except (OSError, ValueError, http.client.HTTPException):
            return False
        finally:
            conn.close()


class LocalEtcdCluster:
    """``members`` etcd processes forming one cluster, in a temporary directory.

    ``with LocalEtcdCluster() as etcd: kl.Cluster(etcd=etcd.endpoints)``.
    ``procfile_ports=True`` uses etcd's well-known ports instead of free ones.
    """

    def __init__(self, members: int = 3, *, procfile_ports: bool = False,
                 binary: str | None = None) -> None:
        if members < 1 or (procfile_ports and members > len(PROCFILE_CLIENT_PORTS)):
            raise ValueError(f"members must be between 1 and {len(PROCFILE_CLIENT_PORTS)}")
        self.binary = binary or shutil.which("etcd")
        if self.binary is None:
            raise FileNotFoundError("no etcd binary on PATH (apt-get install etcd-server)")
        self.size = members
        self.procfile_ports = procfile_ports
        self.members: list[Member] = []
        self._dir: tempfile.TemporaryDirectory | None = None

    @property
    def endpoints(self) -> list[str]:
        """Every member's client URL."""
        return [m.client_url for m in self.members]

    def start(self, timeout: float = 30.0) -> LocalEtcdCluster:
        """Start every member and wait until each answers /health."""
        self._dir = tempfile.TemporaryDirectory(prefix="kubelearn-etcd-cluster-")
        for i in range(self.size):
            if self.procfile_ports:
                client, peer = PROCFILE_CLIENT_PORTS[i], PROCFILE_PEER_PORTS[i]
            else:
                client, peer = free_port(), free_port()
            self.members.append(Member(f"infra{i + 1}", client, peer,
                                       os.path.join(self._dir.name, f"infra{i + 1}.etcd")))
        try:
            for i in range(self.size):
                self.start_member(i, wait=False)
            self.wait_healthy(range(self.size), timeout)
        except BaseException:
            self.stop()  # no member left behind
            raise
        return self

    @property
    def initial_cluster(self) -> str:
        """``--initial-cluster``: every member's name and peer URL."""
        return ",".join(f"{m.name}={m.peer_url}" for m in self.members)

    def start_member(self, index: int, *, wait: bool = True, timeout: float = 30.0) -> None:
        """(Re)start one member with its data; ``wait``: until it is healthy."""
        self.members[index].start(self.binary, self.initial_cluster)  # type: ignore[arg-type]
        if wait:
            self.wait_healthy([index], timeout)

    def stop_member(self, index: int) -> None:
        """Stop one member; its data stays for a restart."""
        self.members[index].stop()

    def wait_healthy(self, indexes: object, timeout: float) -> None:
        """Wait until the given members answer /health, or raise with their logs' tails."""
        waiting = [self.members[i] for i in indexes]  # type: ignore[attr-defined]
        deadline = time.monotonic() + timeout
        while waiting and time.monotonic() < deadline:
            dead = [m.name for m in waiting if not m.running]
            if dead:
                raise RuntimeError(f"etcd member(s) {dead} exited:\n{self.log()[-2000:]}")
            waiting = [m for m in waiting if not m.healthy()]
            time.sleep(0.05)
        if waiting:
            raise RuntimeError(f"etcd member(s) {[m.name for m in waiting]} not healthy within "
                               f"{timeout}s:\n{self.log()[-2000:]}")

    def log(self) -> str:
        """Every member's log so far."""
        if self._dir is None:
            return ""
        out = []
        for m in self.members:
            try:
                with open(m.data_dir + ".log", "rb") as f:
                    out.append(f"--- {m.name}\n" + f.read().decode("utf-8", errors="replace"))
            except OSError:
                pass
        return "\n".join(out)

    def stop(self) -> None:
        """Stop every member and remove the data.

        The members are killed, not asked to stop: their data goes next, so there is
        nothing to keep. Asked (SIGTERM), a leader first hands its leadership to the
        member it was connected to longest, which may be one stopped a moment
        before; it then waits for etcd's request timeout, 5 s, before it exits.
        """
        for m in self.members:
            m.kill()
        self.members = []
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    def __enter__(self) -> LocalEtcdCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    """``make etcd``: run a local cluster in the foreground until Ctrl-C."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=3, choices=(1, 3))
    args = parser.parse_args(argv)
    try:
        cluster = LocalEtcdCluster(args.members, procfile_ports=True)
    except FileNotFoundError as err:
        print(err, file=sys.stderr)
        return 1

    def stop(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)  # also when started in the background (SIGINT ignored)
    try:
        cluster.start()
        endpoints = ", ".join(repr(e) for e in cluster.endpoints)
        print(f"etcd cluster of {args.members} running ({cluster.binary}); data in a temp dir.\n"
              f"  kl.Cluster(etcd=[{endpoints}])\n"
              f"  ETCDCTL_API=3 etcdctl --endpoints={','.join(cluster.endpoints)} "
              f"get /registry/ --prefix --keys-only\n"
              f"Ctrl-C stops it and deletes the data.", flush=True)
        while any(m.running for m in cluster.members):
            time.sleep(0.5)
        print(f"every member exited:\n{cluster.log()[-2000:]}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    except RuntimeError as err:
        print(err, file=sys.stderr)
        return 1
    finally:
        cluster.stop()


if __name__ == "__main__":
    sys.exit(main())
