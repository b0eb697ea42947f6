"""A request to the API server, as every front end hands it over.

The in-process client (kubelearn.client) and the HTTP front
(kubelearn.apiserver.http) both turn what they receive into a
:class:`Request` and pass it to ``APIServer.handle``. The answer is a plain
dict in Kubernetes' JSON shape (an object, a list, a Status), or a
:class:`~kubelearn.apiserver.watch.WatchStream` for a watch; errors are raised
as :class:`kubelearn.api.StatusError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The verbs of a resource request, as RBAC names them.
VERBS = ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection")

# Patch content types (the HTTP Content-Type of a PATCH).
JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"


@dataclass
class Request:
    """One API request: who asks, which verb, on what, with which body and options."""

    verb: str
    resource: str
    group: str = ""
    version: str = "v1"
    namespace: str | None = None
    name: str | None = None
    subresource: str | None = None
    body: Any = None
    # Query options by their URL names: labelSelector, fieldSelector, limit,
    # continue, resourceVersion, resourceVersionMatch, allowWatchBookmarks,
    # timeoutSeconds, dryRun, fieldManager, propagationPolicy, gracePeriodSeconds.
    query: dict[str, str] = field(default_factory=dict)
    token: str | None = None
    patch_type: str | None = None
    user_agent: str = ""
    # What the server warns about while serving it (unknown fields...): HTTP sends them as
    # Warning headers, kubelearn.client as Python warnings.
    warnings: list[str] = field(default_factory=list)

    @property
    def path(self) -> str:
        """The REST path of this request, as kubectl would call it."""
        root = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        parts = [root]
        if self.namespace is not None and self.resource != "namespaces":
            parts.append(f"namespaces/{self.namespace}")
        parts.append(self.resource)
        if self.name:
            parts.append(self.name)
        if self.subresource:
            parts.append(self.subresource)
        return "/".join(parts)
