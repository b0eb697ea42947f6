"""Plots, tables and widgets for the lessons.

Each function takes what the model recorded (a store, a DataFrame of records)
and returns a matplotlib Figure, a DataFrame or a widget. Nothing here changes
the model, and the model never reads a widget.
"""

from kubelearn.viz import (
    apiserver,
    capstone,
    etcd,
    kubelet,
    nodes,
    raft,
    rollout,
    scheduler,
    traffic,
)
from kubelearn.viz.architecture import architecture
from kubelearn.viz.follow import follow
from kubelearn.viz.nodes import node_failure_timeline
from kubelearn.viz.raft import raft_timeline
from kubelearn.viz.rollout import rollout_timeline
from kubelearn.viz.traffic import traffic_timeline

__all__ = ["apiserver", "architecture", "capstone", "etcd", "follow", "kubelet",
           "node_failure_timeline", "nodes", "raft", "raft_timeline", "rollout", "rollout_timeline",
           "scheduler", "traffic", "traffic_timeline"]
