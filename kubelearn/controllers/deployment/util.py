"""The Deployment controller's arithmetic (pkg/controller/deployment/util/deployment_util.go).

Pure functions over plain dicts, no API calls -- the numbers a rollout obeys:

- :func:`resolve_fenceposts`, :func:`max_surge`, :func:`max_unavailable`: maxSurge rounds
  *up*, maxUnavailable rounds *down*, and if both come to 0 maxUnavailable is 1;
- :func:`new_rs_new_replicas`: how far the new ReplicaSet may grow this step;
- :func:`get_proportion`: proportional scaling when a Deployment is scaled mid-rollout;
- :func:`compute_hash`: the ``pod-template-hash`` (controller.ComputeHash);
- finding the new and the old ReplicaSets, revisions and their annotations, conditions,
  and the three questions progress asks: complete? progressing? timed out?
"""

from __future__ import annotations

import copy
import json
import math
import struct
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from kubelearn.api.equality import semantic_equal
from kubelearn.controllers.replicaset import controller_of

Obj = Mapping[str, Any]

# k8s.io/api/apps/v1 DefaultDeploymentUniqueLabelKey
POD_TEMPLATE_HASH = "pod-template-hash"
# deployment_util.go annotations
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
DEPRECATED_ROLLBACK_TO = "deprecated.deployment.rollback.to"  # apps/v1 DeprecatedRollbackTo
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"  # v1.LastAppliedConfigAnnotation
CHANGE_CAUSE = "kubernetes.io/change-cause"  # kubectl's ChangeCauseAnnotation
# annotationsToSkip: never copied between a Deployment and its ReplicaSets
ANNOTATIONS_TO_SKIP = frozenset({LAST_APPLIED, REVISION, REVISION_HISTORY, DESIRED_REPLICAS,
                                 MAX_REPLICAS, DEPRECATED_ROLLBACK_TO})
# sync.go maxRevHistoryLengthInChars: "limit revision history length to 100 element (~2000 chars)"
MAX_REV_HISTORY_LENGTH_IN_CHARS = 2000
MAX_INT32 = 2**31 - 1  # progressDeadlineSeconds / revisionHistoryLimit meaning "none"

# Condition reasons (deployment_util.go)
REPLICA_SET_UPDATED = "ReplicaSetUpdated"
FAILED_RS_CREATE = "ReplicaSetCreateError"
NEW_REPLICA_SET = "NewReplicaSetCreated"
FOUND_NEW_RS = "FoundNewReplicaSet"
NEW_RS_AVAILABLE = "NewReplicaSetAvailable"
TIMED_OUT = "ProgressDeadlineExceeded"
PAUSED = "DeploymentPaused"
RESUMED = "DeploymentResumed"
MINIMUM_REPLICAS_AVAILABLE = "MinimumReplicasAvailable"
MINIMUM_REPLICAS_UNAVAILABLE = "MinimumReplicasUnavailable"
PROGRESSING, AVAILABLE, REPLICA_FAILURE = "Progressing", "Available", "ReplicaFailure"

# k8s.io/apimachinery/pkg/util/rand: the alphabet SafeEncodeString maps bytes onto
ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"
_FNV32_OFFSET, _FNV32_PRIME = 2166136261, 16777619  # hash/fnv New32a


# -- small accessors -----------------------------------------------------------------------------

def replicas(obj: Obj | None) -> int:
    """``*spec.replicas`` (0 for no object)."""
    if obj is None:
        return 0
    value = (obj.get("spec") or {}).get("replicas")
    return 1 if value is None else int(value)


def status_of(obj: Obj | None, field: str) -> int:
    """An integer status field (0 if absent or no object)."""
    return int(((obj or {}).get("status") or {}).get(field) or 0)


def annotations(obj: Obj) -> dict:
    return (obj.get("metadata") or {}).get("annotations") or {}


def is_rolling_update(d: Obj) -> bool:
    return ((d["spec"].get("strategy") or {}).get("type") or "RollingUpdate") == "RollingUpdate"


def unix_seconds(timestamp: str | None) -> float | None:
    """Unix seconds of an RFC 3339 time (None for none)."""
    if not timestamp:
        return None
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()


# -- maxSurge and maxUnavailable ----------------------------------------------------------------

def value_from_int_or_percent(value: int | str | None, total: int, round_up: bool) -> int:
    """intstr.GetValueFromIntOrPercent: ``3`` is 3, ``"25%"`` of 10 is 3 (up) or 2 (down)."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    text = str(value)
    if not text.endswith("%"):
        raise ValueError(f"invalid value for IntOrString: invalid value {text!r}")
    percent = int(text[:-1])
    # math.Ceil / math.Floor of percent * total / 100, done in integers to stay exact
    return -(-percent * total // 100) if round_up else percent * total // 100


def resolve_fenceposts(surge: int | str | None, unavailable: int | str | None,
                       desired: int) -> tuple[int, int]:
    """ResolveFenceposts: (maxSurge rounded up, maxUnavailable rounded down); never both 0.

    Validation forbids 0 and 0 written out, but 25% of 1 rounds down to 0: then
    maxUnavailable becomes 1, "on the theory that surge might not work due to quota".
    """
    max_surge = value_from_int_or_percent(surge, desired, True)
    max_unavailable = value_from_int_or_percent(unavailable, desired, False)
    if max_surge == 0 and max_unavailable == 0:
        max_unavailable = 1
    return max_surge, max_unavailable


def _rolling(d: Obj) -> Mapping[str, Any]:
    return (d["spec"].get("strategy") or {}).get("rollingUpdate") or {}


def max_surge(d: Obj) -> int:
    """MaxSurge: how many pods above ``replicas`` a rolling update may run (0 for Recreate)."""
    if not is_rolling_update(d):
        return 0
    rolling = _rolling(d)
    return resolve_fenceposts(rolling.get("maxSurge"), rolling.get("maxUnavailable"),
                              replicas(d))[0]


def max_unavailable(d: Obj) -> int:
    """MaxUnavailable: how many of ``replicas`` may be unavailable (never more than replicas)."""
    if not is_rolling_update(d) or replicas(d) == 0:
        return 0
    rolling = _rolling(d)
    unavailable = resolve_fenceposts(rolling.get("maxSurge"), rolling.get("maxUnavailable"),
                                     replicas(d))[1]
    return min(unavailable, replicas(d))


def min_available(d: Obj) -> int:
    """MinAvailable: replicas - maxUnavailable (0 for Recreate)."""
    return replicas(d) - max_unavailable(d) if is_rolling_update(d) else 0


# -- the pod-template-hash ------------------------------------------------------------------------

def fnv32a(data: bytes, h: int = _FNV32_OFFSET) -> int:
    """hash/fnv New32a: FNV-1a, 32 bits."""
    for byte in data:
        h = ((h ^ byte) * _FNV32_PRIME) & 0xFFFFFFFF
    return h


def safe_encode_string(s: str) -> str:
    """rand.SafeEncodeString: each character onto ALPHANUMS (no vowels, no bad words)."""
    return "".join(ALPHANUMS[ord(c) % len(ALPHANUMS)] for c in s)


def compute_hash(template: Obj, collision_count: int | None = None) -> str:
    """controller.ComputeHash: fnv32a of the pod template, then of collisionCount.

    Upstream hashes Go's printout of the PodTemplateSpec struct (DeepHashObject:
    spew / dump.ForHash), which Python cannot reproduce; we hash the template's
    JSON with sorted keys instead. Everything after that is upstream's: FNV-1a
    32-bit, collisionCount appended as 8 bytes (a little-endian uint32 and 4
    zeros), the decimal digits of the sum mapped through SafeEncodeString. So
    the hash is stable for a template, changes with it and with collisionCount,
    looks like upstream's (``7d9c8b4f6``, 8-10 characters) -- but is not the
    same string a real cluster would print for the same YAML.
    """
    h = fnv32a(json.dumps(template, sort_keys=True, separators=(",", ":")).encode())
    if collision_count is not None:
        h = fnv32a(struct.pack("<I", collision_count & 0xFFFFFFFF) + bytes(4), h)
    return safe_encode_string(str(h))


def without_hash(template: Obj | None) -> dict:
    """A copy of a pod template without the ``pod-template-hash`` label."""
    return copy.deepcopy(_hashless(template))


def _hashless(template: Obj | None) -> dict:
    """The pod template seen without its ``pod-template-hash`` label, to compare, not to change:
    new dicts on the way to the label, every other part shared with ``template``."""
    template = dict(template or {})
    metadata = template.get("metadata")
    labels = metadata.get("labels") if isinstance(metadata, dict) else None
    if isinstance(labels, dict) and POD_TEMPLATE_HASH in labels:
        template["metadata"] = {**metadata, "labels": {
            k: v for k, v in labels.items() if k != POD_TEMPLATE_HASH}}
    return template


def equal_ignore_hash(t1: Obj | None, t2: Obj | None) -> bool:
    """EqualIgnoreHash: the same pod template, whatever the pod-template-hash label says.

    Upstream deep-copies both templates to delete the label; the deployment
    controller asks this of every ReplicaSet on every sync, so here nothing is
    copied but the labels.
    """
    return semantic_equal(_hashless(t1), _hashless(t2))


# -- ReplicaSets: which, in what order -------------------------------------------------------------

def _created(rs: Obj) -> tuple[str, str]:
    meta = rs["metadata"]
    return (meta.get("creationTimestamp") or "", meta.get("name") or "")


def by_creation(rss: Iterable[Obj]) -> list:
    """controller.ReplicaSetsByCreationTimestamp: oldest first, ties by name."""
    return sorted(rss, key=_created)


def by_size_newer(rss: Iterable[Obj]) -> list:
    """controller.ReplicaSetsBySizeNewer: largest first, ties newest first (scaling up)."""
    return sorted(sorted(rss, key=_created, reverse=True), key=lambda rs: -replicas(rs))


def by_size_older(rss: Iterable[Obj]) -> list:
    """controller.ReplicaSetsBySizeOlder: largest first, ties oldest first (scaling down)."""
    return sorted(by_creation(rss), key=lambda rs: -replicas(rs))


def by_revision(rss: Iterable[Obj]) -> list:
    """ReplicaSetsByRevision: lowest revision first, ties oldest first."""
    return sorted(by_creation(rss), key=revision)


def active(rss: Iterable[Obj | None]) -> list:
    """controller.FilterActiveReplicaSets: the ones with spec.replicas > 0."""
    return [rs for rs in rss if rs is not None and replicas(rs) > 0]


def revision(obj: Obj) -> int:
    """Revision: the ``deployment.kubernetes.io/revision`` annotation (0 if absent or bad)."""
    try:
        return int(annotations(obj).get(REVISION, 0))
    except ValueError:
        return 0


def max_revision(rss: Iterable[Obj | None]) -> int:
    """MaxRevision: the highest revision among ``rss``."""
    return max((revision(rs) for rs in rss if rs is not None), default=0)


def is_controlled_by(obj: Obj, owner: Obj) -> bool:
    """metav1.IsControlledBy: obj's controller ownerReference has owner's uid."""
    ref = controller_of(obj)
    return ref is not None and ref.get("uid") == owner["metadata"].get("uid")


def find_new_replicaset(d: Obj, rss: Iterable[Obj]) -> Obj | None:
    """FindNewReplicaSet: the oldest ReplicaSet whose template is the Deployment's."""
    template = d["spec"].get("template")
    for rs in by_creation(rss):
        if equal_ignore_hash(rs["spec"].get("template"), template):
            return rs
    return None


def find_old_replicasets(d: Obj, rss: list) -> tuple[list, list]:
    """FindOldReplicaSets: (old ones with replicas, every old one)."""
    new = find_new_replicaset(d, rss)
    every = [rs for rs in rss
             if new is None or rs["metadata"].get("uid") != new["metadata"].get("uid")]
    return [rs for rs in every if replicas(rs) != 0], every


def find_active_or_latest(new_rs: Obj | None, old_rss: list) -> Obj | None:
    """FindActiveOrLatest: the only active ReplicaSet, or the newest if none is active."""
    if new_rs is None and not old_rss:
        return None
    old_sorted = list(reversed(by_creation(old_rss)))
    actives = active([*old_sorted, new_rs])
    if not actives:
        return new_rs if new_rs is not None else old_sorted[0]
    return actives[0] if len(actives) == 1 else None


def replica_count(rss: Iterable[Obj | None]) -> int:
    """GetReplicaCountForReplicaSets: the sum of spec.replicas."""
    return sum(replicas(rs) for rs in rss if rs is not None)


def actual_replica_count(rss: Iterable[Obj | None]) -> int:
    """GetActualReplicaCountForReplicaSets: the sum of status.replicas."""
    return sum(status_of(rs, "replicas") for rs in rss if rs is not None)


def ready_replica_count(rss: Iterable[Obj | None]) -> int:
    return sum(status_of(rs, "readyReplicas") for rs in rss if rs is not None)


def available_replica_count(rss: Iterable[Obj | None]) -> int:
    return sum(status_of(rs, "availableReplicas") for rs in rss if rs is not None)


# -- how big the ReplicaSets should be -----------------------------------------------------------

def new_rs_new_replicas(d: Obj, all_rss: Iterable[Obj | None], new_rs: Obj) -> int:
    """NewRSNewReplicas: the new ReplicaSet's size after this step.

    RollingUpdate: grow into whatever room ``replicas + maxSurge`` leaves, never
    past ``replicas``. Recreate: all of ``replicas`` at once.
    """
    if not is_rolling_update(d):
        return replicas(d)
    surge = value_from_int_or_percent(_rolling(d).get("maxSurge"), replicas(d), True)
    current = replica_count(all_rss)
    max_total = replicas(d) + surge
    if current >= max_total:
        return replicas(new_rs)  # cannot scale up
    scale_up = min(max_total - current, replicas(d) - replicas(new_rs))
    return replicas(new_rs) + scale_up


def is_saturated(d: Obj, rs: Obj | None) -> bool:
    """IsSaturated: the new ReplicaSet has all of replicas, believes so, and all are available."""
    if rs is None:
        return False
    try:
        desired = int(annotations(rs).get(DESIRED_REPLICAS, ""))
    except ValueError:
        return False
    return (replicas(rs) == replicas(d) and desired == replicas(d)
            and status_of(rs, "availableReplicas") == replicas(d))


def int_annotation(rs: Obj, key: str) -> int | None:
    """getIntFromAnnotation (None if absent or not a number)."""
    try:
        return int(annotations(rs)[key])
    except (KeyError, ValueError):
        return None


def _round(x: float) -> int:
    """integer.RoundToInt32: math.Round, halves away from zero."""
    return int(math.floor(abs(x) + 0.5)) * (1 if x >= 0 else -1)


def replica_set_fraction(rs: Obj, d: Obj) -> int:
    """getReplicaSetFraction: how many replicas ``rs`` gains (or loses) in a scaling event."""
    if replicas(d) == 0:
        return -replicas(rs)
    deployment_replicas = replicas(d) + max_surge(d)
    annotated = int_annotation(rs, MAX_REPLICAS)
    if annotated is None:  # fall back to the current size (the estimate stays in limits)
        annotated = status_of(d, "replicas")
    if annotated == 0:
        return 0  # upstream divides by zero here; no proportion to estimate
    return _round(replicas(rs) * deployment_replicas / annotated) - replicas(rs)


def get_proportion(rs: Obj | None, d: Obj, to_add: int, added: int) -> int:
    """GetProportion: ``rs``'s share of ``to_add`` replicas, ``added`` being handed out so far."""
    if rs is None or replicas(rs) == 0 or to_add == 0 or to_add == added:
        return 0
    fraction = replica_set_fraction(rs, d)
    allowed = to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


# -- annotations on the new ReplicaSet ------------------------------------------------------------

def set_replicas_annotations(rs: dict, desired: int, maximum: int) -> bool:
    """SetReplicasAnnotations: desired-replicas and max-replicas; True if either changed."""
    ann = rs["metadata"].setdefault("annotations", {})
    updated = False
    for key, value in ((DESIRED_REPLICAS, str(desired)), (MAX_REPLICAS, str(maximum))):
        if ann.get(key) != value:
            ann[key] = value
            updated = True
    return updated


def replicas_annotations_need_update(rs: Obj, desired: int, maximum: int) -> bool:
    """ReplicasAnnotationsNeedUpdate."""
    ann = annotations(rs)
    return ann.get(DESIRED_REPLICAS) != str(desired) or ann.get(MAX_REPLICAS) != str(maximum)


def set_new_replicaset_annotations(d: Obj, rs: dict, new_revision: str, exists: bool,
                                   limit_in_chars: int = MAX_REV_HISTORY_LENGTH_IN_CHARS) -> bool:
    """SetNewReplicaSetAnnotations: copy the Deployment's annotations, set the revision.

    A ReplicaSet that already had a lower revision is one being rolled back to:
    its old revision joins ``revision-history``. Returns True if anything changed.
    """
    ann = rs["metadata"].setdefault("annotations", {})
    changed = False
    for key, value in annotations(d).items():  # copyDeploymentAnnotationsToReplicaSet
        if key not in ANNOTATIONS_TO_SKIP and ann.get(key) != value:
            ann[key] = value
            changed = True
    had_revision = REVISION in ann
    old_revision = ann.get(REVISION, "")
    try:
        old_int = int(old_revision) if old_revision else 0
        new_int = int(new_revision)
    except ValueError:
        return False  # upstream logs "revision not int" and leaves it
    if old_int < new_int:
        ann[REVISION] = new_revision
        changed = True
    if had_revision and old_int < new_int:
        history = ann.get(REVISION_HISTORY, "")
        if not history:
            ann[REVISION_HISTORY] = old_revision
        else:
            olds = history.split(",")
            total, start = len(history) + len(old_revision) + 1, 0
            while total > limit_in_chars and start < len(olds):
                total -= len(olds[start]) + 1
                start += 1
            if total <= limit_in_chars:
                ann[REVISION_HISTORY] = ",".join([*olds[start:], old_revision])
    if not exists and set_replicas_annotations(rs, replicas(d), replicas(d) + max_surge(d)):
        changed = True
    return changed


# -- conditions ---------------------------------------------------------------------------------

def new_condition(kind: str, status: str, reason: str, message: str, now: str) -> dict:
    """NewDeploymentCondition, stamped ``now`` (RFC 3339)."""
    return {"type": kind, "status": status, "lastUpdateTime": now, "lastTransitionTime": now,
            "reason": reason, "message": message}


def get_condition(status: Obj, kind: str) -> dict | None:
    """GetDeploymentCondition."""
    for condition in status.get("conditions") or []:
        if condition.get("type") == kind:
            return condition
    return None


def set_condition(status: dict, condition: dict) -> None:
    """SetDeploymentCondition: replace the condition of that type, unless status and reason hold.

    lastTransitionTime stays when only the reason changes.
    """
    current = get_condition(status, condition["type"])
    if current is not None and current.get("status") == condition["status"] \
            and current.get("reason") == condition["reason"]:
        return
    if current is not None and current.get("status") == condition["status"]:
        condition = {**condition, "lastTransitionTime": current.get("lastTransitionTime")}
    remove_condition(status, condition["type"])
    status.setdefault("conditions", []).append(condition)


def remove_condition(status: dict, kind: str) -> None:
    """RemoveDeploymentCondition."""
    kept = [c for c in status.get("conditions") or [] if c.get("type") != kind]
    if kept:
        status["conditions"] = kept
    else:
        status.pop("conditions", None)


def has_progress_deadline(d: Obj) -> bool:
    """HasProgressDeadline: set, and not MaxInt32."""
    deadline = d["spec"].get("progressDeadlineSeconds")
    return deadline is not None and deadline != MAX_INT32


def has_revision_history_limit(d: Obj) -> bool:
    """HasRevisionHistoryLimit: set, and not MaxInt32."""
    limit = d["spec"].get("revisionHistoryLimit")
    return limit is not None and limit != MAX_INT32


def deployment_complete(d: Obj, status: Obj) -> bool:
    """DeploymentComplete: every desired replica updated and available, no old pods."""
    want = replicas(d)
    return (int(status.get("updatedReplicas") or 0) == want
            and int(status.get("replicas") or 0) == want
            and int(status.get("availableReplicas") or 0) == want
            and int(status.get("observedGeneration") or 0) >= int(
                d["metadata"].get("generation") or 0))


def deployment_progressing(d: Obj, status: Obj) -> bool:
    """DeploymentProgressing: more updated, fewer old, or more ready/available than before."""
    old = d.get("status") or {}

    def count(s: Obj, field: str) -> int:
        return int(s.get(field) or 0)

    old_old = count(old, "replicas") - count(old, "updatedReplicas")
    new_old = count(status, "replicas") - count(status, "updatedReplicas")
    return (count(status, "updatedReplicas") > count(old, "updatedReplicas")
            or new_old < old_old
            or count(status, "readyReplicas") > count(old, "readyReplicas")
            or count(status, "availableReplicas") > count(old, "availableReplicas"))


def deployment_timed_out(d: Obj, status: Obj, now: float) -> bool:
    """DeploymentTimedOut: no progress reported for progressDeadlineSeconds (now: unix s)."""
    if not has_progress_deadline(d):
        return False
    condition = get_condition(status, PROGRESSING)
    if condition is None or condition.get("reason") == NEW_RS_AVAILABLE:
        return False
    if condition.get("reason") == TIMED_OUT:
        return True
    since = unix_seconds(condition.get("lastUpdateTime"))
    return since is not None and since + d["spec"]["progressDeadlineSeconds"] < now


# -- the records' key=value messages ---------------------------------------------------------------

def parse_fields(message: str) -> dict[str, Any]:
    """``"replicas=12 newReplicaSet=web-x"`` -> ``{"replicas": 12, "newReplicaSet": "web-x"}``."""
    out: dict[str, Any] = {}
    for word in message.split():
        key, sep, value = word.partition("=")
        if sep:
            out[key] = int(value) if value.lstrip("-").isdigit() else value
    return out
