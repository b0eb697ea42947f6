"""KubeletConfiguration: the kubelet's knobs, with upstream's defaults and where they come from.

Upstream these are fields of ``kubelet.config.k8s.io/v1beta1``
``KubeletConfiguration``, defaulted in pkg/kubelet/apis/config/v1beta1/defaults.go;
the constants not exposed as settings live in pkg/kubelet/kubelet.go. One
frozen dataclass holds them here; pass your own to a
:class:`~kubelearn.kubelet.Kubelet` (or to ``kl.Cluster(kubelet=...)``) to
change one::

    >>> KubeletConfig().node_lease_renew_interval
    10.0
    >>> KubeletConfig(node_status_report_frequency=60).node_status_report_frequency
    60
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from kubelearn import version


@dataclass(frozen=True)
class KubeletConfig:
    """How a kubelet runs: heartbeats, back-off, image pulls, reserved resources."""

    # -- heartbeats (defaults.go) ---------------------------------------------------------------
    # nodeStatusUpdateFrequency: how often the kubelet computes its node status.
    node_status_update_frequency: float = 10.0
    # nodeStatusReportFrequency: a status that did not change is still posted this often (5m).
    node_status_report_frequency: float = 300.0
    # nodeLeaseDurationSeconds: the lease's spec.leaseDurationSeconds.
    node_lease_duration_seconds: int = 40
    # kubelet.go nodeLeaseRenewIntervalFraction: renew every 0.25 x 40 = 10 s.
    node_lease_renew_interval_fraction: float = 0.25
    # Upstream runs both loops under wait.JitterUntil with a 0.04 factor (10-10.4 s); 0 keeps
    # the lesson's staircase exact. Set 0.04 for upstream's spread (seeded, so still replayable).
    heartbeat_jitter: float = 0.0

    # -- pods (defaults.go, kubelet.go) ----------------------------------------------------------
    max_pods: int = 110  # maxPods
    # kubelet.go containerBackOffPeriod and MaxContainerBackOff (v1beta1.MaxContainerBackOff):
    # CrashLoopBackOff waits 10 s, doubling to 300 s; forgotten after 2 x 300 s without a crash.
    container_backoff_period: float = 10.0
    max_container_backoff: float = 300.0
    # kubelet.go imageBackOffPeriod and MaxImageBackOff: ImagePullBackOff, same shape.
    image_backoff_period: float = 10.0
    max_image_backoff: float = 300.0
    # kubelet.go backOffPeriod: a pod whose sync failed (back-off, pull error) is synced again
    # after this long. Upstream adds up to 50% jitter (workerBackOffPeriodJitterFactor).
    pod_sync_backoff_period: float = 10.0
    # serializeImagePulls: one image pull at a time per node.
    serialize_image_pulls: bool = True
    # nodeStatusMaxImages: how many images the node status lists (the biggest first).
    node_status_max_images: int = 50

    # -- DNS: each pod's /etc/resolv.conf (kubelearn.kubelet.dns) -------------------------------
    # clusterDNS and clusterDomain: upstream's defaults are empty; kubeadm sets the 10th address
    # of the service CIDR (GetDNSIP: 10.96.0.10) and networking.dnsDomain (cluster.local).
    cluster_dns: tuple[str, ...] = ("10.96.0.10",)
    cluster_domain: str = "cluster.local"
    # resolvConf: the node's resolver file that dnsPolicy Default pods inherit ("": none).
    resolv_conf: str = "/etc/resolv.conf"
    # What that file says on the simulated node: its docker network's gateway, as on a kind
    # node. Add a "search" line to see a cloud VM's domains appended to every pod's search.
    host_resolv_conf: str = "nameserver 172.18.0.1\n"

    # -- allocatable = capacity - kubeReserved - systemReserved - evictionHard -------------------
    # (pkg/kubelet/cm/node_container_manager_linux.go GetNodeAllocatableReservation.)
    # All zero here; a real kubelet's default evictionHard has memory.available<100Mi, so
    # real nodes show 100Mi less allocatable memory than capacity.
    kube_reserved: Mapping[str, str] = field(default_factory=dict)
    system_reserved: Mapping[str, str] = field(default_factory=dict)
    eviction_hard: Mapping[str, str] = field(default_factory=dict)  # e.g. {"memory": "100Mi"}

    # -- what the node says it runs (status.nodeInfo) ------------------------------------------
    kubelet_version: str = version.KUBERNETES_VERSION
    container_runtime_version: str = "containerd://1.7.24"
    os_image: str = "Ubuntu 24.04.1 LTS"
    kernel_version: str = "6.8.0-51-generic"

    # -- the simulation --------------------------------------------------------------------------
    # Seconds after start before the network plugin is ready: until then the node reports
    # Ready=False (KubeletNotReady, "cni plugin not initialized"), as a fresh kubeadm node does.
    network_ready_after: float = 0.0
    # Create core/v1 Event objects (kubectl get events, describe); records are kept regardless.
    events: bool = True
    # Record every lease renewal and node status computation (the heartbeat plots need them;
    # a 5,000-node benchmark may not).
    record_heartbeats: bool = True

    @property
    def node_lease_renew_interval(self) -> float:
        """Seconds between lease renewals: 0.25 x 40 = 10 (kubelet.go)."""
        return self.node_lease_duration_seconds * self.node_lease_renew_interval_fraction
