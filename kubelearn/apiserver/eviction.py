"""The Eviction API: a pod deleted only if its PodDisruptionBudget can spare it.

``POST /api/v1/namespaces/<ns>/pods/<name>/eviction`` with an Eviction body
(``policy/v1``; ``policy/v1beta1`` is accepted too, as upstream still decodes
it) is a *delete that asks first*. ``kubectl drain`` sends one per pod; an
eviction is authorized as ``create`` on ``pods/eviction`` (the ``edit`` and
``admin`` roles grant it, and ``system:node`` for a kubelet's own pods).
:meth:`EvictionREST.evict` then:

1. reads the pod. A pod that has finished (Succeeded, Failed), has not started
   (Pending) or is already being deleted disrupts nothing more: it is deleted
   at once, no budget asked;
2. finds the PodDisruptionBudgets whose selector matches the pod in its
   namespace. None: delete. More than one: refused -- the answer is a
   ``Failure`` Status with code 500, "This pod has more than one
   PodDisruptionBudget, which the eviction subresource does not support.";
3. with one budget: a pod that is not Ready does not count as healthy, so
   taking it away costs the budget nothing when the budget says so
   (``unhealthyPodEvictionPolicy: AlwaysAllow``) or when the budget is met
   anyway (the default, ``IfHealthyBudget``: currentHealthy >= desiredHealthy > 0);
   it is deleted with a resourceVersion precondition, so a pod that became
   Ready meanwhile is not;
4. otherwise the budget pays: ``disruptionsAllowed`` must be above 0
   (``429 TooManyRequests`` "Cannot evict pod as it would violate the pod's
   disruption budget." with a ``DisruptionBudget`` cause if not; a budget the
   disruption controller has not counted since its last change is a 429 too).
   The API server writes the budget's status itself: one disruption fewer, and
   the pod in ``disruptedPods`` with the time, so the controller does not count
   it healthy while it terminates. A conflicting write is retried with the budget
   read again;
5. marks the pod ``DisruptionTarget=True`` (reason ``EvictionByEvictionAPI``),
   then deletes it with the Eviction's ``deleteOptions``: its grace period,
   preconditions, and ``dryRun`` (which changes nothing anywhere).

A success answers ``201`` with a ``Success`` Status. A port of
pkg/registry/core/pod/storage/eviction.go (v1.32), where the delete and the
condition go through the pod's storage and the budget through the API
server's loopback client, as here. One difference: the deleteOptions are
validated before anything is written, so bad options change nothing (upstream
validates them in the final delete, after the budget was charged).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from kubelearn.api import BadRequest, Conflict, Forbidden, Invalid, TooManyRequests
from kubelearn.api.errors import FieldError, GoValue, Path
from kubelearn.api.policy import (
    ALWAYS_ALLOW,
    pdb_matches_pod,
    update_disruption_allowed_condition,
)
from kubelearn.apiserver.storage import Storage, decode

if TYPE_CHECKING:  # pragma: no cover
    from kubelearn.apiserver.registry import ResourceInfo
    from kubelearn.client import Client

# eviction.go AcceptsGroupVersion: both Eviction versions decode; policy/v1 is the one served.
EVICTION_VERSIONS = ("policy/v1", "policy/v1beta1")
EVICTION_KIND = "Eviction"
# eviction.go MaxDisruptedPodSize: evictions the disruption controller has not confirmed yet.
MAX_DISRUPTED_POD_SIZE = 2000
# eviction.go EvictionsRetry: 20 steps of 500 ms. Here a request takes no virtual time and
# holds the server, so the steps are taken at once (and a conflict is rare).
EVICTIONS_RETRY_STEPS = 20
DRY_RUN_ALL = "All"  # metav1.DryRunAll, the one dryRun value
DISRUPTION_BUDGET_CAUSE = "DisruptionBudget"  # policyv1.DisruptionBudgetCause
DISRUPTION_TARGET = "DisruptionTarget"  # v1.DisruptionTarget
REASON_EVICTION_BY_EVICTION_API = "EvictionByEvictionAPI"  # v1.PodReasonEvictionByEvictionAPI
EVICTING_MESSAGE = "Eviction API: evicting"
VIOLATION = "Cannot evict pod as it would violate the pod's disruption budget."
MULTIPLE_BUDGETS = ("This pod has more than one PodDisruptionBudget, which the eviction "
                    "subresource does not support.")
DELETE_PROPAGATION = ("Foreground", "Background", "Orphan")  # metav1.DeletionPropagation
# The decoder's words for a kind it has no type for (transformDecodeError; the scheme is the
# legacy one the core group decodes with).
SCHEME = "pkg/api/legacyscheme/scheme.go:30"


# -- the body ---------------------------------------------------------------------------------

def eviction_version(body: Mapping[str, Any]) -> str:
    """The Eviction version a body is in ("" defaults to policy/v1); 400 for anything else."""
    api_version, kind = body.get("apiVersion") or "", body.get("kind") or ""
    if not isinstance(api_version, str) or not isinstance(kind, str):
        return EVICTION_VERSIONS[0]  # a wrong type: decoding reports it
    if (api_version in ("", *EVICTION_VERSIONS)) and kind in ("", EVICTION_KIND):
        return api_version or EVICTION_VERSIONS[0]
    version = api_version.rpartition("/")[2]
    raise BadRequest(f'{kind or EVICTION_KIND} in version "{version}" cannot be handled as a '
                     f'{EVICTION_KIND}: no kind "{kind or EVICTION_KIND}" is registered for '
                     f'version "{api_version}" in scheme "{SCHEME}"')


def propagate_dry_run(eviction: Mapping[str, Any], request_dry_run: list[str]) -> dict[str, Any]:
    """The delete options: the Eviction's, with the request's dryRun (propagateDryRun).

    The request's ``?dryRun=All`` and the body's ``deleteOptions.dryRun`` may each
    be given; both given, they must agree.
    """
    options = eviction.get("deleteOptions")
    if options is None:
        return {"dryRun": list(request_dry_run)} if request_dry_run else {}
    options = dict(options)
    if not options.get("dryRun"):
        if request_dry_run:
            options["dryRun"] = list(request_dry_run)
        return options
    if request_dry_run and list(options["dryRun"]) != list(request_dry_run):
        # upstream returns a plain error here, which the API server turns into a 500
        raise BadRequest(f"Non-matching dry-run options in request and content: "
                         f"[{' '.join(request_dry_run)}] and [{' '.join(options['dryRun'])}]")
    return options


def validate_delete_options(options: Mapping[str, Any]) -> None:
    """ValidateDeleteOptions: a known propagationPolicy, not with orphanDependents; dryRun All."""
    errs: list[FieldError] = []
    policy = options.get("propagationPolicy")
    if options.get("orphanDependents") is not None and policy is not None:
        errs.append(FieldError.invalid(Path("propagationPolicy"), GoValue("*string", policy),
                                       "orphanDependents and deletionPropagation cannot be "
                                       "both set"))
    if policy is not None and policy not in DELETE_PROPAGATION:
        errs.append(FieldError.not_supported(Path("propagationPolicy"), policy,
                                             [*DELETE_PROPAGATION, "nil"]))
    dry_run = options.get("dryRun") or []
    if any(value != DRY_RUN_ALL for value in dry_run):
        errs.append(FieldError.not_supported(Path("dryRun"), GoValue("[]string", dry_run),
                                             [DRY_RUN_ALL]))
    if errs:
        raise Invalid("DeleteOptions", "", errs, "meta.k8s.io")


# -- the pod and its budget --------------------------------------------------------------------

def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def _phase(pod: Mapping[str, Any]) -> str:
    return (pod.get("status") or {}).get("phase") or ""


def pod_is_ready(pod: Mapping[str, Any]) -> bool:
    """IsPodReady: the Ready condition is True -- what a budget counts as healthy."""
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or ())


def can_ignore_pdb(pod: Mapping[str, Any]) -> bool:
    """canIgnorePDB: finished, never started, or already going -- no budget to ask."""
    return _phase(pod) in ("Succeeded", "Failed", "Pending") \
        or bool(_meta(pod).get("deletionTimestamp"))


def should_enforce_resource_version(pod: Mapping[str, Any]) -> bool:
    """shouldEnforceResourceVersion: a pod that may still become Ready is deleted as read."""
    return _phase(pod) not in ("Succeeded", "Failed") and not _meta(pod).get("deletionTimestamp")


def resource_version_is_unset(options: Mapping[str, Any]) -> bool:
    """resourceVersionIsUnset: the caller gave no resourceVersion precondition."""
    return (options.get("preconditions") or {}).get("resourceVersion") is None


def with_resource_version(options: Mapping[str, Any], resource_version: str) -> dict[str, Any]:
    """The options with a resourceVersion precondition (setPreconditionsResourceVersion)."""
    return {**options, "preconditions": {**(options.get("preconditions") or {}),
                                         "resourceVersion": resource_version}}


def is_dry_run(options: Mapping[str, Any]) -> bool:
    """dryrun.IsDryRun."""
    return bool(options.get("dryRun"))


def too_many_requests(message: str, cause: str, retry_after: int) -> TooManyRequests:
    """errors.NewTooManyRequests with a DisruptionBudget cause, as the eviction handler words it."""
    err = TooManyRequests(message, retry_after)
    details: dict[str, Any] = {"causes": [{"reason": DISRUPTION_BUDGET_CAUSE, "message": cause}]}
    if retry_after:
        details["retryAfterSeconds"] = retry_after
    err.details = details
    return err


def still_processing(budget: str) -> TooManyRequests:
    """createTooManyRequestsError: the budget changed and the controller has not recounted."""
    return too_many_requests(VIOLATION, f"The disruption budget {budget} is still being "
                             "processed by the server.", 10)


def success() -> dict[str, Any]:
    """The Status a successful eviction answers (the create handler fills in code 201)."""
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "code": 201}


def multiple_budgets() -> dict[str, Any]:
    """The Failure Status for a pod two budgets select (returned, not raised, upstream)."""
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": MULTIPLE_BUDGETS, "code": 500}


def update_pod_condition(status: dict[str, Any], condition: dict[str, Any], now: str) -> None:
    """podutil.UpdatePodCondition: add the condition, or replace it; the transition time
    moves only when its status changes."""
    conditions = status.setdefault("conditions", [])
    new = {"type": condition["type"], "status": condition["status"], "lastProbeTime": None,
           "lastTransitionTime": now, "reason": condition.get("reason", ""),
           "message": condition.get("message", "")}
    for i, old in enumerate(conditions):
        if old.get("type") == new["type"]:
            if old.get("status") == new["status"]:
                new["lastTransitionTime"] = old.get("lastTransitionTime")
            new["lastProbeTime"] = old.get("lastProbeTime")
            conditions[i] = new
            return
    conditions.append(new)


class EvictionREST:
    """pods/eviction: the storage of pods, and a client for the budgets (EvictionREST).

    ``budgets`` gives the API server's loopback client, through which the budget's
    status is written (upstream's podDisruptionBudgetClient).
    """

    def __init__(self, storage: Storage, pods: ResourceInfo, budgets: Callable[[], Client],
                 now: Callable[[], str]) -> None:
        self.storage = storage
        self.pods = pods
        self.budgets = budgets
        self.now = now

    # -- before admission's validation ---------------------------------------------------------
    def prepare(self, name: str, eviction: Mapping[str, Any], request_dry_run: list[str]
                ) -> dict[str, Any]:
        """The first checks of Create: the name, the dry-run options, the delete options."""
        if name != _meta(eviction).get("name"):
            raise BadRequest("name in URL does not match name in Eviction object")
        options = propagate_dry_run(eviction, request_dry_run)
        validate_delete_options(options)
        return options

    # -- Create ---------------------------------------------------------------------------------
    def evict(self, namespace: str, name: str, options: dict[str, Any]) -> dict[str, Any]:
        """Evict the pod (EvictionREST.Create after its checks); see the module docstring."""
        pod = self._delete_if_pdb_can_be_ignored(namespace, name, options)
        if pod is None:
            return success()
        budgets = self.budgets_for(pod)
        if len(budgets) > 1:
            return multiple_budgets()
        budget_name, unhealthy_pod = "", False
        if budgets:
            budget = budgets[0]
            budget_name = _meta(budget).get("name", "")
            unhealthy_pod = self._unhealthy_pod_may_go(pod, budget)
            if not unhealthy_pod:
                self._charge(namespace, name, budget, is_dry_run(options))
        delete_options = options
        if unhealthy_pod:  # the pod must not have become Ready since it was read
            delete_options = with_resource_version(options, _meta(pod).get("resourceVersion"))
        try:
            self.add_condition_and_delete(namespace, name, delete_options)
        except Conflict:
            if unhealthy_pod and resource_version_is_unset(options):
                raise still_processing(budget_name) from None
            raise
        return success()

    def _delete_if_pdb_can_be_ignored(self, namespace: str, name: str,
                                      options: dict[str, Any]) -> dict[str, Any] | None:
        """The pod, if its budget must be asked; None once it was deleted without asking.

        Conflicts are retried, with the pod read again (a Pending pod may have started),
        unless the caller gave a resourceVersion precondition of its own.
        """
        retry = resource_version_is_unset(options)
        attempts = 0
        while True:
            attempts += 1
            pod = decode(self.storage.get_kv(self.pods, namespace, name))
            if not can_ignore_pdb(pod):
                return pod
            delete_options = options
            if should_enforce_resource_version(pod) and resource_version_is_unset(options):
                delete_options = with_resource_version(options, _meta(pod)["resourceVersion"])
            try:
                self.add_condition_and_delete(namespace, name, delete_options)
                return None
            except Conflict:
                if not retry or attempts == EVICTIONS_RETRY_STEPS:
                    raise


    def budgets_for(self, pod: Mapping[str, Any]) -> list[dict[str, Any]]:
        """getPodDisruptionBudgets: the pod's namespace's budgets whose selector matches it.

        An empty selector matches every pod, a missing or unreadable one none.
        """
        namespace = _meta(pod).get("namespace") or "default"
        listed = self.budgets().list("poddisruptionbudgets", namespace)["items"]
        return [pdb for pdb in listed if pdb_matches_pod(pdb, pod)]

    @staticmethod
    def _unhealthy_pod_may_go(pod: Mapping[str, Any], budget: Mapping[str, Any]) -> bool:
        """A pod that is not Ready may go without charging the budget (v1.32's rules)."""
        if pod_is_ready(pod):
            return False
        if (budget.get("spec") or {}).get("unhealthyPodEvictionPolicy") == ALWAYS_ALLOW:
            return True
        status = budget.get("status") or {}  # nil and IfHealthyBudget: only if it is met anyway
        desired = int(status.get("desiredHealthy") or 0)
        return int(status.get("currentHealthy") or 0) >= desired > 0

    def _charge(self, namespace: str, pod_name: str, budget: dict[str, Any],
                dry_run: bool) -> None:
        """checkAndDecrement, retried on a conflict with the budget read again."""
        name = _meta(budget).get("name", "")
        last: Conflict | None = None
        for attempt in range(EVICTIONS_RETRY_STEPS):
            if attempt:
                budget = self.budgets().get("poddisruptionbudgets", name, namespace)
            try:
                self.check_and_decrement(pod_name, budget, dry_run)
                return
            except Conflict as err:
                last = err
        assert last is not None
        raise last

    def check_and_decrement(self, pod_name: str, budget: Mapping[str, Any],
                            dry_run: bool) -> None:
        """checkAndDecrement: one disruption fewer, the pod in disruptedPods; or why not."""
        meta, status = _meta(budget), budget.get("status") or {}
        name = meta.get("name", "")
        if int(status.get("observedGeneration") or 0) < int(meta.get("generation") or 0):
            raise still_processing(name)
        allowed = int(status.get("disruptionsAllowed") or 0)
        if allowed < 0:
            raise Forbidden("poddisruptionbudget", name, "pdb disruptions allowed is negative",
                            "policy")
        if len(status.get("disruptedPods") or {}) > MAX_DISRUPTED_POD_SIZE:
            raise Forbidden("poddisruptionbudget", name, "DisruptedPods map too big - too many "
                            "evictions not confirmed by PDB controller", "policy")
        if allowed == 0:
            raise too_many_requests(VIOLATION, (
                f"The disruption budget {name} needs {int(status.get('desiredHealthy') or 0)} "
                f"healthy pods and has {int(status.get('currentHealthy') or 0)} currently"), 0)
        new = copy.deepcopy(dict(budget))
        new_status = new.setdefault("status", {})
        new_status["disruptionsAllowed"] = allowed - 1
        now = self.now()
        if allowed - 1 == 0:
            update_disruption_allowed_condition(new_status, now)
        if dry_run:
            return
        new_status["disruptedPods"] = {**(new_status.get("disruptedPods") or {}), pod_name: now}
        self.budgets().update_status(new)

    # -- the condition, then the delete ---------------------------------------------------------
    def add_condition_and_delete(self, namespace: str, name: str,
                                 options: Mapping[str, Any]) -> dict[str, Any]:
        """addConditionAndDeletePod: DisruptionTarget=True on the pod, then the delete.

        The condition is written to the pod as it is in etcd, after the options'
        uid and resourceVersion preconditions are checked against it; a
        resourceVersion precondition then moves on to the version just written.
        Nothing is written on a dry run.
        """
        options = dict(options)
        dry_run = is_dry_run(options)
        if not dry_run:
            kv = self.storage.get_kv(self.pods, namespace, name)
            pod = decode(kv)
            self._check_preconditions(pod, options.get("preconditions") or {})
            new = copy.deepcopy(pod)
            update_pod_condition(new.setdefault("status", {}), {
                "type": DISRUPTION_TARGET, "status": "True",
                "reason": REASON_EVICTION_BY_EVICTION_API, "message": EVICTING_MESSAGE},
                self.now())
            self.storage.prepare_for_update(self.pods, new, pod, "status")
            written = self.storage.update(self.pods, new, kv, old=pod)
            if not resource_version_is_unset(options):
                options = with_resource_version(options, written["metadata"]["resourceVersion"])
        return self.storage.delete(self.pods, namespace, name, options, dry_run=dry_run)

    @staticmethod
    def _check_preconditions(pod: Mapping[str, Any], pre: Mapping[str, Any]) -> None:
        """getLatestPod's checks: the uid and resourceVersion the caller expects."""
        meta = _meta(pod)
        uid, rv = pre.get("uid"), pre.get("resourceVersion")
        if uid and uid != meta.get("uid"):
            raise Conflict("Pod", meta.get("name", ""), err=(
                f"the UID in the precondition ({uid}) does not match the UID in record "
                f"({meta.get('uid')}). The object might have been deleted and then recreated"))
        if rv and rv != meta.get("resourceVersion"):
            raise Conflict("Pod", meta.get("name", ""), err=(
                f"the ResourceVersion in the precondition ({rv}) does not match the "
                f"ResourceVersion in record ({meta.get('resourceVersion')}). The object might "
                "have been modified"))


__all__ = ["EvictionREST", "eviction_version", "propagate_dry_run", "validate_delete_options",
           "can_ignore_pdb", "pod_is_ready", "update_pod_condition"]
