"""A real 3-member etcd over loopback: committed writes per second and commit latency.

The real-cluster half of benchmarks/raft.py's figures (the simulated Raft
group is measured there): ``clients`` threads each put distinct keys, one
request at a time, through the JSON gateway of the member they talk to
(round robin over the members, as clientv3 spreads its connections). A put
returns when a majority has the entry on disk and the leader applied it, so
the latency is a commit latency, in wall time. A second table puts the
API server on top: ConfigMaps created per second through ``kl.Cluster`` on
the embedded store and on the real cluster (``kl.Cluster(etcd=...)``).

    python benchmarks/etcd_real.py [--writes 1000]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import threading
import time

import kubelearn as kl
from kubelearn.etcd.gateway import Gateway
from kubelearn.etcd.localcluster import LocalEtcdCluster

VALUE = b'{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web-0","namespace":"default"},' \
        b'"spec":{"nodeName":"node-1","containers":[{"name":"web","image":"nginx:1.27"}]}}'


def real_etcd_workload(endpoints: list[str], writes: int, clients: int) -> dict[str, float]:
    """``writes`` puts by ``clients`` threads: writes/s and latency percentiles in ms."""
    latencies: list[float] = []
    lock = threading.Lock()
    per_client = writes // clients

    def client(n: int) -> None:
        gateway = Gateway(endpoints[n % len(endpoints)])
        mine = []
        for i in range(per_client):
            start = time.perf_counter()
            gateway.put(f"/bench/{clients}/{n}/{i}", VALUE)
            mine.append(time.perf_counter() - start)
        gateway.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    cuts = statistics.quantiles(latencies, n=100)
    return {"clients": clients, "writes_per_s": len(latencies) / elapsed,
            "p50_ms": cuts[49] * 1000, "p99_ms": cuts[98] * 1000}


def apiserver_creates(count: int, etcd: list[str] | None) -> float:
    """ConfigMaps created per second through the API server (admission, storage, watch)."""
    cluster = kl.Cluster(seed=0, etcd=etcd)
    start = time.perf_counter()
    for i in range(count):
        cluster.admin.create({"apiVersion": "v1", "kind": "ConfigMap",
                              "metadata": {"name": f"cm-{i}"}, "data": {"k": "v"}})
    elapsed = time.perf_counter() - start
    if etcd is not None:
        cluster.etcd.close()
    return count / elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--writes", type=int, default=1000)
    parser.add_argument("--members", type=int, default=3, choices=(1, 3))
    args = parser.parse_args(argv)
    if shutil.which("etcd") is None:
        print("no etcd binary on PATH (apt-get install etcd-server)", file=sys.stderr)
        return 1
    with LocalEtcdCluster(args.members) as etcd:
        print(f"real etcd, {args.members} members on loopback, JSON gateway, "
              f"{args.writes} puts of {len(VALUE)} bytes")
        print(f"{'clients':>8} {'writes/s':>10} {'p50 ms':>8} {'p99 ms':>8}")
        for clients in (1, 8):
            row = real_etcd_workload(etcd.endpoints, args.writes, clients)
            print(f"{clients:>8} {row['writes_per_s']:>10,.0f} {row['p50_ms']:>8.2f} "
                  f"{row['p99_ms']:>8.2f}")
        print("\nConfigMaps created through the API server (one client)")
        print(f"  embedded store: {apiserver_creates(300, None):,.0f}/s")
        print(f"  real etcd:      {apiserver_creates(300, etcd.endpoints):,.0f}/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
