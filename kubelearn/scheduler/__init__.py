"""kube-scheduler, small: the framework, its plugins and its configuration.

A pod is placed in two phases. *Filter*: each node either can run the pod or
cannot (not enough free CPU, an untolerated taint, a nodeSelector that does not
match). *Score*: every node that passed gets 0..100 from each score plugin; the
weighted sum ranks them and the best wins, ties broken at random.

- :mod:`~kubelearn.scheduler.nodeinfo` -- NodeInfo, PodInfo, Resource, Snapshot;
- :mod:`~kubelearn.scheduler.framework` -- Status, CycleState, the extension points,
  Profile, :func:`run_filters`, :func:`run_scores`, the FailedScheduling message;
- :mod:`~kubelearn.scheduler.plugins` -- one upstream plugin per module;
- :mod:`~kubelearn.scheduler.config` -- KubeSchedulerConfiguration YAML to Profiles;
- :mod:`~kubelearn.scheduler.queue` -- activeQ, backoffQ and unschedulablePods;
- :mod:`~kubelearn.scheduler.cache` -- NodeInfo per node, assumed pods, node order;
- :mod:`~kubelearn.scheduler.informer` -- list-then-watch, as every component does;
- :mod:`~kubelearn.scheduler.scheduler` -- :class:`Scheduler`: the scheduling loop,
  binding through ``pods/binding``, FailedScheduling events;
- :mod:`~kubelearn.scheduler.explain` -- one pod's verdicts and scores per node;
- :mod:`~kubelearn.scheduler.vectorized` -- the same cycle as numpy array operations.

The framework and plugins are pure code over plain Kubernetes dicts; the
:class:`Scheduler` is a client of the API server and nothing else.
"""

from kubelearn.scheduler.config import (
    ConfigError,
    SchedulerConfiguration,
    default_profile,
    load_scheduler_config,
    num_feasible_nodes_to_find,
)
from kubelearn.scheduler.framework import (
    MAX_NODE_SCORE,
    BindPlugin,
    Code,
    CycleState,
    FilterPlugin,
    FilterResult,
    FrameworkError,
    NodePluginScores,
    NodeScore,
    Plugin,
    PostFilterPlugin,
    PreFilterPlugin,
    PreFilterResult,
    PreScorePlugin,
    Profile,
    ReservePlugin,
    ScoreExtensions,
    ScorePlugin,
    Status,
    failed_scheduling_message,
    fit_error_message,
    run_filters,
    run_scores,
    select_host,
)
from kubelearn.scheduler.nodeinfo import NodeInfo, PodInfo, Resource, Snapshot
from kubelearn.scheduler.plugins import IN_TREE_PLUGINS, NOT_IMPLEMENTED
from kubelearn.scheduler.queue import SchedulingQueue, backoff_duration
from kubelearn.scheduler.scheduler import FitError, Scheduler

__all__ = [
    "MAX_NODE_SCORE", "Code", "Status", "CycleState", "Plugin", "PreFilterPlugin",
    "PreFilterResult", "FilterPlugin", "PostFilterPlugin", "PreScorePlugin", "ScorePlugin",
    "ScoreExtensions", "ReservePlugin", "BindPlugin", "Profile", "FilterResult",
    "FrameworkError", "NodeScore", "NodePluginScores", "run_filters", "run_scores",
    "select_host", "fit_error_message", "failed_scheduling_message", "NodeInfo", "PodInfo",
    "Resource", "Snapshot", "IN_TREE_PLUGINS", "NOT_IMPLEMENTED", "ConfigError",
    "SchedulerConfiguration", "load_scheduler_config", "default_profile",
    "num_feasible_nodes_to_find", "Scheduler", "SchedulingQueue", "FitError",
    "backoff_duration",
]
