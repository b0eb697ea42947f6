"""kubelearn: learn how a Kubernetes cluster works by building one.

    >>> import kubelearn as kl
    >>> sim = kl.Simulation(seed=0)
    >>> store = kl.etcd.Store(sim)

``import kubelearn`` loads only the virtual clock (:mod:`kubelearn.sim`). The
rest -- :class:`Cluster` and the engine behind it, :mod:`~kubelearn.api`,
:mod:`~kubelearn.etcd`, :mod:`~kubelearn.compose`, :mod:`~kubelearn.exercises`,
:mod:`~kubelearn.viz` with pandas and matplotlib -- is imported the first time
it is used (``kl.Cluster(...)``, ``kl.viz....``), through the module-level
``__getattr__`` below (PEP 562), so a lesson's first cell does not wait for
what it never touches. Any other module of the package is found the same way
(``kl.kubelet.behaviour``, ``kl.scheduler``), as when everything was imported
at once.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING, Any

from kubelearn.sim import Simulation

if TYPE_CHECKING:  # pragma: no cover
    from kubelearn import api, compose, etcd, exercises, viz
    from kubelearn.cluster import Cluster

__all__ = ["Cluster", "Simulation", "api", "compose", "etcd", "exercises", "viz"]
__version__ = "0.1.0"

# The classes imported on first use, and the module each comes from.
_CLASSES = {"Cluster": "kubelearn.cluster"}


def __getattr__(name: str) -> Any:
    """Import ``kl.Cluster``, ``kl.viz``... the first time a learner reaches for them."""
    if name in _CLASSES:
        value = getattr(importlib.import_module(_CLASSES[name]), name)
        globals()[name] = value  # the next lookup is an ordinary attribute
        return value
    if not name.startswith("_") and importlib.util.find_spec(f"{__name__}.{name}"):
        return importlib.import_module(f"{__name__}.{name}")  # binds kubelearn.<name> too
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
