"""KubeSchedulerConfiguration: the default profile, custom profiles, errors, nodes to score.

Ported: schedule_one_test.go TestNumFeasibleNodesToFind (6 cases). The rest checks
the v1 defaulting, merging and validation rules against upstream's behaviour.
"""

import pytest
from scheduler_testing import make_node, make_pod

from kubelearn.scheduler import (
    ConfigError,
    FilterPlugin,
    Snapshot,
    Status,
    default_profile,
    load_scheduler_config,
    num_feasible_nodes_to_find,
    run_filters,
)
from kubelearn.scheduler.config import score_weights
from kubelearn.scheduler.framework import Code
from kubelearn.scheduler.plugins.node_resources_fit import MOST_ALLOCATED

HEADER = "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n"


def load(body="", registry=None):
    return load_scheduler_config(HEADER + body, registry)


def test_default_profile_weights_and_order():
    profile = default_profile()
    assert profile.scheduler_name == "default-scheduler"
    assert score_weights(profile) == {
        "TaintToleration": 3, "NodeAffinity": 2, "NodeResourcesFit": 1, "PodTopologySpread": 2,
        "InterPodAffinity": 2, "NodeResourcesBalancedAllocation": 1, "ImageLocality": 1}
    assert [p.name for p in profile.filter_plugins] == [
        "NodeUnschedulable", "NodeName", "TaintToleration", "NodeAffinity", "NodePorts",
        "NodeResourcesFit", "PodTopologySpread", "InterPodAffinity"]
    assert "InterPodAffinity" not in profile.not_implemented
    assert "VolumeBinding" in profile.not_implemented
    fit = profile.plugin("NodeResourcesFit")
    assert fit.strategy.type == "LeastAllocated"
    assert [(r.name, r.weight) for r in fit.resources] == [("cpu", 1), ("memory", 1)]


def test_empty_config_is_the_default():
    cfg = load()
    assert list(cfg.profiles) == ["default-scheduler"]
    assert (cfg.percentage_of_nodes_to_score, cfg.parallelism, cfg.pod_initial_backoff_seconds,
            cfg.pod_max_backoff_seconds) == (0, 16, 1, 10)


BIN_PACKING = """
percentageOfNodesToScore: 30
profiles:
- schedulerName: default-scheduler
- schedulerName: bin-packing
  percentageOfNodesToScore: 80
  plugins:
    score:
      disabled:
      - name: NodeResourcesBalancedAllocation
      enabled:
      - name: NodeResourcesFit
        weight: 5
  pluginConfig:
  - name: NodeResourcesFit
    args:
      scoringStrategy:
        type: MostAllocated
        resources:
        - name: cpu
          weight: 1
        - name: memory
          weight: 3
"""


def test_custom_profile():
    cfg = load(BIN_PACKING)
    assert list(cfg.profiles) == ["default-scheduler", "bin-packing"]
    packing = cfg.profiles["bin-packing"]
    # an explicitly enabled plugin comes first and keeps its weight
    assert score_weights(packing) == {"NodeResourcesFit": 5, "TaintToleration": 3,
                                      "NodeAffinity": 2, "PodTopologySpread": 2,
                                      "InterPodAffinity": 2, "ImageLocality": 1}
    fit = packing.plugin("NodeResourcesFit")
    assert fit.strategy.type == MOST_ALLOCATED
    assert [(r.name, r.weight) for r in fit.resources] == [("cpu", 1), ("memory", 3)]
    assert cfg.percentage_for(packing) == 80
    assert cfg.percentage_for(cfg.profiles["default-scheduler"]) == 30
    pod = make_pod(schedulerName="bin-packing")
    assert cfg.profile_for(pod) is packing
    assert cfg.profile_for(make_pod()) is cfg.profiles["default-scheduler"]
    assert cfg.profile_for(make_pod(schedulerName="other")) is None


def test_requested_to_capacity_ratio_and_other_args():
    cfg = load("""
profiles:
- pluginConfig:
  - name: NodeResourcesFit
    args:
      scoringStrategy:
        type: RequestedToCapacityRatio
        resources: [{name: cpu}, {name: memory}]
        requestedToCapacityRatio:
          shape: [{utilization: 0, score: 0}, {utilization: 100, score: 10}]
  - name: PodTopologySpread
    args:
      defaultingType: List
      defaultConstraints:
      - {maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: DoNotSchedule}
  - name: NodeAffinity
    args:
      addedAffinity:
        requiredDuringSchedulingIgnoredDuringExecution:
          nodeSelectorTerms:
          - matchExpressions: [{key: pool, operator: In, values: [general]}]
""")
    profile = cfg.profiles["default-scheduler"]
    fit = profile.plugin("NodeResourcesFit")
    assert (fit.strategy.type, fit.strategy.shape) == ("RequestedToCapacityRatio",
                                                       [(0, 0), (100, 10)])
    assert [r.weight for r in fit.resources] == [1, 1]  # a missing weight defaults to 1
    spread = profile.plugin("PodTopologySpread")
    assert not spread.system_defaulted and spread.default_constraints[0]["maxSkew"] == 1
    nodes = [make_node("a", {"pods": "10"}, labels={"pool": "general"}),
             make_node("b", {"pods": "10"}, labels={"pool": "gpu"})]
    result = run_filters(profile, make_pod(), Snapshot.build(nodes))
    assert [n.name for n in result.feasible] == ["a"]
    assert result.fit_error_message() == (
        "0/2 nodes are available: 1 node(s) didn't match scheduler-enforced node affinity.")


def test_disable_all_score_plugins_and_multipoint():
    cfg = load("""
profiles:
- plugins:
    score:
      disabled: [{name: "*"}]
""")
    assert cfg.profiles["default-scheduler"].score_plugins == []
    cfg = load("""
profiles:
- plugins:
    multiPoint:
      enabled: [{name: PrioritySort}, {name: DefaultBinder}, {name: NodeName}]
      disabled: [{name: "*"}]
""")
    profile = cfg.profiles["default-scheduler"]
    assert [p.name for p in profile.filter_plugins] == ["NodeName"]
    assert profile.score_plugins == []


class NoMondays(FilterPlugin):
    name = "NoMondays"

    def filter(self, state, pod, node_info):
        if node_info.labels.get("day") == "monday":
            return Status(Code.Unschedulable, "node(s) were having a Monday")
        return None


def test_a_learner_plugin_enabled_in_yaml():
    cfg = load("""
profiles:
- plugins:
    filter:
      enabled: [{name: NoMondays}]
""", registry={"NoMondays": NoMondays})
    profile = cfg.profiles["default-scheduler"]
    # custom plugins run after the default MultiPoint ones (expandMultiPointPlugins)
    assert profile.filter_plugins[-1].name == "NoMondays"


@pytest.mark.parametrize("body,message", [
    ("profiles:\n- plugins:\n    scroe:\n      enabled: [{name: NodeName}]\n",
     'strict decoding error: unknown field "profiles[0].plugins.scroe"'),
    ("profiles:\n- pluginConfig:\n  - name: NodeResourcesFit\n    args:\n"
     "      scoringStrategy: {type: MostAllocated, weight: 2}\n",
     'strict decoding error: unknown field '
     '"profiles[0].pluginConfig[0].args.scoringStrategy.weight"'),
    ("profiles:\n- plugins:\n    score:\n      enabled: [{name: Foo}]\n",
     'initializing profiles: creating profile for scheduler name default-scheduler: '
     'ScorePlugin "Foo" does not exist'),
    ("profiles:\n- plugins:\n    score:\n      enabled: [{name: NodeName}]\n",
     'initializing profiles: creating profile for scheduler name default-scheduler: '
     'plugin "NodeName" does not extend ScorePlugin plugin'),
    ("profiles:\n- plugins:\n    filter:\n      enabled: [{name: NodeName}, {name: NodeName}]\n",
     'initializing profiles: creating profile for scheduler name default-scheduler: '
     'plugin "NodeName" already registered as "FilterPlugin"'),
    ("profiles:\n- plugins:\n    multiPoint:\n      disabled: [{name: PrioritySort}]\n",
     'initializing profiles: creating profile for scheduler name default-scheduler: only one '
     'queue sort plugin required for profile with scheduler name "default-scheduler", '
     'but got 0'),
    ("profiles:\n- pluginConfig:\n  - name: NodeResourcesFit\n    args:\n"
     "      scoringStrategy:\n        resources: [{name: cpu, weight: 101}]\n"
     "        type: LeastAllocated\n",
     'initializing profiles: creating profile for scheduler name default-scheduler: '
     'initializing plugin "NodeResourcesFit": scoringStrategy.resources[0].weight: Invalid '
     'value: 101: resource weight of cpu not in valid range (0, 100]'),
    ("profiles:\n- pluginConfig:\n  - name: NodeResourcesFit\n    args:\n"
     "      scoringStrategy: {type: Spread}\n",
     'initializing profiles: creating profile for scheduler name default-scheduler: '
     'initializing plugin "NodeResourcesFit": scoringStrategy.type: Unsupported value: '
     '"Spread": supported values: "LeastAllocated", "MostAllocated", '
     '"RequestedToCapacityRatio"'),
    ("profiles:\n- pluginConfig:\n  - name: PodTopologySpread\n    args:\n"
     "      defaultingType: List\n      defaultConstraints:\n"
     "      - {maxSkew: 0, topologyKey: zone, whenUnsatisfiable: DoNotSchedule}\n",
     "profiles[0].pluginConfig[0].args.defaultConstraints[0].maxSkew: Invalid value: 0: "
     "not in valid range (0, inf)"),
    ("percentageOfNodesToScore: 120\n",
     "percentageOfNodesToScore: Invalid value: 120: not in valid range [0-100]"),
    ("profiles:\n- schedulerName: a\n- schedulerName: a\n",
     'profiles[1].schedulerName: Duplicate value: "profiles[0].schedulerName"'),
    ("profiles:\n- schedulerName: a\n- percentageOfNodesToScore: -1\n",
     "[profiles[1].schedulerName: Required value, profiles[1].percentageOfNodesToScore: "
     "Invalid value: -1: not in valid range [0-100]]"),
    ("profiles:\n- plugins:\n    filter:\n      enabled: [{name: EBSLimits}]\n",
     'profiles[0].plugins.filter.enabled[0]: Invalid value: "EBSLimits": was invalid in '
     'version "kubescheduler.config.k8s.io/v1" (KubeSchedulerConfiguration is version '
     '"kubescheduler.config.k8s.io/v1")'),
    ("profiles:\n- plugins:\n    score:\n      enabled: [{name: ImageLocality, weight: three}]\n",
     "json: cannot unmarshal string into Go struct field "
     "Plugin.profiles.plugins.score.enabled.weight of type int32"),
    ("podInitialBackoffSeconds: 20\n",
     "podMaxBackoffSeconds: Invalid value: 10: must be greater than or equal to "
     "PodInitialBackoffSeconds"),
])
def test_bad_configuration(body, message):
    with pytest.raises(ConfigError) as e:
        load(body)
    assert str(e.value) == message


def test_wrong_api_version():
    with pytest.raises(ConfigError, match='no kind "KubeSchedulerConfiguration" is registered '
                                          'for version "kubescheduler.config.k8s.io/v1beta3"'):
        load_scheduler_config("apiVersion: kubescheduler.config.k8s.io/v1beta3\n"
                              "kind: KubeSchedulerConfiguration\n")


@pytest.mark.parametrize("percentage,num_all,want", [
    (0, 10, 10),  # not set percentageOfNodesToScore and nodes number not more than 50
    (40, 10, 10),  # set percentageOfNodesToScore and nodes number not more than 50
    (0, 1000, 420),  # not set percentageOfNodesToScore and nodes number more than 50
    (40, 1000, 400),  # set percentageOfNodesToScore and nodes number more than 50
    (0, 6000, 300),  # not set percentageOfNodesToScore and nodes number more than 50*125
    (40, 6000, 2400),  # set percentageOfNodesToScore and nodes number more than 50*125
    (None, 5000, 500),  # 50 - 5000/125 = 10%
    (100, 5000, 5000),
    (1, 5000, 100),  # never fewer than 100
])
def test_num_feasible_nodes_to_find(percentage, num_all, want):
    assert num_feasible_nodes_to_find(num_all, percentage) == want
