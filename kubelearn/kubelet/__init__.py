"""The kubelet: the node agent, on the virtual clock.

One concept a module:

- :mod:`~kubelearn.kubelet.kubelet` -- :class:`Kubelet`: registration, heartbeats, the pod watch;
- :mod:`~kubelearn.kubelet.config` -- :class:`KubeletConfig`, upstream's defaults;
- :mod:`~kubelearn.kubelet.lease` -- the node lease, renewed every 10 s;
- :mod:`~kubelearn.kubelet.nodestatus` -- capacity, allocatable, conditions, sent when changed;
- :mod:`~kubelearn.kubelet.admission` -- OutOfcpu, OutOfmemory, OutOfpods;
- :mod:`~kubelearn.kubelet.pods` -- a worker per pod: SyncPod, restarts, termination;
- :mod:`~kubelearn.kubelet.podstatus` -- phase, conditions, container states;
- :mod:`~kubelearn.kubelet.prober` -- startup, liveness and readiness probes;
- :mod:`~kubelearn.kubelet.backoff` -- CrashLoopBackOff and ImagePullBackOff delays;
- :mod:`~kubelearn.kubelet.dns` -- each pod's /etc/resolv.conf (dnsPolicy, dnsConfig, limits);
- :mod:`~kubelearn.kubelet.envvars` -- each container's environment (env, envFrom, service links);
- :mod:`~kubelearn.kubelet.runtime` -- the simulated container runtime (containerd);
- :mod:`~kubelearn.kubelet.images` -- registries and the catalogue of simulated images;
- :mod:`~kubelearn.kubelet.behaviour` -- how a container behaves: annotations, commands;
- :mod:`~kubelearn.kubelet.signals` -- the stop signal an image names, and what a signal does;
- :mod:`~kubelearn.kubelet.events` -- records and core/v1 Events.
"""

from kubelearn.kubelet.behaviour import ANNOTATION_PREFIX, Behaviour, behaviour_for
from kubelearn.kubelet.config import KubeletConfig
from kubelearn.kubelet.images import CATALOGUE, ImageSpec, parse_reference
from kubelearn.kubelet.kubelet import Kubelet
from kubelearn.kubelet.runtime import Runtime

__all__ = ["ANNOTATION_PREFIX", "Behaviour", "CATALOGUE", "ImageSpec", "Kubelet",
           "KubeletConfig", "Runtime", "behaviour_for", "parse_reference"]
