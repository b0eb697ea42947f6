"""kubelearn: learn how a Kubernetes cluster works by building one.

    >>> import kubelearn as kl
    >>> sim = kl.Simulation(seed=0)
    >>> store = kl.etcd.Store(sim)
"""

from kubelearn import api, compose, etcd, exercises, viz
from kubelearn.cluster import Cluster
from kubelearn.sim import Simulation

__all__ = ["Cluster", "Simulation", "api", "compose", "etcd", "exercises", "viz"]
__version__ = "0.1.0"
