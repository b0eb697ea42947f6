"""Kubeconfig: the file that tells kubectl where the API server is and who you are.

:func:`kubeconfig` builds the document (kind Config, as ``kubeadm`` writes
``admin.conf``: one cluster with the server URL, one user with a bearer
token, one context joining them and naming the default namespace, and
``current-context``); :func:`write_kubeconfig` saves it with mode 0600, since
the token in it is a password. The cluster entry carries the server's
certificate (``certificate-authority-data``), so kubectl verifies it is
talking to this server.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import yaml

CLUSTER_NAME = "kubelearn"


def kubeconfig(server: str, token: str, *, ca_pem: bytes | None = None,
               user: str = "kubernetes-admin", cluster: str = CLUSTER_NAME,
               namespace: str = "default") -> dict[str, Any]:
    """A kubeconfig for ``server`` as ``user``, with bearer ``token``, trusting ``ca_pem``."""
    context = f"{user}@{cluster}"
    entry: dict[str, Any] = {"server": server}
    if ca_pem:
        entry["certificate-authority-data"] = base64.b64encode(ca_pem).decode()
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster, "cluster": entry}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": context,
                      "context": {"cluster": cluster, "user": user, "namespace": namespace}}],
        "current-context": context,
        "preferences": {},
    }


def write_kubeconfig(path: str | os.PathLike[str], server: str, token: str, **kw: Any) -> Path:
    """Write a kubeconfig to ``path`` (mode 0600, parent directories created); return the path."""
    path = Path(path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(kubeconfig(server, token, **kw), sort_keys=False)
    # Create it 0600 from the start: the token must never be world-readable, not even briefly.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.chmod(path, 0o600)  # an existing file keeps its old mode through O_CREAT
    return path
