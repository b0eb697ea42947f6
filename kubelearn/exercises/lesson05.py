"""Lesson 05 (the kubelet)'s exercises.

- ``05.1``: the STATUS ``kubectl get pods`` shows :data:`WAIT_05_1` s after a pod
  whose container exits 0 at once (``restartPolicy: Always``) is created;
- ``05.2``: how many restarts ``kubectl get pods`` counts :data:`WAIT_05_2` s after
  a pod whose container crashes :data:`CRASH_AFTER_05_2` after each start is
  created;
- ``05.3``: how long after the delete a pod whose app ignores its stop signal, with a
  :data:`PRESTOP_05_3` s preStop hook and a :data:`GRACE_05_3` s grace period,
  is stopped, and with what exit code.

Each check runs the pod on a fresh cluster and reads what the lesson reads:
``get("pods")``, or the kubelet's records of the stop.
"""

from __future__ import annotations

import functools
from typing import Any

from kubelearn.exercises import CORRECT, exercise, number

# -- 05.1: a clean exit under restartPolicy Always -------------------------------------------------

WAIT_05_1 = 300
BATCH_05_1 = """
apiVersion: v1
kind: Pod
metadata: {name: batch}
spec:
  nodeName: node-1
  containers: [{name: job, image: "busybox:1.36"}]
"""


@functools.cache
def _pod_row(manifest: str, name: str, wait: float) -> tuple[str, str]:
    """(STATUS, RESTARTS) of ``get("pods")`` for the pod, ``wait`` s after it is created."""
    from kubelearn.cluster import Cluster

    cluster = Cluster(seed=0, nodes=1)
    cluster.run(2)
    cluster.apply(manifest)
    cluster.run(wait)
    row = cluster.get("pods").query("NAME == @name").iloc[0]
    return str(row["STATUS"]), str(row["RESTARTS"])


@exercise("05.1")
def _check_clean_exit(status: Any) -> str:
    if status is None:
        return "Write your answer in answer_1 first: the STATUS column, a string."
    if not isinstance(status, str) or not status.strip():
        return f'Give the STATUS as a string, like "Running", not {status!r}.'
    right, _ = _pod_row(BATCH_05_1, "batch", WAIT_05_1)
    given = status.strip()
    if given == right:
        return CORRECT
    if given.lower() == right.lower():
        return "Nearly: STATUS values are written in CamelCase, as kubectl prints them."
    if given == "Completed":
        return ("Not yet: that is what the pod shows right after the first exit, but "
                "restartPolicy Always restarts even a clean exit. What does it show after "
                "several quick exits?")
    return ("Not yet: create the pod on node-1, run the cluster for 5 minutes and read the "
            "STATUS column of cluster.get(\"pods\").")


# -- 05.2: counting a crash loop's restarts --------------------------------------------------------

WAIT_05_2 = 600
CRASH_AFTER_05_2 = "30s"
CRASHY_05_2 = f"""
apiVersion: v1
kind: Pod
metadata:
  name: crashy
  annotations:
    sim.kubelearn.io/app.crash-after: "{CRASH_AFTER_05_2}"
    sim.kubelearn.io/app.exit-code: "1"
spec:
  nodeName: node-1
  containers: [{{name: app, image: "nginx:1.27"}}]
"""


def _restarts_05_2() -> int:
    _, restarts = _pod_row(CRASHY_05_2, "crashy", WAIT_05_2)
    return int(restarts.split()[0])   # "5 (47s ago)"


@exercise("05.2")
def _check_restarts(count: Any) -> str:
    if count is None:
        return "Write your answer in answer_2 first: a number of restarts."
    value = number(count)
    if value is None or value.denominator != 1:
        return f"Give a whole number of restarts, like 3, not {count!r}."
    right = _restarts_05_2()
    if value == right:
        return CORRECT
    if value < 0:
        return "Not yet: a count of restarts can't be negative."
    if value > right:
        return ("Not yet: fewer than that. Each start runs 30 s before the crash, and each wait "
                "before a restart is twice the one before (10 s, 20 s, 40 s, ...); the first "
                "restart does not wait. Add them up until 600 s.")
    return ("Not yet: more than that. Count the 30 s each start runs, plus the waits between "
            "them (none, then 10 s, 20 s, 40 s, ...), until 600 s.")


# -- 05.3: a stop that takes the whole grace period ------------------------------------------------

PRESTOP_05_3 = 20
GRACE_05_3 = 25
STUBBORN_05_3 = f"""
apiVersion: v1
kind: Pod
metadata:
  name: stubborn
  annotations: {{sim.kubelearn.io/app.ignore-stop-signal: "true"}}
spec:
  nodeName: node-1
  terminationGracePeriodSeconds: {GRACE_05_3}
  containers:
  - name: app
    image: nginx:1.27
    lifecycle: {{preStop: {{sleep: {{seconds: {PRESTOP_05_3}}}}}}}
"""


@functools.cache
def _stop_05_3() -> tuple[float, int]:
    """(seconds from the delete until the container stopped, its exit code), as simulated."""
    from kubelearn.cluster import Cluster
    from kubelearn.viz.kubelet import termination_steps

    cluster = Cluster(seed=0, nodes=1)
    cluster.apply(STUBBORN_05_3)
    cluster.run(30)
    cluster.delete("pod", "stubborn")
    cluster.run(GRACE_05_3 + PRESTOP_05_3 + 10)
    step = termination_steps(cluster.events(), ["stubborn"]).loc["stubborn"]
    return float(step["exited at"]), int(step["exit code"])


_SHAPE_05_3 = ("Give two numbers, like (12, 0): the seconds from the delete until the "
               "container stopped, and its exit code.")


@exercise("05.3")
def _check_slow_stop(answer: Any) -> str:
    if answer is None:
        return ("Write your answer in answer_3 first: (seconds from the delete until the "
                "container stopped, its exit code).")
    if not isinstance(answer, (tuple, list)) or len(answer) != 2:
        return _SHAPE_05_3
    seconds, code = number(answer[0]), number(answer[1])
    if seconds is None or code is None or code.denominator != 1:
        return _SHAPE_05_3
    right_seconds, right_code = _stop_05_3()
    time_right, code_right = seconds == right_seconds, code == right_code
    if time_right and code_right:
        return CORRECT
    if not time_right:
        if seconds == PRESTOP_05_3 + GRACE_05_3:
            return ("Not yet: the grace period is counted from the delete, not from the end of "
                    "the hook; the hook's time is part of it.")
        if seconds == PRESTOP_05_3:
            return ("Not yet: when the hook ends, the stop signal comes, and this app ignores it. "
                    "What stops it, and when?")
        if seconds == 30:
            return "Not yet: this pod sets its own terminationGracePeriodSeconds."
        return ("Not yet: the time is off. The hook runs first, then the stop signal; SIGKILL "
                "comes when the grace period, counted from the delete, is up.")
    if code in (0, 143):
        return ("The time is right, but not the exit code: 0 or 143 would mean the app stopped "
                "on its stop signal, and this one ignores it.")
    return ("The time is right, but not the exit code: which signal stops this app, and what "
            "code does a signal give (128 + the signal's number)?")
