"""The other API objects a pod names: its Secrets, ConfigMaps, PersistentVolumeClaims.

Two parts of the API server ask the same question of a pod: the Node
authorizer (a kubelet may read a Secret only if a pod bound to its node names
it) and NodeRestriction admission (a kubelet may not create a mirror pod that
names any). Both walk the pod spec as upstream's pkg/api/v1/pod/util.go
(v1.32) does:

- :func:`secret_names` -- ``VisitPodSecretNames``: ``imagePullSecrets``; each
  container's (init, regular and ephemeral) ``envFrom[].secretRef`` and
  ``env[].valueFrom.secretKeyRef``; the volumes that carry a secret (``secret``,
  ``projected`` sources, and the ``secretRef`` of cephfs, cinder, flexVolume,
  rbd, scaleIO, iscsi, storageos, azureFile's ``secretName``, csi's
  ``nodePublishSecretRef``);
- :func:`configmap_names` -- ``VisitPodConfigmapNames``: ``envFrom[].configMapRef``,
  ``env[].valueFrom.configMapKeyRef``, ``configMap`` and ``projected`` volumes;
- :func:`claim_names` -- the graph's PVC edges: ``persistentVolumeClaim``
  volumes, and the claim an ``ephemeral`` volume gets (``<pod>-<volume>``,
  ephemeral.VolumeClaimName).

Transitive references (pod -> PVC -> PV -> Secret) are not followed; empty
names are skipped (skipEmptyNames). Malformed parts of a spec are passed over.

    >>> pod = {"metadata": {"name": "web"}, "spec": {
    ...     "containers": [{"name": "app", "envFrom": [{"secretRef": {"name": "db"}}]}],
    ...     "volumes": [{"name": "cfg", "configMap": {"name": "settings"}}]}}
    >>> secret_names(pod), configmap_names(pod)
    (['db'], ['settings'])
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

# Volume sources whose secret is at <source>.secretRef.name (VisitPodSecretNames' switch).
_SECRET_REF_VOLUMES = ("cephfs", "cinder", "flexVolume", "rbd", "scaleIO", "iscsi", "storageos")


def _maps(value: Any) -> list[Mapping[str, Any]]:
    """The mappings of a list field, tolerating a missing or malformed one."""
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _get(value: Any, *path: str) -> Any:
    """``value[path[0]][path[1]]...``, or None where a step is missing or not a mapping."""
    for step in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(step)
    return value


def _spec(pod: Mapping[str, Any]) -> Mapping[str, Any]:
    spec = pod.get("spec")
    return spec if isinstance(spec, Mapping) else {}


def containers(pod: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Every container: init, regular, then ephemeral (VisitContainers, AllContainers)."""
    spec = _spec(pod)
    for field in ("initContainers", "containers", "ephemeralContainers"):
        yield from _maps(spec.get(field))


def _names(found: Iterator[Any]) -> list[str]:
    """The non-empty string names, first occurrence first, without repeats."""
    out: list[str] = []
    for name in found:
        if isinstance(name, str) and name and name not in out:
            out.append(name)
    return out


def _secret_refs(pod: Mapping[str, Any]) -> Iterator[Any]:
    spec = _spec(pod)
    for ref in _maps(spec.get("imagePullSecrets")):
        yield ref.get("name")
    for container in containers(pod):
        for source in _maps(container.get("envFrom")):
            yield _get(source, "secretRef", "name")
        for env in _maps(container.get("env")):
            yield _get(env, "valueFrom", "secretKeyRef", "name")
    for volume in _maps(spec.get("volumes")):
        yield _get(volume, "secret", "secretName")
        yield _get(volume, "azureFile", "secretName")
        yield _get(volume, "csi", "nodePublishSecretRef", "name")
        for kind in _SECRET_REF_VOLUMES:
            yield _get(volume, kind, "secretRef", "name")
        for source in _maps(_get(volume, "projected", "sources")):
            yield _get(source, "secret", "name")


def _configmap_refs(pod: Mapping[str, Any]) -> Iterator[Any]:
    for container in containers(pod):
        for source in _maps(container.get("envFrom")):
            yield _get(source, "configMapRef", "name")
        for env in _maps(container.get("env")):
            yield _get(env, "valueFrom", "configMapKeyRef", "name")
    for volume in _maps(_spec(pod).get("volumes")):
        yield _get(volume, "configMap", "name")
        for source in _maps(_get(volume, "projected", "sources")):
            yield _get(source, "configMap", "name")


def secret_names(pod: Mapping[str, Any]) -> list[str]:
    """The Secrets the pod names, in the order VisitPodSecretNames visits them."""
    return _names(_secret_refs(pod))


def configmap_names(pod: Mapping[str, Any]) -> list[str]:
    """The ConfigMaps the pod names, in the order VisitPodConfigmapNames visits them."""
    return _names(_configmap_refs(pod))


def claim_names(pod: Mapping[str, Any]) -> list[str]:
    """The PersistentVolumeClaims the pod's volumes use, ephemeral ones included."""
    pod_name = _get(pod, "metadata", "name") or ""
    found: list[Any] = []
    for volume in _maps(_spec(pod).get("volumes")):
        claim = _get(volume, "persistentVolumeClaim", "claimName")
        if claim:
            found.append(claim)
        elif isinstance(volume.get("ephemeral"), Mapping):
            found.append(f"{pod_name}-{volume.get('name') or ''}")
    return _names(iter(found))


def has_claim_volume(pod: Mapping[str, Any]) -> bool:
    """True if a volume is a ``persistentVolumeClaim`` (what NodeRestriction refuses)."""
    return any(isinstance(v.get("persistentVolumeClaim"), Mapping)
               for v in _maps(_spec(pod).get("volumes")))
