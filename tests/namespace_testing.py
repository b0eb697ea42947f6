"""A client whose creates of one kind fail as they do in a namespace being deleted."""

from kubelearn.api import Forbidden


def terminating_namespace_error(resource: str) -> Forbidden:
    """What NamespaceLifecycle answers a create in a namespace being deleted."""
    err = Forbidden(resource, "", "unable to create new content in namespace default because "
                    "it is being terminated")
    err.details = {**(err.details or {}), "causes": [
        {"reason": "NamespaceTerminating", "message": "namespace default is being terminated",
         "field": "metadata.namespace"}]}
    return err


def refuse_creates(monkeypatch, client, kind: str, resource: str) -> list[int]:
    """Make ``client`` refuse every create of ``kind``; returns the list of tries, growing."""
    create, tries = client.create, []

    def refuse(obj, *args, **kwargs):
        if obj.get("kind") == kind:
            tries.append(1)
            raise terminating_namespace_error(resource)
        return create(obj, *args, **kwargs)

    monkeypatch.setattr(client, "create", refuse)
    return tries
