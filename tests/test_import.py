"""``import kubelearn`` is cheap: the heavy libraries wait until a learner uses them.

Each check runs in a fresh interpreter, since this test process has imported
everything already.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# Imported by kubelearn only where they are needed: plots, tables, widgets, the scheduler's
# arrays, the served API server's TLS.
HEAVY = ("matplotlib", "pandas", "numpy", "ipywidgets", "IPython", "cryptography", "yaml")


def loaded_after(code: str) -> list[str]:
    """The HEAVY top-level modules in sys.modules after running ``code`` in a new interpreter."""
    probe = (f"{code}\nimport json, sys\n"
             f"print(json.dumps(sorted(set({HEAVY!r}) & set(sys.modules))))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=120, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_import_kubelearn_loads_no_heavy_module():
    assert loaded_after("import kubelearn") == []


def test_a_cluster_needs_no_plotting_table_or_widget_library():
    # numpy (the scheduler's arrays), yaml (manifests) and cryptography (the cluster's CA)
    # are the engine's; tables, plots and widgets are not
    loaded = loaded_after("import kubelearn as kl\nkl.Cluster(seed=0, nodes=1)")
    assert not set(loaded) & {"matplotlib", "pandas", "ipywidgets", "IPython"}


def test_the_learner_api_is_unchanged():
    import kubelearn as kl
    from kubelearn.cluster import Cluster
    from kubelearn.sim import Simulation

    assert kl.Cluster is Cluster and kl.Simulation is Simulation
    for name in ("api", "compose", "etcd", "exercises", "viz"):
        assert getattr(kl, name).__name__ == f"kubelearn.{name}"
    assert kl.etcd.Store and kl.viz.traffic_timeline and kl.api.StatusError
    assert kl.kubelet.behaviour.__name__ == "kubelearn.kubelet.behaviour"  # any module of it
    assert set(kl.__all__) <= set(dir(kl))
    from kubelearn import viz  # noqa: F401  (the from-import form works too)


def test_any_module_of_the_package_is_there_on_first_use():
    # help(kl.kubelet.behaviour) as the first thing in a fresh kernel, as lesson 05 suggests
    loaded = loaded_after("import kubelearn as kl\nprint(kl.kubelet.behaviour.__name__)")
    assert not set(loaded) & {"matplotlib", "pandas"}  # and it ran: check=True


def test_an_unknown_name_is_an_attribute_error():
    import kubelearn as kl

    with pytest.raises(AttributeError, match="has no attribute 'Clutser'"):
        kl.Clutser  # noqa: B018
