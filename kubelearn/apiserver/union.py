"""The authorization chain: ``--authorization-mode=Node,RBAC``, asked in that order.

kube-apiserver can run several authorizers (kubeadm runs ``Node,RBAC``). Each
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


class UnionAuthorizer:
    """Authorizers asked in order; the first that allows decides (unionAuthzHandler)."""

    def __init__(self, authorizers: Sequence[Authorizer]) -> None:
        self.authorizers = list(authorizers)

    def authorize(self, attrs: Attributes) -> Decision:
        """The first allowing decision, else no opinion with every reason joined by newlines."""
        reasons: list[str] = []
        for authorizer in self.authorizers:
            decision = authorizer.authorize(attrs)
            if decision.allowed:
                return decision
            if decision.reason:
                reasons.append(decision.reason)
        return Decision(False, "\n".join(reasons))
