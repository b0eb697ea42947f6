"""One modelled Kubernetes version (kubelearn.version), read by everything that shows it."""

from __future__ import annotations

import re
from pathlib import Path

import kubelearn as kl
from kubelearn import version
from kubelearn.api import schema
from kubelearn.apiserver import discovery

ROOT = Path(__file__).resolve().parent.parent


def test_the_constant_names_one_release():
    assert version.KUBERNETES_VERSION == f"v{version.MAJOR}.{version.MINOR}.{version.PATCH}"
    assert version.GIT_VERSION.startswith(version.KUBERNETES_VERSION + "-")
    assert version.since(version.MINOR) and not version.since(version.MINOR + 1)
    assert version.since(version.MINOR - 1)


def test_version_endpoint_nodes_and_schema_follow_it():
    cluster = kl.Cluster(seed=0, nodes=1)
    cluster.run(15)
    info = discovery.version_info()
    assert (info["major"], info["minor"]) == (str(version.MAJOR), str(version.MINOR))
    assert info["gitVersion"] == version.GIT_VERSION
    nodes = cluster.get("nodes")
    assert nodes.VERSION.tolist() == [version.KUBERNETES_VERSION]
    assert schema.SCHEMA_FILE == f"schema-v{version.MAJOR}.{version.MINOR}.json"


def test_no_other_module_spells_the_release():
    """A release string anywhere else in the package would drift from the constant."""
    literal = re.compile(r"""["']v?1\.\d\d(\.\d+)?(-kubelearn)?["']""")
    offenders = []
    for path in (ROOT / "kubelearn").rglob("*.py"):
        if path.name == "version.py":
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if literal.search(line.split("#")[0]):
                offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert offenders == []


def test_readme_says_which_version_is_modelled():
    readme = (ROOT / "README.md").read_text()
    assert f"kubelearn models **Kubernetes v{version.MAJOR}.{version.MINOR}**" in readme
    assert f"`{version.GIT_VERSION}`" in readme and f"`{version.KUBERNETES_VERSION}`" in readme
