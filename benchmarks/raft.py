"""How fast does the simulated Raft group commit, and what does a simulated write cost?

For 3 and 5 members (kubelearn.etcd.raft, etcd's timing: 100 ms heartbeat, 2 ms
one-way between members), a simple client workload: puts of a small Pod
(etcd_real.VALUE, 162 bytes), each to a distinct key:

- ``ReplicatedStore.put``: one client, synchronous, as the API server writes
  (each call runs the group's clock until its entry is applied on the endpoint);
- ``RaftGroup.submit``: ``clients`` closed-loop clients, each with one request
  in flight, sent round robin to the members (a follower forwards to the leader).

Committed writes per second and commit latency are in *simulated* time (what a
lesson's timeline shows); the wall-clock cost is per simulated write. Then the
same workload against a real 3-member etcd on loopback
(benchmarks/etcd_real.py's ``real_etcd_workload``: its JSON gateway, fsync on
every write), in wall time; skipped with a message when ``etcd`` is absent.

    python benchmarks/raft.py [--writes 2000]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from collections.abc import Callable

from etcd_real import VALUE, real_etcd_workload

from kubelearn.etcd.raft import RaftGroup, Request
from kubelearn.etcd.raftstore import ReplicatedStore
from kubelearn.sim import Simulation

HEADER = (f"{'workload':<24} {'members':>7} {'clients':>7} {'writes/s':>9} {'p50 ms':>7} "
          f"{'p99 ms':>7} {'wall µs/write':>13}")


def elected(members: int) -> RaftGroup:
    """A group with its first leader (the election is not part of the figures)."""
    group = RaftGroup(Simulation(seed=0), members)
    group.wait_for_leader()
    return group


def figures(latencies: list[float], seconds: float, wall: float) -> dict[str, float]:
    cuts = statistics.quantiles(latencies, n=100)
    return {"writes_per_s": len(latencies) / seconds, "p50_ms": cuts[49] * 1000,
            "p99_ms": cuts[98] * 1000, "wall_us": wall / len(latencies) * 1e6}


def store_puts(members: int, writes: int) -> dict[str, float]:
    """One synchronous client: ReplicatedStore.put, one after the other."""
    group = elected(members)
    store = ReplicatedStore(group)
    store.put("/bench/warm-up", VALUE)  # the new leader's empty entry commits first
    begin, wall = group.now, time.perf_counter()
    for i in range(writes):
        store.put(f"/bench/{i}", VALUE)
    wall = time.perf_counter() - wall
    latencies = list(store.requests()["latency"].iloc[1:])
    return figures(latencies, group.now - begin, wall)


def submitted_puts(members: int, writes: int, clients: int) -> dict[str, float]:
    """``clients`` closed-loop clients on RaftGroup.submit, spread over the members."""
    group = elected(members)
    group.wait(group.submit("write", "put", ("/bench/warm-up", VALUE)))
    latencies: list[float] = []
    sent = [0]

    def send(client: int) -> None:
        if sent[0] < writes:
            sent[0] += 1
            group.submit("write", "put", (f"/bench/{client}/{sent[0]}", VALUE),
                         member=group.names[client % len(group.names)],
                         on_done=done(client))

    def done(client: int) -> Callable[[Request], None]:
        def answered(request: Request) -> None:
            assert request.error is None, request.error
            latencies.append(request.completed - request.invoked)
            send(client)
        return answered

    begin, wall = group.now, time.perf_counter()
    for client in range(clients):
        send(client)
    group.clock.run_while(lambda: len(latencies) < writes)
    wall = time.perf_counter() - wall
    return figures(latencies, group.now - begin, wall)


def row(name: str, members: int, clients: int, f: dict[str, float]) -> str:
    wall = f"{f['wall_us']:>13,.0f}" if "wall_us" in f else f"{'–':>13}"
    return (f"{name:<24} {members:>7} {clients:>7} {f['writes_per_s']:>9,.0f} "
            f"{f['p50_ms']:>7.2f} {f['p99_ms']:>7.2f} {wall}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--writes", type=int, default=2000)
    args = parser.parse_args(argv)
    print(f"simulated Raft group: {args.writes} puts of {len(VALUE)} bytes; writes/s and "
          "latency in simulated time")
    print(HEADER)
    for members in (3, 5):
        print(row("ReplicatedStore.put", members, 1, store_puts(members, args.writes)))
        for clients in (1, 8):
            print(row("RaftGroup.submit", members, clients,
                      submitted_puts(members, args.writes, clients)))
    print("\nreal etcd, 3 members on loopback (JSON gateway); writes/s and latency in wall time")
    if shutil.which("etcd") is None:
        print("  skipped: no etcd binary on PATH (apt-get install etcd-server)")
        return 0
    from kubelearn.etcd.localcluster import LocalEtcdCluster

    print(HEADER)
    with LocalEtcdCluster(3) as etcd:
        for clients in (1, 8):
            print(row("etcd put (gateway)", 3, clients,
                      real_etcd_workload(etcd.endpoints, args.writes, clients)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
