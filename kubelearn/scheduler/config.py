"""KubeSchedulerConfiguration: the kube-scheduler's own config file, turned into Profiles.

The same YAML works with the real kube-scheduler (``--config``)::

    apiVersion: kubescheduler.config.k8s.io/v1
    kind: KubeSchedulerConfiguration
    profiles:
    - schedulerName: bin-packing
      plugins:
        score:
          disabled: [{name: NodeResourcesBalancedAllocation}]
      pluginConfig:
      - name: NodeResourcesFit
        args:
          scoringStrategy: {type: MostAllocated}

- :func:`load_scheduler_config` -- parse, default, validate and build the profiles,
  as kube-scheduler does at start-up (v1 defaults.go and default_plugins.go,
  validation.go, runtime.NewFramework); bad input raises :class:`ConfigError`
  in upstream's words;
- :func:`default_profile` -- the ``default-scheduler`` profile with upstream's default
  plugins and weights;
- :func:`num_feasible_nodes_to_find` -- how many feasible nodes a cycle looks for
  before it stops filtering (schedule_one.go).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from kubelearn.api import Path
from kubelearn.api.errors import FieldError, aggregate
from kubelearn.scheduler.framework import (
    DEFAULT_SCHEDULER_NAME,
    EXTENSION_POINTS,
    Plugin,
    Profile,
    extension_points_of,
)
from kubelearn.scheduler.plugins import IN_TREE_PLUGINS, NOT_IMPLEMENTED
from kubelearn.version import FEATURE_GATES

API_VERSION = "kubescheduler.config.k8s.io/v1"
KIND = "KubeSchedulerConfiguration"

DEFAULT_PERCENTAGE_OF_NODES_TO_SCORE = 0  # config.DefaultPercentageOfNodesToScore: adaptive
MIN_FEASIBLE_NODES_TO_FIND = 100  # schedule_one.go minFeasibleNodesToFind
MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5  # schedule_one.go minFeasibleNodesPercentageToFind
BASE_PERCENTAGE_OF_NODES_TO_SCORE = 50  # schedule_one.go: 50 - numAllNodes/125
ADAPTIVE_NODES_PER_PERCENT = 125  # ... one percentage point less per 125 nodes
DEFAULT_PARALLELISM = 16  # v1 defaults.go Parallelism
DEFAULT_POD_INITIAL_BACKOFF_SECONDS = 1  # v1 defaults.go PodInitialBackoffSeconds
DEFAULT_POD_MAX_BACKOFF_SECONDS = 10  # v1 defaults.go PodMaxBackoffSeconds

# apis/config/v1/default_plugins.go getDefaultPlugins: the MultiPoint set, in order, with
# the Score weights. applyFeatureGates adds DynamicResources before DefaultPreemption only
# with the DynamicResourceAllocation gate on: off in v1.32 (kubelearn.version.FEATURE_GATES).
DEFAULT_PLUGINS: tuple[tuple[str, int | None], ...] = tuple(p for p in (
    ("SchedulingGates", None),
    ("PrioritySort", None),
    ("NodeUnschedulable", None),
    ("NodeName", None),
    ("TaintToleration", 3),
    ("NodeAffinity", 2),
    ("NodePorts", None),
    ("NodeResourcesFit", 1),
    ("VolumeRestrictions", None),
    ("NodeVolumeLimits", None),
    ("VolumeBinding", None),
    ("VolumeZone", None),
    ("PodTopologySpread", 2),
    ("InterPodAffinity", 2),
    ("DynamicResources", None),
    ("DefaultPreemption", None),
    ("NodeResourcesBalancedAllocation", 1),
    ("ImageLocality", 1),
    ("DefaultBinder", None),
) if p[0] != "DynamicResources" or FEATURE_GATES["DynamicResourceAllocation"])

# Config fields of a profile's ``plugins``, in frameworkImpl.getExtensionPoints order.
ALL_EXTENSION_POINTS = ("preFilter", "filter", "postFilter", "reserve", "preScore", "score",
                        "preBind", "bind", "postBind", "permit", "preEnqueue", "queueSort")
_GO_NAMES = {"preFilter": "PreFilterPlugin", "filter": "FilterPlugin",
             "postFilter": "PostFilterPlugin", "reserve": "ReservePlugin",
             "preScore": "PreScorePlugin", "score": "ScorePlugin", "preBind": "PreBindPlugin",
             "bind": "BindPlugin", "postBind": "PostBindPlugin", "permit": "PermitPlugin",
             "preEnqueue": "PreEnqueuePlugin", "queueSort": "QueueSortPlugin"}

# validation.go invalidPluginsByVersion: plugins removed before v1
INVALID_PLUGINS_V1 = ("AzureDiskLimits", "CinderLimits", "EBSLimits", "GCEPDLimits")

Registry = Mapping[str, Callable[..., Plugin]]


class ConfigError(ValueError):
    """A KubeSchedulerConfiguration that kube-scheduler would refuse."""


def num_feasible_nodes_to_find(num_all_nodes: int, percentage: int | None = None) -> int:
    """How many feasible nodes to find before scoring (numFeasibleNodesToFind).

    All nodes below 100. Otherwise ``percentage`` of them (0 or None: adaptive,
    ``50 - n/125`` but at least 5%), and never fewer than 100.
    """
    if num_all_nodes < MIN_FEASIBLE_NODES_TO_FIND:
        return num_all_nodes
    percentage = percentage or 0
    if percentage == 0:
        percentage = BASE_PERCENTAGE_OF_NODES_TO_SCORE - num_all_nodes // ADAPTIVE_NODES_PER_PERCENT
        percentage = max(percentage, MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND)
    num_nodes = num_all_nodes * percentage // 100
    return max(num_nodes, MIN_FEASIBLE_NODES_TO_FIND)


@dataclass
class SchedulerConfiguration:
    """A loaded KubeSchedulerConfiguration: its profiles by scheduler name, and globals."""

    profiles: dict[str, Profile]
    percentage_of_nodes_to_score: int = DEFAULT_PERCENTAGE_OF_NODES_TO_SCORE
    parallelism: int = DEFAULT_PARALLELISM
    pod_initial_backoff_seconds: int = DEFAULT_POD_INITIAL_BACKOFF_SECONDS
    pod_max_backoff_seconds: int = DEFAULT_POD_MAX_BACKOFF_SECONDS

    def profile_for(self, pod: Mapping[str, Any]) -> Profile | None:
        """The profile named by ``spec.schedulerName``; None if no profile handles the pod."""
        spec = pod.get("spec") or {}
        return self.profiles.get(spec.get("schedulerName") or DEFAULT_SCHEDULER_NAME)

    def percentage_for(self, profile: Profile) -> int:
        """The profile's percentageOfNodesToScore if set, else the global one."""
        if profile.percentage_of_nodes_to_score is not None:
            return profile.percentage_of_nodes_to_score
        return self.percentage_of_nodes_to_score


# -- decoding --------------------------------------------------------------------------------------

_PLUGIN = {"name": None, "weight": None}
_PLUGIN_SET = {"enabled": [_PLUGIN], "disabled": [_PLUGIN]}
_RESOURCE = {"name": None, "weight": None}
_TYPE_META = {"apiVersion": None, "kind": None}
# The fields kube-scheduler's strict decoder knows; ``None`` marks a leaf, ``...`` any value.
_ARGS_SCHEMAS: dict[str, dict[str, Any]] = {
    "NodeResourcesFit": {**_TYPE_META, "ignoredResources": None, "ignoredResourceGroups": None,
                         "scoringStrategy": {"type": None, "resources": [_RESOURCE],
                                             "requestedToCapacityRatio": {"shape": [
                                                 {"utilization": None, "score": None}]}}},
    "PodTopologySpread": {**_TYPE_META, "defaultConstraints": ..., "defaultingType": None},
    "NodeAffinity": {**_TYPE_META, "addedAffinity": ...},
    "NodeResourcesBalancedAllocation": {**_TYPE_META, "resources": [_RESOURCE]},
}
_PROFILE = {"schedulerName": None, "percentageOfNodesToScore": None,
            "plugins": {**{p: _PLUGIN_SET for p in ALL_EXTENSION_POINTS},
                        "multiPoint": _PLUGIN_SET},
            "pluginConfig": [{"name": None, "args": ...}]}
_TOP = {**_TYPE_META, "parallelism": None, "leaderElection": ..., "clientConnection": ...,
        "healthzBindAddress": None, "metricsBindAddress": None, "enableProfiling": None,
        "enableContentionProfiling": None, "percentageOfNodesToScore": None,
        "podInitialBackoffSeconds": None, "podMaxBackoffSeconds": None,
        "profiles": [_PROFILE], "extenders": ..., "delayCacheUntilActive": None}


def _unknown_fields(value: Any, schema: Any, path: str) -> list[str]:
    """The paths of fields the schema does not know, as the strict decoder names them."""
    if schema is None or schema is ... or value is None:
        return []
    if isinstance(schema, list):
        if not isinstance(value, list):
            return []
        return [u for i, v in enumerate(value) for u in _unknown_fields(v, schema[0],
                                                                        f"{path}[{i}]")]
    if not isinstance(value, Mapping):
        return []
    out = []
    for key, v in value.items():
        sub = f"{path}.{key}" if path else str(key)
        if key not in schema:
            out.append(sub)
        else:
            out.extend(_unknown_fields(v, schema[key], sub))
    return out


def _strict_check(doc: Mapping[str, Any]) -> None:
    unknown = _unknown_fields(doc, _TOP, "")
    for i, profile in enumerate(doc.get("profiles") or []):
        for j, pc in enumerate((profile or {}).get("pluginConfig") or []):
            schema = _ARGS_SCHEMAS.get((pc or {}).get("name"))
            if schema is not None:
                unknown += _unknown_fields((pc or {}).get("args"), schema,
                                           f"profiles[{i}].pluginConfig[{j}].args")
    if unknown:
        raise ConfigError("strict decoding error: " +
                          ", ".join(f'unknown field "{u}"' for u in unknown))


def _int(value: Any, where: str, go_type: str = "int32") -> int | None:
    """An integer field, or json's error for a value of another type."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        kind = {str: "string", bool: "bool", float: "number", list: "array",
                dict: "object"}.get(type(value), "value")
        raise ConfigError(f"json: cannot unmarshal {kind} into Go struct field {where} "
                          f"of type {go_type}")
    return value


def _load_document(config: str | Mapping[str, Any] | None) -> dict[str, Any]:
    if config is None:
        return {"apiVersion": API_VERSION, "kind": KIND}
    if isinstance(config, str):
        try:
            doc = yaml.safe_load(config)
        except yaml.YAMLError as e:
            raise ConfigError(f"couldn't decode as KubeSchedulerConfiguration: {e}") from e
    else:
        doc = config
    if not isinstance(doc, Mapping):
        raise ConfigError("couldn't decode as KubeSchedulerConfiguration: not a mapping")
    doc = dict(doc)
    if doc.get("kind") != KIND or doc.get("apiVersion") != API_VERSION:
        raise ConfigError(f'no kind "{doc.get("kind") or ""}" is registered for version '
                          f'"{doc.get("apiVersion") or ""}" (kube-scheduler reads '
                          f'apiVersion {API_VERSION}, kind {KIND})')
    _strict_check(doc)
    return doc


# -- plugin sets -----------------------------------------------------------------------------------

@dataclass
class PluginSet:
    """One extension point's ``enabled`` (name, weight) and ``disabled`` names."""

    enabled: list[tuple[str, int]] = field(default_factory=list)
    disabled: list[str] = field(default_factory=list)

    @classmethod
    def from_dict(cls, value: Mapping[str, Any] | None, where: str) -> PluginSet:
        """Read ``{enabled: [{name, weight}], disabled: [{name}]}``."""
        value = value or {}
        enabled = [(str(p.get("name") or ""),
                    _int(p.get("weight"), f"Plugin.{where}.enabled.weight") or 0)
                   for p in value.get("enabled") or []]
        disabled = [str(p.get("name") or "") for p in value.get("disabled") or []]
        return cls(enabled, disabled)


def merge_plugin_set(default: PluginSet, custom: PluginSet) -> PluginSet:
    """Custom settings over the defaults, ``*`` disabling them all (mergePluginSet).

    A default plugin re-enabled by the custom set keeps its place with the new weight;
    other custom plugins are appended.
    """
    disabled = list(custom.disabled) + list(default.disabled)
    custom_index = {name: i for i, (name, _) in enumerate(custom.enabled)}
    replaced: set[int] = set()
    enabled: list[tuple[str, int]] = []
    if "*" not in disabled:
        for name, weight in default.enabled:
            if name in disabled:
                continue
            if name in custom_index:
                replaced.add(custom_index[name])
                name, weight = custom.enabled[custom_index[name]]
            enabled.append((name, weight))
    enabled += [p for i, p in enumerate(custom.enabled) if i not in replaced]
    return PluginSet(enabled, disabled)


def _default_plugins() -> dict[str, PluginSet]:
    sets = {p: PluginSet() for p in ALL_EXTENSION_POINTS}
    sets["multiPoint"] = PluginSet([(name, weight or 0) for name, weight in DEFAULT_PLUGINS])
    return sets


# -- building profiles -----------------------------------------------------------------------------

def _points_of(name: str, registry: Registry) -> frozenset[str]:
    """The extension points a plugin implements, by name."""
    if name in registry:
        cls = registry[name]
        if isinstance(cls, type):
            return frozenset(p for p, base in EXTENSION_POINTS.items() if issubclass(cls, base))
        return frozenset(extension_points_of(cls()))
    return NOT_IMPLEMENTED.get(name, frozenset())


def _known(name: str, registry: Registry) -> bool:
    return name in registry or name in NOT_IMPLEMENTED


def expand_plugins(plugins: Mapping[str, PluginSet], registry: Registry
                   ) -> tuple[dict[str, list[str]], dict[str, int]]:
    """Per extension point, the plugin names that run there, and the Score weights.

    The explicitly enabled plugins of each point, then the MultiPoint ones that
    implement it (updatePluginList, expandMultiPointPlugins, getScoreWeights).
    Raises ValueError in upstream's words.
    """
    multi = plugins["multiPoint"]
    out: dict[str, list[str]] = {}
    for point in ALL_EXTENSION_POINTS:
        go_name = _GO_NAMES[point]
        ps = plugins[point]
        enabled: list[str] = []
        for name, _ in ps.enabled:
            if not _known(name, registry):
                raise ValueError(f'{go_name} "{name}" does not exist')
            if point not in _points_of(name, registry):
                raise ValueError(f'plugin "{name}" does not extend {go_name} plugin')
            if name in enabled:
                raise ValueError(f'plugin "{name}" already registered as "{go_name}"')
            enabled.append(name)
        if "*" in ps.disabled:
            out[point] = enabled
            continue
        overrides: list[str] = []
        from_multi: list[str] = []
        for name, _ in multi.enabled:
            if not _known(name, registry):
                raise ValueError(f'{go_name} "{name}" does not exist')
            if point not in _points_of(name, registry) or name in ps.disabled:
                continue
            if name in enabled:  # explicitly re-configured at this point: that wins
                overrides.append(name)
                continue
            if name in from_multi:
                raise ValueError(f'plugin "{name}" already registered as "{go_name}"')
            from_multi.append(name)
        out[point] = ([n for n in enabled if n in overrides] + from_multi
                      + [n for n in enabled if n not in overrides])
    weights: dict[str, int] = {}
    for name, weight in list(plugins["score"].enabled) + list(multi.enabled):
        if "score" in _points_of(name, registry) and name not in weights:
            weights[name] = weight or 1  # a weight of 0 means 1
    return out, weights


def _parse_args(name: str, raw: Any, registry: Registry) -> Any:
    cls = registry.get(name)
    args_type = getattr(cls, "args_type", None)
    if args_type is None:
        return raw
    if isinstance(raw, Mapping):
        raw = {k: v for k, v in raw.items() if k not in ("apiVersion", "kind")}
    return args_type.from_dict(raw)


def _build_profile(name: str, percentage: int | None, plugins: Mapping[str, PluginSet],
                   plugin_args: Mapping[str, Any], registry: Registry) -> Profile:
    """Instantiate the plugins and place them (runtime.NewFramework)."""
    points, weights = expand_plugins(plugins, registry)
    needed = {n for names in points.values() for n in names}
    instances: dict[str, Plugin] = {}
    for plugin_name in sorted(needed):
        if plugin_name not in registry:
            continue
        try:
            args = plugin_args.get(plugin_name)
            factory = registry[plugin_name]
            instances[plugin_name] = factory(args) if args is not None else factory()
        except ValueError as e:
            raise ValueError(f'initializing plugin "{plugin_name}": {e}') from e
    if len(points["queueSort"]) != 1:
        raise ValueError(f'only one queue sort plugin required for profile with scheduler name '
                         f'"{name}", but got {len(points["queueSort"])}')
    if not points["bind"]:
        raise ValueError(f'at least one bind plugin is needed for profile with scheduler name '
                         f'"{name}"')
    by_point = {p: [instances[n] for n in points[p] if n in instances] for p in EXTENSION_POINTS}
    not_implemented = [n for n in dict.fromkeys(n for names in points.values() for n in names)
                       if n not in registry]
    return Profile(name, plugins=by_point,
                   score_weights={n: w for n, w in weights.items() if n in instances},
                   percentage_of_nodes_to_score=percentage, not_implemented=not_implemented)


# -- validation ------------------------------------------------------------------------------------

def _validate_percentage(path: Path, value: int | None) -> list[FieldError]:
    if value is not None and not 0 <= value <= 100:
        return [FieldError.invalid(path, value, "not in valid range [0-100]")]
    return []


def _validate_profile(i: int, profile: Mapping[str, Any], plugins: Mapping[str, PluginSet],
                      plugin_args: Mapping[str, Any]) -> list[Any]:
    path = Path("profiles").index(i)
    errs: list[Any] = []
    if not profile.get("schedulerName"):
        errs.append(FieldError.required(path.child("schedulerName"), ""))
    errs += _validate_percentage(path.child("percentageOfNodesToScore"),
                                 profile.get("percentageOfNodesToScore"))
    for point in ALL_EXTENSION_POINTS + ("multiPoint",):
        for j, (name, _) in enumerate(plugins[point].enabled):
            if name in INVALID_PLUGINS_V1:
                errs.append(FieldError.invalid(
                    path.child("plugins", point, "enabled").index(j), name,
                    f'was invalid in version "{API_VERSION}" (KubeSchedulerConfiguration is '
                    f'version "{API_VERSION}")'))
    seen: set[str] = set()
    for j, pc in enumerate(profile.get("pluginConfig") or []):
        pc_path = path.child("pluginConfig").index(j)
        name = (pc or {}).get("name") or ""
        if name in seen:
            errs.append(FieldError.duplicate(pc_path, name))
        seen.add(name)
        # Upstream validates these args here; NodeResourcesFit's are checked when the
        # plugin is built (validation.go keys them as "NodeResourcesFitArgs").
        if name in ("PodTopologySpread", "NodeAffinity", "NodeResourcesBalancedAllocation"):
            args = plugin_args.get(name)
            if args is not None:
                errs += args.validate(pc_path.child("args"))
    return errs


# -- the entry points ------------------------------------------------------------------------------

def load_scheduler_config(config: str | Mapping[str, Any] | None = None,
                          registry: Registry | None = None) -> SchedulerConfiguration:
    """Parse, default, validate and build a KubeSchedulerConfiguration.

    ``config`` is YAML text or a dict; None gives the defaults. ``registry`` adds
    plugins by name -- a learner's plugin class can then be enabled in the YAML.
    """
    registry = {**IN_TREE_PLUGINS, **(registry or {})}
    doc = _load_document(config)
    profiles_raw = list(doc.get("profiles") or [])
    if not profiles_raw:
        profiles_raw = [{}]
    if len(profiles_raw) == 1 and profiles_raw[0].get("schedulerName") is None:
        profiles_raw[0] = {**profiles_raw[0], "schedulerName": DEFAULT_SCHEDULER_NAME}
    percentage = _int(doc.get("percentageOfNodesToScore"),
                      "KubeSchedulerConfiguration.percentageOfNodesToScore")
    parallelism = _int(doc.get("parallelism"), "KubeSchedulerConfiguration.parallelism")
    initial_backoff = _int(doc.get("podInitialBackoffSeconds"),
                           "KubeSchedulerConfiguration.podInitialBackoffSeconds", "int64")
    max_backoff = _int(doc.get("podMaxBackoffSeconds"),
                       "KubeSchedulerConfiguration.podMaxBackoffSeconds", "int64")
    cfg = SchedulerConfiguration(
        {}, DEFAULT_PERCENTAGE_OF_NODES_TO_SCORE if percentage is None else percentage,
        DEFAULT_PARALLELISM if parallelism is None else parallelism,
        DEFAULT_POD_INITIAL_BACKOFF_SECONDS if initial_backoff is None else initial_backoff,
        DEFAULT_POD_MAX_BACKOFF_SECONDS if max_backoff is None else max_backoff)

    errs: list[Any] = []
    if cfg.parallelism <= 0:
        errs.append(FieldError.invalid("parallelism", cfg.parallelism,
                                       "should be an integer value greater than zero"))
    prepared = []
    names: dict[str, int] = {}
    for i, raw in enumerate(profiles_raw):
        raw = dict(raw or {})
        raw["percentageOfNodesToScore"] = _int(
            raw.get("percentageOfNodesToScore"),
            "KubeSchedulerProfile.profiles.percentageOfNodesToScore")
        custom = raw.get("plugins") or {}
        plugins = _default_plugins()
        for point in ALL_EXTENSION_POINTS + ("multiPoint",):
            plugins[point] = merge_plugin_set(
                plugins[point], PluginSet.from_dict(custom.get(point), f"profiles.plugins.{point}"))
        plugin_args = {}
        for pc in raw.get("pluginConfig") or []:
            plugin_args[(pc or {}).get("name") or ""] = _parse_args((pc or {}).get("name") or "",
                                                                    (pc or {}).get("args"),
                                                                    registry)
        errs += _validate_profile(i, raw, plugins, plugin_args)
        name = raw.get("schedulerName") or ""
        if name in names:
            errs.append(FieldError.duplicate(
                Path("profiles").index(i).child("schedulerName"),
                str(Path("profiles").index(names[name]).child("schedulerName"))))
        names.setdefault(name, i)
        prepared.append((name, raw.get("percentageOfNodesToScore"), plugins, plugin_args))
    errs += _validate_percentage(Path("percentageOfNodesToScore"), percentage)
    if cfg.pod_initial_backoff_seconds <= 0:
        errs.append(FieldError.invalid("podInitialBackoffSeconds",
                                       cfg.pod_initial_backoff_seconds, "must be greater than 0"))
    if cfg.pod_max_backoff_seconds < cfg.pod_initial_backoff_seconds:
        errs.append(FieldError.invalid(
            "podMaxBackoffSeconds", cfg.pod_max_backoff_seconds,
            "must be greater than or equal to PodInitialBackoffSeconds"))
    if errs:
        raise ConfigError(aggregate(errs))

    for name, pct, plugins, plugin_args in prepared:
        try:
            cfg.profiles[name] = _build_profile(name, pct, plugins, plugin_args, registry)
        except ValueError as e:
            raise ConfigError(f"initializing profiles: creating profile for scheduler name "
                              f"{name}: {e}") from e
    return cfg


def default_profile(registry: Registry | None = None) -> Profile:
    """The ``default-scheduler`` profile: upstream's default plugins and weights."""
    return load_scheduler_config(None, registry).profiles[DEFAULT_SCHEDULER_NAME]


def score_weights(profile: Profile) -> dict[str, int]:
    """The Score plugins of a profile and their weights, in run order."""
    return {pl.name: profile.score_weights[pl.name] for pl in profile.score_plugins}


__all__: Sequence[str] = (
    "API_VERSION", "KIND", "DEFAULT_PLUGINS", "ConfigError", "SchedulerConfiguration",
    "PluginSet", "load_scheduler_config", "default_profile", "num_feasible_nodes_to_find",
    "merge_plugin_set", "expand_plugins", "score_weights",
)
