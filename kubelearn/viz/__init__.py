"""Plots, tables and widgets for the lessons.

Each function takes what the model recorded (a store, a DataFrame of records)
and returns a matplotlib Figure, a DataFrame or a widget. Nothing here changes
the model, and the model never reads a widget.
"""

from kubelearn.viz import apiserver, etcd, kubelet, scheduler

__all__ = ["apiserver", "etcd", "kubelet", "scheduler"]
