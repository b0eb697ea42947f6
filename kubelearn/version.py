"""The one Kubernetes version kubelearn models.

Everything that differs between Kubernetes releases reads it: ``/version`` and
``kubectl version``, every node's ``kubeletVersion``, the scheduler's plugins and
formulas, the controllers' defaults, the API server's messages, the feature gates
that are on. kubelearn models **v1.32**: a release a learner's cluster may run
today, whose OpenAPI document (vendored in ``kubelearn/api/schema-v1.32.json``) and
client (kubectl v1.32) the tests check against.

Where a lesson's point is that something changed between releases (the node
monitor grace period, the balanced-allocation score), both forms are kept, each
labelled with the release that introduced it, and :func:`since` picks the one the
modelled version uses.
"""

from __future__ import annotations

MAJOR = 1
MINOR = 32
PATCH = 0

KUBERNETES_VERSION = f"v{MAJOR}.{MINOR}.{PATCH}"  # what a kubelet reports as kubeletVersion
# What the API server answers on /version: the suffix says it is not a real kube-apiserver.
GIT_VERSION = f"{KUBERNETES_VERSION}-kubelearn"

# Feature gates kubelearn consults, at their default in the modelled version
# (pkg/features/kube_features.go, release-1.32). A gate that does not exist yet in
# that release is off.
FEATURE_GATES: dict[str, bool] = {
    # Beta and on since v1.31, GA in v1.33: the API server merges matchLabelKeys into
    # the term's labelSelector when a pod is created.
    "MatchLabelKeysInPodAffinity": True,
    # Beta and on since v1.32 (GA in v1.34): env var names may be any printable ASCII but "=".
    "RelaxedEnvironmentVariableValidation": True,
    # Introduced in v1.33 (beta, on): an idle scheduler pops from backoffQ.
    "SchedulerPopFromBackoffQ": False,
    # Introduced in v1.32 as alpha (off): pod-level resources in spec.resources.
    "PodLevelResources": False,
    # Beta but off in v1.32 (GA and on in v1.34): the DynamicResources plugin and its
    # "no new claims to deallocate" PostFilter message.
    "DynamicResourceAllocation": False,
    # Alpha in v1.31, beta and on in v1.32 (k8s.io/apiserver pkg/features, GA in v1.34): the
    # authorization filter hands the field and label selectors of a list or watch to the
    # authorizers.
    "AuthorizeWithSelectors": True,
    # Alpha in v1.31, beta and on in v1.32 (pkg/features/kube_features.go, GA in v1.34): the
    # Node authorizer lets a kubelet read only its own Node, and list or watch pods only with
    # fieldSelector=spec.nodeName=<its node> (plugin/pkg/auth/authorizer/node).
    "AuthorizeNodeWithSelectors": True,
    # Beta and on since v1.32: a PVC's status.allocatedResources and allocatedResourceStatuses
    # (NodeRestriction lets a kubelet update them with capacity and conditions).
    "RecoverVolumeExpansionFailure": True,
}


def since(minor: int, major: int = 1) -> bool:
    """True when the modelled version is ``major.minor`` or later."""
    return (MAJOR, MINOR) >= (major, minor)
