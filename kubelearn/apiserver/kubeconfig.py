"""Kubeconfig: the file that tells kubectl where the API server is and who you are.

:func:`kubeconfig` builds the document (kind Config, as ``kubeadm`` writes
``admin.conf``: one cluster with the server URL, one user with a bearer
token, one context joining them and naming the default namespace, and
``current-context``); :func:`write_kubeconfig` saves it as a new file of mode
0600, since the token in it is a password, and never writes through a symlink
(:class:`KubeconfigError` if it cannot). The cluster entry carries the
server's certificate (``certificate-authority-data``), so kubectl verifies it
is talking to this server.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import yaml

from kubelearn.files import replace_file

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


class KubeconfigError(OSError):
    """The kubeconfig could not be written (the path is a directory, not ours to replace...)."""


def write_kubeconfig(path: str | os.PathLike[str], server: str, token: str, **kw: Any) -> Path:
    """Write a kubeconfig to ``path`` (mode 0600, parent directories created); return the path.

    The file is written whole under a temporary name in the same directory
    (created 0600 and exclusively, so nobody else's file or link is opened),
    flushed to disk, then renamed onto ``path``. A rename replaces whatever is
    at ``path`` -- a symlink included -- and never writes through it: a link
    planted at a guessable path (``/tmp/kubeconfig`` -> the learner's
    ``~/.bashrc``) cannot make us overwrite its target with a token, and a
    reader sees the old file or the new one, never half of one. We replace
    rather than refuse a link: the rename is safe already, and a learner whose
    ``~/.kube/config`` is a link still gets a working kubeconfig (a file of its
    own now; the link's target keeps its content). client-go's
    ``clientcmd.WriteToFile`` differs: ``os.WriteFile`` writes through a link and
    keeps an existing file's mode. A failure is a :class:`KubeconfigError`
    naming ``path``.
    """
    path = Path(path).expanduser()
    text = yaml.safe_dump(kubeconfig(server, token, **kw), sort_keys=False)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        replace_file(path, text.encode("utf-8"))
    except OSError as err:
        raise KubeconfigError(f"cannot write the kubeconfig {path}: {err.strerror or err}") \
            from err
    return path
