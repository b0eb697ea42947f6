"""Why a pod goes where it goes: one table, one row per node, every plugin's say.

:func:`explain` runs the scheduler's own plugins for one pod -- created or not --
without changing anything, and returns a DataFrame indexed by node name:

- ``filter:<Plugin>`` for each Filter plugin: ``passed``, ``skipped`` (its
  PreFilter found nothing to check for this pod) or the reason it rejects
  (``Insufficient memory``). Every filter runs on every node, so a node failing
  two filters shows both, where the scheduler stops at the first;
- ``<Plugin>`` for each Score plugin: the node's score after NormalizeScore,
  before weighting (<NA> when the plugin's PreScore skips this pod);
- ``total``: the weighted sum; ``feasible``: passed every filter;
  ``chosen``: the node the scheduler would pick now, with the same tie-break.

Feasible nodes are scored together, exactly as a cycle scores them (the numbers
that decide). Infeasible nodes are scored as if every node were a candidate --
what they would have scored -- so their ``total`` is not compared with the others.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kubelearn.api import load
from kubelearn.scheduler.framework import (
    Code,
    CycleState,
    FrameworkError,
    Status,
    filter_statuses,
    run_pre_filter_plugins,
    run_scores,
)

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from kubelearn.scheduler.scheduler import Scheduler

PASSED = "passed"
SKIPPED = "skipped"
NOT_RUN = "not run"  # a PreFilter rejected the pod before any Filter ran


def as_pod(pod: Mapping[str, Any] | str) -> dict[str, Any]:
    """A pod dict from YAML text, a file path or a dict, with its namespace filled in."""
    if isinstance(pod, str):
        objects = load(pod)
        if len(objects) != 1:
            raise ValueError(f"explain takes one pod, got {len(objects)} objects")
        pod = objects[0]
    pod = dict(pod)
    meta = dict(pod.get("metadata") or {})
    meta.setdefault("namespace", "default")
    pod["metadata"] = meta
    return pod


def verdict(status: Status | None) -> str:
    """``passed``, ``skipped`` or the rejection's reasons."""
    if status is None or status.is_success():
        return PASSED
    if status.code == Code.Skip:
        return SKIPPED
    return status.message()


def explain(scheduler: Scheduler, pod: Mapping[str, Any] | str) -> pd.DataFrame:
    """Every node's filter verdicts and scores for ``pod``; see the module docstring."""
    import pandas as pd

    pod = as_pod(pod)
    profile = scheduler.config.profile_for(pod)
    if profile is None:
        name = (pod.get("spec") or {}).get("schedulerName")
        raise ValueError(f'no profile for schedulerName "{name}": this scheduler ignores the pod')
    snapshot = scheduler.cache.snapshot()
    nodes = snapshot.node_infos
    filter_names = [pl.name for pl in profile.filter_plugins]
    score_names = [pl.name for pl in profile.score_plugins]

    state = CycleState(snapshot)
    pre_res, rejected, shortlisting = run_pre_filter_plugins(profile, state, pod, nodes)
    rows: dict[str, dict[str, Any]] = {}
    feasible = []
    for node in nodes:
        row: dict[str, Any] = {}
        if rejected is not None:
            for name in filter_names:
                row[f"filter:{name}"] = rejected.message() if name == rejected.plugin else NOT_RUN
            ok = False
        else:
            statuses = filter_statuses(profile, state, pod, node)
            for name in filter_names:
                row[f"filter:{name}"] = verdict(statuses[name])
            ok = all(s is None or s.code == Code.Skip for s in statuses.values())
            if pre_res is not None and not pre_res.all_nodes() and \
                    node.name not in (pre_res.node_names or set()):
                for name in shortlisting:
                    row[f"filter:{name}"] = f"node(s) didn't satisfy plugin(s) [{name}]"
                ok = False
        row["feasible"] = ok
        rows[node.name] = row
        if ok:
            feasible.append(node)

    scores: dict[str, dict[str, int]] = {}
    totals: dict[str, int] = {}
    if feasible:
        for ns in run_scores(profile, pod, feasible, state):
            scores[ns.name], totals[ns.name] = ns.scores, ns.total_score
    infeasible = [n for n in nodes if n.name not in scores]
    if infeasible:
        everyone = CycleState(snapshot)
        run_pre_filter_plugins(profile, everyone, pod, nodes)
        for ns in run_scores(profile, pod, nodes, everyone):
            if ns.name not in scores:
                scores[ns.name], totals[ns.name] = ns.scores, ns.total_score

    chosen = _chosen(scheduler, profile, pod)
    for node in nodes:
        row = rows[node.name]
        for name in score_names:
            row[name] = scores[node.name].get(name)
        row["total"] = totals[node.name]
        row["chosen"] = node.name == chosen
    columns = ([f"filter:{n}" for n in filter_names] + score_names
               + ["total", "feasible", "chosen"])
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=columns)
    frame.index.name = "node"
    for name in score_names:
        frame[name] = frame[name].astype("Int64")
    frame["total"] = frame["total"].astype("int64")
    return frame


def _chosen(scheduler: Scheduler, profile: Any, pod: Mapping[str, Any]) -> str | None:
    """The node a cycle would pick now: same start index, a copy of the same generator."""
    from kubelearn.scheduler.scheduler import FitError

    rng = random.Random()
    rng.setstate(scheduler.rng.getstate())
    state = CycleState(scheduler.cache.snapshot())
    try:
        return scheduler.schedule_pod(profile, state, pod, dry_run=True, rng=rng).suggested_host
    except (FitError, FrameworkError):
        return None
