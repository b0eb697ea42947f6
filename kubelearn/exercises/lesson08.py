"""Lesson 08 (kube-proxy)'s exercises.

- ``08.1``: the ``--probability`` kube-proxy writes on each endpoint rule of a
  Service with :data:`ENDPOINTS_08_1` ready endpoints, as a list in rule order;
- ``08.2``: a patch for the Service ``shop`` of ``setup("08.2")``, which answers
  nobody, that makes it answer on port 80;
- ``08.3``: for how many seconds requests to node-2's pod are sent in vain when
  node-2 loses power at :data:`POWER_OFF_08_3` s.
"""

from __future__ import annotations

import functools
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from kubelearn.exercises import CORRECT, exercise, number, starts_from

if TYPE_CHECKING:  # pragma: no cover
    from kubelearn.cluster import Cluster

# -- 08.1: the probabilities of a Service's endpoint rules ----------------------------------------

ENDPOINTS_08_1 = 6
# Within this of the probability kube-proxy writes: right (3 decimals, or better).
EXACT = Fraction(1, 2000)
# Within this, but not EXACT: right reasoning, rounded too coarsely (2 decimals).
CLOSE = Fraction(1, 100)


@functools.cache
def _written_probabilities(endpoints: int) -> tuple[Fraction | None, ...]:
    """The ``--probability`` on each endpoint rule of ``web`` with this many ready pods, read
    off a cluster's kube-proxy (None: the rule has none)."""
    from kubelearn.cluster import Cluster
    from kubelearn.proxy.iptables import SEP_PREFIX, service_chain
    from kubelearn.viz.traffic import web_manifests

    cluster = Cluster(seed=0, nodes=3)
    cluster.apply(web_manifests(replicas=endpoints))
    cluster.run(30)
    rules = cluster.proxies["node-1"].rules().chain(service_chain("default/web:http", "tcp"))
    picks = [rule for rule in rules if (rule.target or "").startswith(SEP_PREFIX)]
    return tuple(None if rule.probability is None else Fraction(rule.probability)
                 for rule in picks)


@exercise("08.1")
def _check_probabilities(answer: Any) -> str:
    n = ENDPOINTS_08_1
    if answer is None:
        return ("Write your answer in answer_1 first: a list with one entry per endpoint rule, "
                "in order.")
    if isinstance(answer, (str, bytes, dict)) or not hasattr(answer, "__iter__"):
        return ("Give a list with one entry per endpoint rule, in the order kube-proxy writes "
                "them: [first rule, second rule, ...].")
    given = list(answer)
    if len(given) != n:
        return (f"A Service with {n} ready endpoints gets {n} endpoint rules, one per endpoint; "
                f"your list has {len(given)} entries.")
    values: list[Fraction | None] = []
    for i, entry in enumerate(given, start=1):
        value = None if entry is None else number(entry)
        if entry is not None and value is None:
            return (f"Entry {i} ({entry!r}) is not a probability: write a number such as 0.75, "
                    "a fraction such as 3 / 4, or None for a rule that has no --probability.")
        if value is not None and not 0 < value <= 1:
            return (f"Entry {i} is {float(value):g}: every endpoint rule takes some of the "
                    "connections that reach it, so its probability is above 0 and at most 1.")
        values.append(value)
    written = _written_probabilities(n)
    return _probability_hint(values, written)


def _probability_hint(values: list[Fraction | None], written: tuple[Fraction | None, ...]) -> str:
    def distance(a: Fraction | None, b: Fraction | None) -> Fraction | None:
        if a is None or b is None:
            return None if a is b else Fraction(1)
        return abs(a - b)

    gaps = [distance(a, b) for a, b in zip(values, written, strict=True)]
    if all(gap is None or gap <= EXACT for gap in gaps):
        return CORRECT
    body = zip(values[:-1], written[:-1], strict=True)
    if values[-1] == 1 and written[-1] is None \
            and all(distance(a, b) is None or distance(a, b) <= CLOSE for a, b in body):
        return ("Nearly: a rule that takes every connection reaching it carries no "
                "--probability at all (kube-proxy leaves it out). Write None for such a rule.")
    if all(gap is None or gap <= CLOSE for gap in gaps):
        return ("Close: your reasoning is right, but kube-proxy writes 10 decimals (%0.10f) and "
                "some of your numbers are rounded too far. Give at least 3 decimals, or write "
                "them as fractions (a / b, in Python).")
    even = Fraction(1, len(written))
    if all(v is not None and abs(v - even) <= CLOSE for v in values[:-1]):
        return (f"Not yet: if every rule took {even} of the connections that reach it, the later "
                f"pods would get less than {even} of all connections, because each rule sees "
                "only what the rules above it let through.")
    in_order = zip(sorted(values, key=_sort_key), sorted(written, key=_sort_key), strict=True)
    if all(distance(a, b) is None or distance(a, b) <= CLOSE for a, b in in_order):
        return ("Not yet: those are the right numbers in the wrong order. Which rule sees every "
                "new connection, and which sees only what all the others let through?")
    return (f"Not yet: each of the {len(written)} pods should end up with the same share of all "
            "connections, and each rule sees only the connections the rules above it let "
            "through. What share of those must each rule take?")


def _sort_key(value: Fraction | None) -> Fraction:
    return Fraction(2) if value is None else value


# -- 08.2: fix a Service that answers nobody ------------------------------------------------------

SHOP = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: shop}}
  template:
    metadata: {labels: {app: shop}}
    spec: {containers: [{name: shop, image: "nginx:1.27", ports: [{name: web, containerPort: 80}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: shop}
spec: {selector: {app: shop-frontend}, ports: [{port: 80, targetPort: 8080}]}
"""
SHOP_PORT = 80  # the port clients dial: shop:80


@starts_from("08.2")
def _broken_shop() -> Cluster:
    """Two nginx pods and a Service ``shop`` that answers nobody."""
    from kubelearn.cluster import Cluster

    cluster = Cluster(seed=0, nodes=2)
    cluster.apply(SHOP)
    cluster.run(30)
    return cluster


@exercise("08.2")
def _check_shop(patch: Any) -> str:
    from kubelearn.api.errors import StatusError

    if patch is None:
        return ("Write your patch in answer_2 first: a dict with the Service's fields to change, "
                'like {"spec": {...}}.')
    if not isinstance(patch, dict):
        return (f'A patch is a dict, like {{"spec": {{...}}}}, not a {type(patch).__name__}.')
    cluster = _broken_shop()
    try:
        cluster.admin.patch("services", "shop", patch)
    except StatusError as err:
        return (f"The API server refused this patch ({err.reason}: {err.message}). Nothing "
                "changed; fix the patch and try again.")
    cluster.run(5)
    sent = cluster.traffic(to="shop", port=SHOP_PORT, rate=20, name="check")
    cluster.run(2)
    sent.stop()
    frame = sent.requests()
    failed = frame[frame["outcome"] != "ok"]
    if failed.empty:
        return CORRECT
    reasons = " ".join(failed["reason"])
    if "has no endpoints" in reasons:
        return ("Not yet: the Service still has no endpoints. Does its selector match the labels "
                "on the pods?")
    if "nothing listens on" in reasons:
        return ("Not yet: the Service finds the pods now, but they refuse: nothing listens on the "
                "port it sends to. Which port does the container listen on?")
    if set(failed["outcome"]) == {"timeout"}:
        return (f"Not yet: requests to shop:{SHOP_PORT} get no answer at all. Does the Service "
                f"still offer port {SHOP_PORT}?")
    return (f"Not yet: {len(failed)} of {len(frame)} requests failed "
            f"({failed['reason'].iloc[0]}).")


# -- 08.3: how long a power cut's requests fail ---------------------------------------------------

POWER_OFF_08_3 = 52.0
TOLERANCE_08_3 = 1.0  # seconds either way


@functools.cache
def _window_08_3() -> float:
    """Seconds from the power cut to the last request sent to node-2's pod that failed."""
    from kubelearn.viz.traffic import requests, simulate_power_off

    cluster = simulate_power_off(at=POWER_OFF_08_3, node="node-2")
    frame = requests(cluster, "web")
    failed = frame[frame["outcome"] != "ok"]
    return float(failed["time"].max()) - POWER_OFF_08_3


@exercise("08.3")
def _check_power_cut(seconds: Any) -> str:
    if seconds is None:
        return "Write your answer in answer_3 first: a number of seconds."
    value = number(seconds)
    if value is None:
        return f"Give a number of seconds (an int or a float), not {seconds!r}."
    window = _window_08_3()
    if abs(float(value) - window) <= TOLERANCE_08_3:
        return CORRECT
    from kubelearn.controllers.nodelifecycle import NODE_MONITOR_GRACE_PERIOD, NODE_MONITOR_PERIOD
    from kubelearn.kubelet.config import KubeletConfig

    if abs(float(value) - NODE_MONITOR_GRACE_PERIOD) <= TOLERANCE_08_3:
        return ("Not yet: that is the grace period alone. It counts from node-2's last heartbeat, "
                "not from the power cut.")
    if value < 0:
        return "Not yet: a length of time can't be negative."
    return (f"Not yet: find node-2's last lease renewal before {POWER_OFF_08_3:g} s (it renews "
            f"every {KubeletConfig().node_lease_renew_interval:g} s), add the node controller's "
            f"grace period, take its first check at or after that (one every "
            f"{NODE_MONITOR_PERIOD:g} s), and count from {POWER_OFF_08_3:g} s.")
