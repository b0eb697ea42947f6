"""``kubectl rollout``, in Python: status, history, undo, pause, resume, restart.

All of it happens on the client side, as in kubectl (k8s.io/kubectl/pkg/polymorphichelpers):
each command reads the Deployment (and its ReplicaSets) from the API server and
writes the Deployment back; the Deployment controller does the rest.

- :func:`undo` copies an old ReplicaSet's pod template (and annotations) into
  the Deployment with a JSON patch -- apps/v1 has no ``rollbackTo``. The
  controller sees a template equal to an old ReplicaSet's, scales that one up
  again and gives it the next revision.
- :func:`status` is DeploymentStatusViewer's message; :func:`history` the
  REVISION / CHANGE-CAUSE table.
- :func:`pause` / :func:`resume` flip ``spec.paused``; :func:`restart` stamps
  ``kubectl.kubernetes.io/restartedAt`` into the template, so the template
  changes and a rollout replaces every pod.

Where kubectl would print ``error: ...`` these raise a ``BadRequest``
:class:`~kubelearn.api.StatusError` with kubectl's words.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubelearn.api import BadRequest, LabelSelector
from kubelearn.client import Client
from kubelearn.controllers.deployment import util

# k8s.io/kubectl/pkg/polymorphichelpers/rollback.go
ROLLBACK_SUCCESS = "rolled back"
ROLLBACK_SKIPPED = "skipped rollback"
# k8s.io/kubectl/pkg/polymorphichelpers/objectrestarter.go
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"

Obj = Mapping[str, Any]


def _ref(d: Obj) -> str:
    """``deployment.apps/web``, as kubectl names what it changed."""
    return f"deployment.apps/{d['metadata']['name']}"


def replicasets_of(client: Client, d: Obj) -> tuple[Obj | None, list[Obj]]:
    """deploymentutil.GetAllReplicaSets: (the new ReplicaSet or None, every old one)."""
    selector = LabelSelector.from_dict(d["spec"].get("selector"))
    listed = client.list("replicasets", d["metadata"]["namespace"])["items"]
    owned = [rs for rs in listed if selector.matches(rs["metadata"].get("labels"))
             and util.is_controlled_by(rs, d)]
    new = util.find_new_replicaset(d, owned)
    return new, util.find_old_replicasets(d, owned)[1]


def status(client: Client, name: str, namespace: str = "default") -> str:
    """DeploymentStatusViewer.Status: what ``kubectl rollout status deployment/<name>`` prints.

    A Deployment past its progress deadline is kubectl's error, ``error: deployment
    "web" exceeded its progress deadline``, returned as text.
    """
    d = client.get("deployments", name, namespace)
    st = d.get("status") or {}
    if int(d["metadata"].get("generation") or 0) > int(st.get("observedGeneration") or 0):
        return "Waiting for deployment spec update to be observed..."
    condition = util.get_condition(st, util.PROGRESSING)
    if condition is not None and condition.get("reason") == util.TIMED_OUT:
        return f'error: deployment "{name}" exceeded its progress deadline'
    want, updated = util.replicas(d), int(st.get("updatedReplicas") or 0)
    total, available = int(st.get("replicas") or 0), int(st.get("availableReplicas") or 0)
    if updated < want:
        return (f'Waiting for deployment "{name}" rollout to finish: {updated} out of {want} '
                "new replicas have been updated...")
    if total > updated:
        return (f'Waiting for deployment "{name}" rollout to finish: {total - updated} old '
                "replicas are pending termination...")
    if available < updated:
        return (f'Waiting for deployment "{name}" rollout to finish: {available} of {updated} '
                "updated replicas are available...")
    return f'deployment "{name}" successfully rolled out'


def history(client: Client, name: str, namespace: str = "default"):  # -> pandas.DataFrame
    """DeploymentHistoryViewer.ViewHistory: REVISION and CHANGE-CAUSE, oldest first."""
    import pandas as pd

    d = client.get("deployments", name, namespace)
    new, old = replicasets_of(client, d)
    causes: dict[int, str] = {}
    for rs in [*old, *([new] if new is not None else [])]:
        causes[util.revision(rs)] = util.annotations(rs).get(util.CHANGE_CAUSE) or "<none>"
    rows = [{"REVISION": r, "CHANGE-CAUSE": causes[r]} for r in sorted(causes)]
    return pd.DataFrame(rows, columns=["REVISION", "CHANGE-CAUSE"])


def _revision_not_found(revision: int) -> BadRequest:
    return BadRequest(f"unable to find specified revision {revision} in history")


def undo(client: Client, name: str, to_revision: int | None = None,
         namespace: str = "default") -> str:
    """DeploymentRollbacker.Rollback: put an old revision's template back into the Deployment.

    ``to_revision`` None (kubectl's 0) means the revision before the newest.
    """
    to_revision = to_revision or 0
    if to_revision < 0:
        raise _revision_not_found(to_revision)
    d = client.get("deployments", name, namespace)
    target = _revision_to(client, d, to_revision)
    if d["spec"].get("paused"):
        raise BadRequest("you cannot rollback a paused deployment; resume it first with "
                         "'kubectl rollout resume' and try again")
    if util.equal_ignore_hash(target["spec"].get("template"), d["spec"].get("template")):
        return (f"{_ref(d)} {ROLLBACK_SKIPPED} (current template already matches revision "
                f"{to_revision})")
    template = util.without_hash(target["spec"].get("template"))
    annotations = {k: v for k, v in util.annotations(d).items() if k in util.ANNOTATIONS_TO_SKIP}
    annotations.update({k: v for k, v in util.annotations(target).items()
                        if k not in util.ANNOTATIONS_TO_SKIP})
    patch = [{"op": "replace", "path": "/spec/template", "value": template},
             {"op": "replace", "path": "/metadata/annotations", "value": annotations}]
    client.patch("deployments", name, patch, namespace, patch_type="json")
    return f"{_ref(d)} {ROLLBACK_SUCCESS}"


def _revision_to(client: Client, d: Obj, to_revision: int) -> Obj:
    """deploymentRevision: the ReplicaSet of ``to_revision``, or of the one before the newest."""
    new, old = replicasets_of(client, d)
    latest: tuple[int, Obj | None] = (-1, None)
    previous: tuple[int, Obj | None] = (-1, None)
    for rs in [*old, *([new] if new is not None else [])]:
        v = util.revision(rs)
        if to_revision == 0:
            if latest[0] < v:
                previous, latest = latest, (v, rs)
            elif previous[0] < v:
                previous = (v, rs)
        elif to_revision == v:
            return rs
    if to_revision > 0:
        raise _revision_not_found(to_revision)
    if previous[1] is None:
        raise BadRequest(f'no rollout history found for deployment "{d["metadata"]["name"]}"')
    return previous[1]


def pause(client: Client, name: str, namespace: str = "default") -> str:
    """``kubectl rollout pause``: spec.paused = true."""
    d = client.get("deployments", name, namespace)
    if d["spec"].get("paused"):
        raise BadRequest(f'deployments.apps "{name}" is already paused')
    client.patch("deployments", name, {"spec": {"paused": True}}, namespace)
    return f"{_ref(d)} paused"


def resume(client: Client, name: str, namespace: str = "default") -> str:
    """``kubectl rollout resume``: spec.paused = false."""
    d = client.get("deployments", name, namespace)
    if not d["spec"].get("paused"):
        raise BadRequest(f'deployments.apps "{name}" is not paused')
    client.patch("deployments", name, {"spec": {"paused": False}}, namespace)
    return f"{_ref(d)} resumed"


def restart(client: Client, name: str, timestamp: str, namespace: str = "default") -> str:
    """``kubectl rollout restart``: a ``restartedAt`` annotation (RFC 3339) in the template."""
    d = client.get("deployments", name, namespace)
    if d["spec"].get("paused"):
        raise BadRequest("can't restart paused deployment (run rollout resume first)")
    client.patch("deployments", name,
                 {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: timestamp}}}}},
                 namespace)
    return f"{_ref(d)} restarted"
