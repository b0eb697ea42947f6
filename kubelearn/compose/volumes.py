"""compose ``volumes``, ``tmpfs``, ``secrets`` and ``configs`` as pod volumes and mounts.

Follows Kompose's pkg/transformer/kubernetes/kubernetes.go (CreatePVC,
CreateSecrets, ConfigSecretVolumes, createConfigMapFromComposeConfig,
InitPodSpecWithConfigMap) and k8sutils.go (isConfigFile):

- a named or anonymous volume -> a PersistentVolumeClaim of :data:`PVC_REQUEST_SIZE`;
- a bind mount of an existing file or directory -> a ConfigMap of its files; of a
  missing path -> an empty claim ``<service>-claim<N>``; of a socket -> nothing;
- ``tmpfs`` -> an emptyDir in memory;
- a secret -> a Secret mounted at ``/run/secrets/<target>``; a config -> a
  ConfigMap mounted at ``/<name>`` or its target.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kubelearn.api.names import is_dns1123_subdomain
from kubelearn.compose.project import SELECTOR, ComposeError, Project, read_file

# pkg/transformer/kubernetes/kubernetes.go PVCRequestSize: a claim's default size.
PVC_REQUEST_SIZE = "100Mi"


def pod_volumes(project: Project, compose_name: str, name: str, spec: Mapping,
                container: dict) -> list[dict]:
    """secrets, configs, volumes and tmpfs as pod volumes and the container's mounts."""
    volumes: list[dict] = []
    mounts: list[dict] = []
    _secrets(project, compose_name, spec, volumes, mounts)
    _configs(project, compose_name, name, spec, volumes, mounts)
    entries = spec.get("volumes") or []
    if not isinstance(entries, list):
        raise ComposeError(f"services.{compose_name}.volumes: must be a list")
    for i, entry in enumerate(entries):
        _volume(project, compose_name, name, i, entry, volumes, mounts)
    tmpfs = spec.get("tmpfs")
    for i, target in enumerate(tmpfs if isinstance(tmpfs, list) else [tmpfs] if tmpfs else []):
        vol = f"{name}-tmp{i}"
        volumes.append({"name": vol, "emptyDir": {"medium": "Memory"}})
        mounts.append({"name": vol, "mountPath": str(target).partition(":")[0]})
    if mounts:
        container["volumeMounts"] = mounts
    return volumes


def _parse_volume(entry: Any, path: str) -> tuple[str, str, str, bool]:
    """A ``volumes`` entry as (type, source, target, read_only)."""
    if isinstance(entry, Mapping):
        kind = str(entry.get("type") or "volume")
        target = entry.get("target")
        if not target:
            raise ComposeError(f"{path}.target: required")
        return kind, str(entry.get("source") or ""), str(target), bool(entry.get("read_only"))
    if not isinstance(entry, str) or not entry:
        raise ComposeError(f"{path}: invalid volume {entry!r}")
    parts = entry.split(":")
    if len(parts) == 1:
        return "volume", "", parts[0], False
    if len(parts) > 3:
        raise ComposeError(f'{path}: invalid volume "{entry}"')
    source, target = parts[0], parts[1]
    read_only = len(parts) == 3 and "ro" in parts[2].split(",")
    bind = source.startswith((".", "/", "~")) or not re.fullmatch(r"[a-zA-Z0-9][\w.-]*", source)
    return ("bind" if bind else "volume"), source, target, read_only


def _volume(project: Project, compose_name: str, name: str, i: int, entry: Any,
            volumes: list[dict], mounts: list[dict]) -> None:
    path = f"services.{compose_name}.volumes[{i}]"
    kind, source, target, read_only = _parse_volume(entry, path)
    notes = project.notes
    mount: dict[str, Any] = {"name": "", "mountPath": target}
    if read_only:
        mount["readOnly"] = True
    if kind == "tmpfs":
        mount["name"] = f"{name}-tmp{i}"
        volumes.append({"name": mount["name"], "emptyDir": {"medium": "Memory"}})
    elif kind == "bind":
        if source.endswith(".sock"):  # k8sutils isConfigFile: "Skip file in path"
            notes.warn(compose_name, f"volumes[{i}]", f"{source} skipped: a pod has no host "
                       "socket to mount")
            return
        cm = _bind_configmap(project, name, i, source)
        if cm is None:
            notes.warn(compose_name, f"volumes[{i}]", f"Volume mount on the host {source!r} "
                       "isn't supported - ignoring path on the host: it became an empty "
                       f"PersistentVolumeClaim {name}-claim{i} (as Kompose)")
            mount["name"] = _claim(project, f"{name}-claim{i}", name, read_only)
            volumes.append(_claim_volume(mount["name"], read_only))
        else:
            notes.warn(compose_name, f"volumes[{i}]", f"{source!r} copied into the ConfigMap "
                       f"{cm['metadata']['name']!r} (as Kompose): edits on the host do not reach "
                       "the pod")
            mount["name"] = cm["metadata"]["name"]
            volumes.append({"name": mount["name"],
                            "configMap": {"name": mount["name"]}})
            if len(cm["data"]) == 1 and _is_file(project, source):
                key = next(iter(cm["data"]))
                volumes[-1]["configMap"]["items"] = [{"key": key, "path": key}]
                mount["subPath"] = key
    elif kind == "volume":
        if not source:
            claim = f"{name}-claim{i}"
            notes.warn(compose_name, f"volumes[{i}]", f"anonymous volume: the claim {claim} "
                       "(100Mi) holds it")
        else:
            declared = project.section("volumes")
            if source not in declared:
                raise ComposeError(f'{path}: service "{compose_name}" refers to undefined '
                                   f'volume "{source}"')
            claim = source.replace("_", "-").lower()
            if claim != source:
                notes.warn(compose_name, f"volumes[{i}]", f"volume {source!r} renamed to "
                           f"{claim!r} for Kubernetes")
            if isinstance(declared.get(source), Mapping) and declared[source].get("external"):
                notes.warn(compose_name, f"volumes[{i}]", f"external volume {source!r}: a "
                           "claim is made for it anyway")
        mount["name"] = _claim(project, claim, name, read_only)
        if not any(v["name"] == claim for v in volumes):
            volumes.append(_claim_volume(claim, read_only))
    else:
        notes.warn(compose_name, f"volumes[{i}]", f"volume type {kind!r} not converted")
        return
    mounts.append(mount)


def _claim(project: Project, claim: str, name: str, read_only: bool) -> str:
    """A PersistentVolumeClaim (kubernetes.go CreatePVC), made once however many mount it."""
    if claim not in project.claims:
        problems = is_dns1123_subdomain(claim)
        if problems:
            raise ComposeError(f"volumes.{claim}: not a valid Kubernetes name: {problems[0]}")
        project.claims[claim] = {
            "apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": claim, "labels": {SELECTOR: claim}},
            "spec": {"accessModes": ["ReadOnlyMany" if read_only else "ReadWriteOnce"],
                     "resources": {"requests": {"storage": PVC_REQUEST_SIZE}}}}
    return claim


def _claim_volume(claim: str, read_only: bool) -> dict:
    source: dict[str, Any] = {"claimName": claim}
    if read_only:
        source["readOnly"] = True
    return {"name": claim, "persistentVolumeClaim": source}


def _is_file(project: Project, source: str) -> bool:
    base = project.base if project.base is not None else Path(".")
    return (base / os.path.expanduser(source)).is_file()


def _bind_configmap(project: Project, name: str, i: int, source: str) -> dict | None:
    """An existing file or directory's files as a ConfigMap ``<service>-cm<i>``, else None."""
    base = project.base if project.base is not None else Path(".")
    path = base / os.path.expanduser(source)
    files = [path] if path.is_file() else sorted(p for p in path.iterdir() if p.is_file()) \
        if path.is_dir() else []
    data = {}
    for file in files:
        try:
            data[file.name.replace("_", "-")] = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
    if not data:
        return None
    cm_name = f"{name}-cm{i}"
    project.configmaps[cm_name] = {"apiVersion": "v1", "kind": "ConfigMap",
                                   "metadata": {"name": cm_name, "labels": {SELECTOR: name}},
                                   "data": data}
    return project.configmaps[cm_name]


def _references(spec: Mapping, key: str, compose_name: str, declared: Mapping
                ) -> list[tuple[int, str, str, Mapping]]:
    """A service's secrets or configs as (index, source, target, entry); undefined -> error."""
    entries = spec.get(key) or []
    if not isinstance(entries, list):
        raise ComposeError(f"services.{compose_name}.{key}: must be a list")
    out = []
    for i, entry in enumerate(entries):
        if isinstance(entry, Mapping):
            source, target = str(entry.get("source") or ""), str(entry.get("target") or "")
        else:
            source, target, entry = str(entry), "", {}
        if source not in declared:
            raise ComposeError(f'services.{compose_name}.{key}[{i}]: service "{compose_name}" '
                               f'refers to undefined {key[:-1]} "{source}"')
        out.append((i, source, target, entry))
    return out


def _secrets(project: Project, compose_name: str, spec: Mapping, volumes: list[dict],
             mounts: list[dict]) -> None:
    """Each secret a Secret (kubernetes.go CreateSecrets) mounted at /run/secrets/<target>
    (ConfigSecretVolumes, getSecretPaths)."""
    declared = project.section("secrets")
    for i, source, target, entry in _references(spec, "secrets", compose_name, declared):
        secret = _secret(project, compose_name, source, declared[source] or {})
        target = target or source
        mount_path = target if target.startswith("/") else f"/run/secrets/{target}"
        filename = target.rsplit("/", 1)[-1]
        vol: dict[str, Any] = {"secretName": secret, "items": [{"key": secret,
                                                                "path": filename}]}
        if entry.get("mode") is not None:
            vol["defaultMode"] = int(str(entry["mode"]), 8) if isinstance(entry["mode"], str) \
                else int(entry["mode"])
        for key in ("uid", "gid"):
            if entry.get(key) is not None:
                project.notes.warn(compose_name, f"secrets[{i}].{key}", "ignored (as Kompose)")
        if not any(v["name"] == secret for v in volumes):
            volumes.append({"name": secret, "secret": vol})
        mounts.append({"name": secret, "mountPath": mount_path, "subPath": filename})


def _secret(project: Project, compose_name: str, source: str, config: Mapping) -> str:
    name = source.replace("_", "-").lower()
    if name in project.secrets:
        return name
    if config.get("file"):
        text = read_file(project, "", f"secrets.{source}.file", str(config["file"]))
    else:
        text = ""
        how = "external" if config.get("external") else "environment" \
            if config.get("environment") else "empty"
        project.notes.warn("", f"secrets.{source}", f"{how} secret: the Secret {name!r} is made "
                           "empty; fill it in (kubectl create secret generic ...)")
    if name != source:
        project.notes.warn(compose_name, f"secrets.{source}", f"renamed to {name!r}")
    project.secrets[name] = {
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, "labels": {SELECTOR: name}}, "type": "Opaque",
        "data": {name: base64.b64encode((text or "").encode()).decode()}}
    return name


def _configs(project: Project, compose_name: str, name: str, spec: Mapping,
             volumes: list[dict], mounts: list[dict]) -> None:
    """Each config a ConfigMap (createConfigMapFromComposeConfig) mounted at its target
    (InitPodSpecWithConfigMap: ``/<source>`` by default, subPath the file name)."""
    declared = project.section("configs")
    for i, source, target, _entry in _references(spec, "configs", compose_name, declared):
        config = declared[source] or {}
        cm_name = source.replace("_", "-").lower()
        if config.get("file"):
            key = Path(str(config["file"])).name
            text = read_file(project, "", f"configs.{source}.file", str(config["file"]))
        elif config.get("content") is not None:
            key, text = source, str(config["content"])
        else:
            project.notes.warn(compose_name, f"configs[{i}]", f"config {source!r} (external or "
                               "from the environment) not converted (as Kompose)")
            continue
        project.configmaps.setdefault(cm_name, {
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": cm_name, "labels": {SELECTOR: name}}, "data": {key: text}})
        target = target or f"/{source}"
        sub_path = target.rsplit("/", 1)[-1]
        if not any(v["name"] == cm_name for v in volumes):
            vol: dict[str, Any] = {"name": cm_name, "configMap": {
                "name": cm_name, "items": [{"key": key, "path": sub_path}]}}
            volumes.append(vol)
        mounts.append({"name": cm_name, "mountPath": target, "subPath": sub_path})
