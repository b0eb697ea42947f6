"""How fast is kubelearn's embedded etcd, next to a real etcd on the same machine?

Prints one table: puts/s, gets/s, the time to range over 10,000 keys, and
watch fan-out (one put seen by 1,000 watchers: events delivered per second),
for the embedded store and for a real etcd started on loopback and reached
through its JSON gateway (one client, sequential requests; the real server
also fsyncs every write to disk). Wall-clock time is measured here, and only
here: the store itself runs on the virtual clock.

    python benchmarks/etcd_store.py
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable

from kubelearn.etcd import Op, Store
from kubelearn.etcd.gateway import Gateway, LocalEtcd, read_all
from kubelearn.sim import Simulation

VALUE = json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {
    "name": "web-0", "namespace": "default", "labels": {"app": "web"}},
    "spec": {"nodeName": "node-1", "containers": [{"name": "web", "image": "nginx:1.27"}]},
    "status": {"phase": "Running"}}).encode()
RANGE_KEYS = 10_000
WATCHERS = 1_000


def rate(count: int, seconds: float) -> str:
    """``count`` operations in ``seconds`` as a rate."""
    return f"{count / seconds:,.0f}/s"


def timed(work: Callable[[], int]) -> tuple[int, float]:
    """Run ``work`` (returns how many operations it did) and time it with the wall clock."""
    start = time.perf_counter()
    done = work()
    return done, time.perf_counter() - start


def embedded() -> dict[str, str]:
    """The embedded store's figures."""
    store = Store(Simulation(seed=0))
    n = 100_000
    keys = [f"/registry/pods/ns-{i % 10}/pod-{i:06d}" for i in range(n)]

    def puts() -> int:
        for key in keys:
            store.put(key, VALUE)
        return n

    def gets() -> int:
        for key in keys:
            store.get(key)
        return n

    def ranges() -> int:
        for _ in range(20):
            assert store.range("/registry/pods/ns-3/", prefix=True).count == RANGE_KEYS
        return 20

    figures = {}
    done, seconds = timed(puts)
    figures["puts"] = rate(done, seconds)
    done, seconds = timed(gets)
    figures["gets"] = rate(done, seconds)
    done, seconds = timed(ranges)
    figures["range"] = f"{seconds / done * 1000:.1f} ms"

    for i in range(WATCHERS):  # 1,000 watchers of single keys elsewhere: puts must not slow down
        store.watch(f"/registry/nodes/node-{i}")
    done, seconds = timed(puts)  # overwrites now, each offered to the watch index
    figures["puts_watched"] = rate(done, seconds)

    fan = [store.watch("/registry/events/", prefix=True) for _ in range(WATCHERS)]
    events = 200

    def fan_out() -> int:
        for i in range(events):
            store.put(f"/registry/events/e-{i}", VALUE)
        return sum(len(w.events) for w in fan)

    done, seconds = timed(fan_out)
    assert done == events * WATCHERS
    figures["fanout"] = rate(done, seconds)
    return figures


def real(client: Gateway) -> dict[str, str]:
    """The same operations against a real etcd, each measured for about two seconds."""
    figures = {}
    budget = 2.0

    def for_a_while(step: Callable[[int], object]) -> tuple[int, float]:
        start = time.perf_counter()
        i = 0
        while time.perf_counter() - start < budget:
            step(i)
            i += 1
        return i, time.perf_counter() - start

    done, seconds = for_a_while(lambda i: client.put(f"/bench/put/{i:06d}", VALUE))
    figures["puts"] = rate(done, seconds)
    done, seconds = for_a_while(lambda i: client.get(f"/bench/put/{i % 100:06d}"))
    figures["gets"] = rate(done, seconds)

    for batch in range(0, RANGE_KEYS, 128):  # load 10,000 keys, 128 puts per txn
        client.txn([], [Op.put(f"/bench/range/{i:06d}", VALUE)
                        for i in range(batch, min(batch + 128, RANGE_KEYS))])
    runs = 5
    start = time.perf_counter()
    for _ in range(runs):
        assert client.range("/bench/range/", prefix=True).count == RANGE_KEYS
    figures["range"] = f"{(time.perf_counter() - start) / runs * 1000:.1f} ms"
    figures["puts_watched"] = "-"

    streams = [client.watch("/bench/fan/", prefix=True) for _ in range(WATCHERS)]
    events = 20
    start = time.perf_counter()
    for i in range(events):
        client.put(f"/bench/fan/e-{i}", VALUE)
    delivered = read_all(streams, events, timeout=30)
    figures["fanout"] = rate(delivered, time.perf_counter() - start)
    for stream in streams:
        stream.close()
    return figures


ROWS = [
    ("puts", "put (100k distinct keys)"),
    ("gets", "get"),
    ("range", f"range of {RANGE_KEYS:,} keys (per range)"),
    ("puts_watched", f"put with {WATCHERS:,} single-key watchers elsewhere"),
    ("fanout", f"watch fan-out to {WATCHERS:,} watchers (events delivered)"),
]


def main() -> None:
    """Measure both and print the table."""
    began = time.perf_counter()
    ours = embedded()
    if LocalEtcd.available():
        with LocalEtcd() as etcd:
            assert etcd.client is not None
            theirs = real(etcd.client)
            version = etcd.client.call("/v3/maintenance/status", {}).get("version", "?")
        title = f"real etcd {version} (loopback JSON)"
    else:
        theirs = {key: "n/a (no etcd binary)" for key, _ in ROWS}
        title = "real etcd"
    width = max(len(label) for _, label in ROWS)
    print(f"{'operation':<{width}}  {'kubelearn embedded':>20}  {title:>34}")
    print(f"{'-' * width}  {'-' * 20}  {'-' * 34}")
    for key, label in ROWS:
        print(f"{label:<{width}}  {ours[key]:>20}  {theirs[key]:>34}")
    print(f"\n(python {sys.version.split()[0]}, one core; total {time.perf_counter() - began:.0f}s"
          " of wall time)")


if __name__ == "__main__":
    main()
