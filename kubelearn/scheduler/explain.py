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

Pods that preemption nominated to a node (``status.nominatedNodeName``, still
pending) hold the room they were promised: a cycle filters each node as if the
nominated pods of the incoming pod's priority or higher already ran there, and
also without them (RunFilterPluginsWithNominatedPods). The table does the same.
When some node has such pods, a ``nominated`` column names them (``""`` where
there are none), and a filter that rejects the node only because of them says so:
``Insufficient cpu (counting nominated default/urgent)``. The pod's priority is
its ``spec.priority``, which the API server sets from its PriorityClass when the
pod is created. A manifest not created yet gets the priority the Priority
admission plugin would give it (:func:`admitted_priority`): its
``priorityClassName``'s value, read through the API, or the ``globalDefault``
class's, or 0 -- so the table agrees with the cycle once the pod exists.

Feasible nodes are scored together, exactly as a cycle scores them (the numbers
that decide). Infeasible nodes are scored as if every node were a candidate --
what they would have scored -- so their ``total`` is not compared with the others.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kubelearn.api import Forbidden, NotFound, load
from kubelearn.api.scheduling import class_priority, default_priority_class
from kubelearn.scheduler.framework import (
    Code,
    CycleState,
    FrameworkError,
    Handle,
    Status,
    add_ge_nominated_pods,
    filter_statuses,
    ge_nominated_pods,
    run_pre_filter_plugins,
    run_scores,
)
from kubelearn.scheduler.queue import pod_key

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from kubelearn.client import Client
    from kubelearn.scheduler.nodeinfo import NodeInfo
    from kubelearn.scheduler.scheduler import Scheduler

PASSED = "passed"
SKIPPED = "skipped"
NOT_RUN = "not run"  # a PreFilter rejected the pod before any Filter ran
NOMINATED = "nominated"  # the column naming the nominated pods a node's filters counted


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


def admitted_priority(pod: dict[str, Any], client: Client | None) -> dict[str, Any]:
    """``pod`` with the priority the Priority admission plugin would give it, if it has none.

    A created pod has ``spec.priority``; a manifest may not. Its
    ``priorityClassName`` is read through the API (a name that does not exist is
    the 403 its create would get); no name means the ``globalDefault`` class, or
    priority 0 and PreemptLowerPriority. Without a client (a scheduler fed by
    hand), the pod is taken as it is.
    """
    spec = pod.get("spec") or {}
    if spec.get("priority") is not None or client is None:
        return pod
    class_name = spec.get("priorityClassName") or ""
    if class_name:
        try:
            pc = client.get("priorityclasses", class_name)
        except NotFound:
            raise Forbidden("pods", pod["metadata"].get("name") or "",
                            f"no PriorityClass with name {class_name} was found") from None
    else:
        pc = default_priority_class(client.list("priorityclasses")["items"])
    priority, policy = class_priority(pc)
    admitted = {**spec, "priority": priority}
    if pc is not None and not class_name:
        admitted["priorityClassName"] = pc["metadata"]["name"]
    if policy is not None and spec.get("preemptionPolicy") is None:
        admitted["preemptionPolicy"] = policy
    return {**pod, "spec": admitted}


def verdict(status: Status | None) -> str:
    """``passed``, ``skipped`` or the rejection's reasons."""
    if status is None or status.is_success():
        return PASSED
    if status.code == Code.Skip:
        return SKIPPED
    return status.message()


def nominated_verdicts(handle: Handle, state: CycleState, pod: Mapping[str, Any],
                       node_info: NodeInfo) -> tuple[dict[str, str], list[str]]:
    """Each filter's verdict on one node as a cycle's filter pass sees it, and who was counted.

    RunFilterPluginsWithNominatedPods runs the filters twice when pods of the
    incoming pod's priority or higher are nominated to the node: with them
    added (they will take the room they were promised), then without (they may
    go elsewhere). A filter's verdict is its rejection in the first run, else its
    answer in the second; a rejection only the first run gave names the
    nominated pods. Returns the verdicts by plugin and the nominated pods'
    ``namespace/name`` (empty when none counts, and the verdicts are the plain ones).
    """
    plain = filter_statuses(handle.profile, state, pod, node_info)
    nominated = ge_nominated_pods(handle, pod, node_info.name)
    if not nominated:
        return {name: verdict(s) for name, s in plain.items()}, []
    names = [pod_key(pi.pod) for pi in nominated]
    _, state_with, node_with = add_ge_nominated_pods(handle, state, pod, node_info)
    with_them = filter_statuses(handle.profile, state_with, pod, node_with)
    verdicts = {}
    for name, s in plain.items():
        counted = with_them[name]
        if counted is not None and counted.is_rejected():
            note = f" (counting nominated {', '.join(names)})" if verdict(s) == PASSED else ""
            verdicts[name] = verdict(counted) + note
        else:
            verdicts[name] = verdict(s)
    return verdicts, names


def _handle(scheduler: Scheduler, profile: Any) -> Handle:
    """The profile's handle: what the cycle asks for the pods nominated to a node."""
    from kubelearn.scheduler.scheduler import SchedulerHandle

    return scheduler.handles.get(profile.scheduler_name) or SchedulerHandle(scheduler, profile)


def explain(scheduler: Scheduler, pod: Mapping[str, Any] | str, *,
            client: Client | None = None) -> pd.DataFrame:
    """Every node's filter verdicts and scores for ``pod``; see the module docstring.

    ``client`` reads a manifest's PriorityClass (:func:`admitted_priority`).
    """
    import pandas as pd

    pod = admitted_priority(as_pod(pod), client)
    profile = scheduler.config.profile_for(pod)
    if profile is None:
        name = (pod.get("spec") or {}).get("schedulerName")
        raise ValueError(f'no profile for schedulerName "{name}": this scheduler ignores the pod')
    snapshot = scheduler.cache.snapshot()
    nodes = snapshot.node_infos
    filter_names = [pl.name for pl in profile.filter_plugins]
    score_names = [pl.name for pl in profile.score_plugins]
    handle = _handle(scheduler, profile)

    state = CycleState(snapshot)
    pre_res, rejected, shortlisting = run_pre_filter_plugins(profile, state, pod, nodes)
    rows: dict[str, dict[str, Any]] = {}
    feasible = []
    any_nominated = False
    for node in nodes:
        row: dict[str, Any] = {}
        if rejected is not None:
            for name in filter_names:
                row[f"filter:{name}"] = rejected.message() if name == rejected.plugin else NOT_RUN
            ok = False
            row[NOMINATED] = ""
        else:
            verdicts, counted = nominated_verdicts(handle, state, pod, node)
            for name in filter_names:
                row[f"filter:{name}"] = verdicts[name]
            ok = all(v in (PASSED, SKIPPED) for v in verdicts.values())
            row[NOMINATED] = ", ".join(counted)
            any_nominated = any_nominated or bool(counted)
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
    columns = ([f"filter:{n}" for n in filter_names] + ([NOMINATED] if any_nominated else [])
               + score_names + ["total", "feasible", "chosen"])
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
