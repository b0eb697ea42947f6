"""The authorization chain: ``system:masters``, then ``--authorization-mode=Node,RBAC``.

kube-apiserver can run several authorizers (kubeadm runs ``Node,RBAC``), and
always puts one more in front of them: members of the group ``system:masters``
are allowed everything, before any mode is asked (pkg/kubeapiserver/authorizer,
v1.32: "Add SystemPrivilegedGroup as an authorizing group"). That answer gives
no reason, so ``kubectl auth can-i`` says a plain ``yes`` to the cluster's
admin, and no RBAC object can take that right away. Each
answers *allow*, *deny* or *no opinion*; the chain asks them in order and the
first that allows (or denies) decides. If none does, the request is refused,
and the 403 carries every reason given, one a line -- so a kubelet that reads
a pod of another node hears the Node authorizer's "no relationship found"
even though RBAC, asked next, had nothing to say.

As k8s.io/apiserver/pkg/authorization/union (v1.32). Neither authorizer
kubelearn runs ever denies outright: a :class:`~kubelearn.apiserver.rbac.Decision`
that is not allowed means *no opinion*.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from kubelearn.apiserver.rbac import Attributes, Decision


class Authorizer(Protocol):
    """Anything with ``authorize(attrs) -> Decision`` (authorizer.Authorizer)."""

    def authorize(self, attrs: Attributes) -> Decision:  # pragma: no cover - a protocol
        ...


class PrivilegedGroups:
    """Members of these groups may do anything (authorizerfactory.NewPrivilegedGroups).

    Allowed with an empty reason; anyone else gets no opinion, and the chain
    goes on to the Node authorizer and RBAC.
    """

    mode = "system:masters"

    def __init__(self, *groups: str) -> None:
        self.groups = frozenset(groups)

    def authorize(self, attrs: Attributes) -> Decision:
        """Allowed, without a reason, when the user is in one of the groups."""
        return Decision(not self.groups.isdisjoint(attrs.user.groups))


class UnionAuthorizer:
    """Authorizers asked in order; the first that allows decides (unionAuthzHandler)."""

    def __init__(self, authorizers: Sequence[Authorizer]) -> None:
        self.authorizers = list(authorizers)

    def authorize(self, attrs: Attributes) -> Decision:
        """The first allowing decision, else no opinion with every reason joined by newlines."""
        return self.decide(attrs)[1]

    def decide(self, attrs: Attributes) -> tuple[Authorizer | None, Decision]:
        """The authorizer that allowed (None if none did) and the chain's decision."""
        reasons: list[str] = []
        for authorizer in self.authorizers:
            decision = authorizer.authorize(attrs)
            if decision.allowed:
                return authorizer, decision
            if decision.reason:
                reasons.append(decision.reason)
        return None, Decision(False, "\n".join(reasons))
