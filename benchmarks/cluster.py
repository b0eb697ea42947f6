"""How fast does a whole cluster run? 15 simulated minutes with a node failure.

Two clusters, each ``kl.Cluster(seed=0, nodes=N)`` with every controller on:

- **small** -- 100 nodes, 10 ReplicaSets x 100 replicas (1,000 pods);
- **large** -- 1,000 nodes, 100 ReplicaSets x 100 replicas (10,000 pods).

Two phases, timed apart:

1. **Bring-up.** The ReplicaSets are created through the API, as ``kubectl
   apply`` would, and the cluster runs 60 simulated seconds: the ReplicaSet
   controller creates the pods (slow-start batches, expectations), the
   scheduler binds them, the kubelets pull the image, start the containers
   and report status. Every pod is Running long before the minute is out.
   Printed: wall seconds, pods brought to Running per wall second.
2. **15 minutes with the pods running** -- the issue's figure: a cluster with
   1,000 (10,000) pods running 15 simulated minutes with a node failure. Every
   node heartbeats (a lease renewal every 10 s), the node lifecycle controller
   checks every node every 5 s, and 120 s in one node's kubelet dies
   (``cluster.stop_node``): 50 s later the node goes Ready=Unknown and is
   tainted, its pods' 300 s ``unreachable`` tolerations run out, the taint
   eviction controller deletes them, and the ReplicaSet controller creates
   replacements that start on other nodes. Printed: simulated seconds per wall
   second.

Also printed: both phases together (960 simulated seconds), the process's CPU
seconds (steadier than wall time on a shared machine), the peak memory of the
process (``resource.getrusage`` maxrss: the largest resident set so far, so the
large run's figure covers the small one's too, unless it runs alone with
``--only large``), and the counts that show the work happened: pods Running at
the end, pods evicted, replacements created.

CPython's cyclic garbage collector is tuned as in benchmarks/scheduler.py
(``gc.freeze()`` after start-up, a first-generation threshold of 50,000);
``--default-gc`` measures without it.

    python benchmarks/cluster.py                  # both sizes
    python benchmarks/cluster.py --only small     # 100 nodes, 1,000 pods
    python benchmarks/cluster.py --profile        # cProfile's top functions

Targets (issue 5), for the 15 minutes: at least 500x real time at 100 nodes, 50x at 1,000.
Wall time is read here, and only here, to measure: the cluster runs on its virtual clock.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import platform
import pstats
import resource
import time

import kubelearn as kl

SIZES = {"small": (100, 10), "large": (1000, 100)}  # nodes, ReplicaSets (100 replicas each)
REPLICAS = 100
BRING_UP = 60.0  # simulated seconds for the pods to be created and Running
DURATION = 900.0  # 15 simulated minutes with the pods running
FAILURE_AT = 120.0  # when one node's kubelet dies, counted from the start of the 15 minutes
TARGETS = {"small": 500, "large": 50}  # x real time, issue 5


def replicaset(i: int) -> dict:
    """A ReplicaSet of ``REPLICAS`` small nginx pods."""
    labels = {"app": f"web-{i}"}
    container = {"name": "web", "image": "nginx:1.27",
                 "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": f"web-{i}"},
            "spec": {"replicas": REPLICAS, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [container]}}}}


def count(cluster: kl.Cluster, reason: str, since: float = 0.0) -> int:
    """How many records with ``reason`` were made from virtual second ``since`` on."""
    return sum(1 for r in cluster.sim.records if r.reason == reason and r.time >= since)


def running_pods(cluster: kl.Cluster) -> int:
    """Pods Running and not being deleted."""
    pods = cluster.admin.list("pods", "default")["items"]
    return sum(1 for p in pods if p.get("status", {}).get("phase") == "Running"
               and not p["metadata"].get("deletionTimestamp"))


def run(size: str) -> dict:
    """Build the cluster, bring the pods up, then the 15 minutes with a node failure."""
    nodes, sets = SIZES[size]
    t = time.perf_counter()
    cluster = kl.Cluster(seed=0, nodes=nodes)
    setup = time.perf_counter() - t
    victim = f"node-{nodes // 2}"
    start, cpu = time.perf_counter(), time.process_time()
    for i in range(sets):
        cluster.admin.create(replicaset(i))
    cluster.run(BRING_UP)
    bring_up, bring_up_cpu = time.perf_counter() - start, time.process_time() - cpu
    up = running_pods(cluster)  # counted outside either timed phase
    start, cpu = time.perf_counter(), time.process_time()
    cluster.run(FAILURE_AT)
    cluster.stop_node(victim)
    cluster.run(DURATION - FAILURE_AT)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    failed_at = BRING_UP + FAILURE_AT
    evicted = sum(1 for r in cluster.sim.records if r.reason == "TaintManagerEviction"
                  and r.message.startswith("Marking for deletion"))
    return {"size": size, "nodes": nodes, "pods": sets * REPLICAS, "setup": setup,
            "bring_up": bring_up, "bring_up_cpu": bring_up_cpu, "up": up,
            "seconds": elapsed, "cpu": cpu, "virtual": cluster.now - BRING_UP,
            "running": running_pods(cluster), "evicted": evicted,
            "created": count(cluster, "SuccessfulCreate"),
            "replaced": count(cluster, "SuccessfulCreate", since=failed_at),
            "victim": victim, "revision": cluster.etcd.revision,
            "records": len(cluster.sim.records)}


def report(figures: dict) -> None:
    """Print one run's figures."""
    rate = figures["virtual"] / figures["seconds"]
    target = TARGETS[figures["size"]]
    print(f"{figures['size']}: {figures['nodes']:,} nodes, {figures['pods']:,} pods "
          f"({figures['pods'] // REPLICAS} ReplicaSets x {REPLICAS})")
    print(f"  building the cluster (nodes register): {figures['setup']:.1f} s wall")
    print(f"  bring-up, {BRING_UP:.0f} simulated s: {figures['up']:,} pods Running after "
          f"{figures['bring_up']:.1f} s wall ({figures['up'] / figures['bring_up']:,.0f} pods/s; "
          f"{figures['bring_up_cpu']:.1f} s of CPU)")
    print(f"  15 minutes with the pods running, {figures['victim']} stopped at "
          f"{FAILURE_AT:.0f} s: {figures['virtual']:.0f} simulated s in "
          f"{figures['seconds']:.1f} s wall: {rate:,.0f}x real time "
          f"(target {target}x: {'met' if rate >= target else 'NOT met'}); "
          f"{figures['cpu']:.1f} s of CPU")
    whole = figures["bring_up"] + figures["seconds"]
    print(f"  both phases: {BRING_UP + figures['virtual']:.0f} simulated s in {whole:.1f} s wall: "
          f"{(BRING_UP + figures['virtual']) / whole:,.0f}x real time")
    print(f"  pods Running at the end: {figures['running']:,}; evicted: {figures['evicted']}; "
          f"created by the ReplicaSet controller: {figures['created']:,} "
          f"({figures['replaced']} after the failure)")
    print(f"  etcd revision {figures['revision']:,}; {figures['records']:,} event records")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
    print(f"  peak memory of the process so far (getrusage maxrss): {peak / 2**20:,.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=sorted(SIZES), help="run one size only")
    parser.add_argument("--profile", action="store_true", help="print cProfile's top functions")
    parser.add_argument("--default-gc", action="store_true",
                        help="leave the garbage collector's thresholds at CPython's defaults")
    args = parser.parse_args()
    if not args.default_gc:
        gc.freeze()  # what start-up allocated lives on: never scan it again
        gc.set_threshold(50_000, 20, 100)
    print(f"kubelearn cluster benchmark -- Python {platform.python_version()}, "
          f"{platform.machine()}, one core")
    print("garbage collector: " + ("CPython defaults" if args.default_gc else
                                   "frozen after start-up, gen0 threshold 50,000"))
    for size in [args.only] if args.only else ["small", "large"]:
        profiler = cProfile.Profile() if args.profile else None
        if profiler is not None:
            profiler.enable()
        figures = run(size)
        if profiler is not None:
            profiler.disable()
        report(figures)
        if profiler is not None:
            pstats.Stats(profiler).sort_stats("tottime").print_stats(30)


if __name__ == "__main__":
    main()
