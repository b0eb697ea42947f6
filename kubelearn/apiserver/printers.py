"""Server-side printing: the ``Table`` kubectl asks for, with kubectl's columns and cells.

``kubectl get pods`` does not format pods itself: it asks the API server for a
``meta.k8s.io/v1`` ``Table`` (``Accept: application/json;as=Table;v=v1;g=meta.k8s.io``)
and prints the cells it gets. The columns and the cell values here are
upstream's pkg/printers/internalversion/printers.go, function for function;
resources without a printer get the API server's default two columns, ``Name``
and ``Created At`` (pkg/registry/rest/table.go).

- :func:`table` -- the Table of a list of objects at a given time;
- :func:`frame` -- a Table as the pandas DataFrame kubectl would print
  (priority-0 columns, the wide ones too with ``wide=True``);
- :func:`human_duration`, :func:`short_human_duration` -- ages as kubectl
  prints them (k8s.io/apimachinery/pkg/util/duration): ``5s``, ``3m20s``, ``2d``;
- :func:`pod_status`, :func:`pod_ready`, :func:`pod_restarts` -- the READY,
  STATUS and RESTARTS cells of a pod, for lessons.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from kubelearn.api import LabelSelector, SelectorError

Obj = Mapping[str, Any]
Cells = list[Any]

# -- time ------------------------------------------------------------------------------------

_SECOND = 10**9  # nanoseconds, as Go's time.Duration counts
_MINUTE = 60 * _SECOND
_HOUR = 60 * _MINUTE


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 timestamp (``2024-01-01T00:00:05Z``, fractions allowed) as a UTC datetime."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    head, dot, rest = text.partition(".")
    if dot:  # Python before 3.11 wants exactly 3 or 6 fraction digits
        digits = "".join(c for c in rest if c.isdigit())
        rest = (digits[:6].ljust(6, "0")) + rest[len(digits):]
        text = f"{head}.{rest}"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _nanoseconds(d: timedelta | float | int) -> int:
    """A duration in integer nanoseconds, as a Go time.Duration holds it."""
    if isinstance(d, timedelta):
        return (d.days * 86400 + d.seconds) * _SECOND + d.microseconds * 1000
    return int(round(d * _SECOND))


def _trunc_div(a: int, b: int) -> int:
    """Integer division truncating toward zero, as Go's."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def short_human_duration(d: timedelta | float | int) -> str:
    """A duration with one unit: ``45s``, ``3m``, ``5h``, ``2d``, ``1y`` (ShortHumanDuration)."""
    ns = _nanoseconds(d)
    seconds = _trunc_div(ns, _SECOND)
    if seconds < -1:  # up to 2s of clock skew counts as now
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 60:
        return f"{seconds}s"
    minutes = ns // _MINUTE
    if minutes < 60:
        return f"{minutes}m"
    hours = ns // _HOUR
    if hours < 24:
        return f"{hours}h"
    if hours < 24 * 365:
        return f"{hours // 24}d"
    return f"{hours // 24 // 365}y"


def human_duration(d: timedelta | float | int) -> str:
    """A duration to 2-3 significant figures: ``5s``, ``3m20s``, ``2d4h`` (HumanDuration)."""
    ns = _nanoseconds(d)
    seconds = _trunc_div(ns, _SECOND)
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 60 * 2:
        return f"{seconds}s"
    minutes = ns // _MINUTE
    if minutes < 10:
        s = (ns // _SECOND) % 60
        return f"{minutes}m" if s == 0 else f"{minutes}m{s}s"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = ns // _HOUR
    if hours < 8:
        m = (ns // _MINUTE) % 60
        return f"{hours}h" if m == 0 else f"{hours}h{m}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        h = hours % 24
        return f"{hours // 24}d" if h == 0 else f"{hours // 24}d{h}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if dy == 0 else f"{hours // 24 // 365}y{dy}d"
    return f"{hours // 24 // 365}y"


def since(timestamp: Any, now: datetime) -> str:
    """How long ago ``timestamp`` was, or ``<unknown>`` if unset (translateTimestampSince)."""
    moment = parse_time(timestamp)
    if moment is None:
        return "<unknown>"
    return human_duration(now - moment)


# -- small helpers -----------------------------------------------------------------------------


def _map(value: Any) -> Mapping[str, Any]:
    """``value`` if it is a mapping, else an empty one."""
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    """``value`` if it is a list, else an empty one."""
    return value if isinstance(value, list) else []


def _maps(value: Any) -> list[Mapping[str, Any]]:
    """The mappings in a list; anything else counts as empty."""
    return [v for v in _list(value) if isinstance(v, Mapping)]


def _int(value: Any, default: int = 0) -> int:
    """An integer field, ``default`` when unset or malformed."""
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _meta(obj: Obj) -> Mapping[str, Any]:
    return _map(obj.get("metadata"))


def _spec(obj: Obj) -> Mapping[str, Any]:
    return _map(obj.get("spec"))


def _status(obj: Obj) -> Mapping[str, Any]:
    return _map(obj.get("status"))


def _name(obj: Obj) -> str:
    return str(_meta(obj).get("name", ""))


def _age(obj: Obj, now: datetime) -> str:
    return since(_meta(obj).get("creationTimestamp"), now)


def format_labels(labels: Any) -> str:
    """``k=v,k2=v2`` sorted by key, ``<none>`` when empty (labels.FormatLabels)."""
    items = sorted(_map(labels).items())
    return ",".join(f"{k}={v}" for k, v in items) if items else "<none>"


def format_label_selector(selector: Any) -> str:
    """A LabelSelector as text, ``<none>`` when it selects everything (FormatLabelSelector)."""
    try:
        text = str(LabelSelector.from_dict(selector if isinstance(selector, Mapping) else None))
    except SelectorError:
        return "<error>"
    return text or "<none>"


def _selector_string(selector: Any) -> str:
    """A LabelSelector as text, empty when it selects everything (selector.String())."""
    try:
        return str(LabelSelector.from_dict(selector if isinstance(selector, Mapping) else None))
    except SelectorError:
        return "<invalid>"


def _containers(template_spec: Mapping[str, Any]) -> tuple[str, str]:
    """The names and images of a pod template's containers, comma-joined (layoutContainerCells)."""
    containers = _maps(template_spec.get("containers"))
    return (",".join(str(c.get("name", "")) for c in containers),
            ",".join(str(c.get("image", "")) for c in containers))


def _template_spec(obj: Obj) -> Mapping[str, Any]:
    return _map(_map(_spec(obj).get("template")).get("spec"))


# -- pods ----------------------------------------------------------------------------------------

# pkg/util/node NodeUnreachablePodReason: the node controller's reason on pods of a lost node.
NODE_UNREACHABLE_POD_REASON = "NodeLost"

POD_SUCCESS_CONDITIONS = [{"type": "Completed", "status": "True", "reason": "Succeeded",
                           "message": "The pod has completed successfully."}]
POD_FAILED_CONDITIONS = [{"type": "Completed", "status": "True", "reason": "Failed",
                          "message": "The pod failed."}]


def _is_restartable_init(container: Mapping[str, Any] | None) -> bool:
    """A sidecar: an init container with ``restartPolicy: Always`` (IsRestartableInitContainer)."""
    return bool(container) and container.get("restartPolicy") == "Always"


def _condition_true(conditions: Any, kind: str) -> bool:
    return any(c.get("type") == kind and c.get("status") == "True" for c in _maps(conditions))


def _later(a: datetime | None, b: Any) -> datetime | None:
    """The later of ``a`` and timestamp ``b``."""
    moment = parse_time(b)
    if moment is None:
        return a
    return moment if a is None or moment > a else a


def _pod_summary(pod: Obj) -> tuple[int, int, str, int, datetime | None]:
    """printPod's arithmetic: ready, total, reason, restarts and the last restart time."""
    spec, status = _spec(pod), _status(pod)
    restarts = sidecar_restarts = 0
    total = len(_maps(spec.get("containers")))
    ready = 0
    last_restart: datetime | None = None
    last_sidecar_restart: datetime | None = None
    phase = str(status.get("phase") or "")
    reason = str(status.get("reason") or "") or phase
    for cond in _maps(status.get("conditions")):
        if cond.get("type") == "PodScheduled" and cond.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"

    init_specs = {c.get("name"): c for c in _maps(spec.get("initContainers"))}
    total += sum(1 for c in init_specs.values() if _is_restartable_init(c))
    n_init = len(_maps(spec.get("initContainers")))

    initializing = False
    for i, cs in enumerate(_maps(status.get("initContainerStatuses"))):
        state, last = _map(cs.get("state")), _map(cs.get("lastState"))
        terminated, waiting = _map(state.get("terminated")), _map(state.get("waiting"))
        restarts += _int(cs.get("restartCount"))
        if last.get("terminated") is not None:
            last_restart = _later(last_restart, _map(last.get("terminated")).get("finishedAt"))
        sidecar = _is_restartable_init(init_specs.get(cs.get("name")))
        if sidecar:
            sidecar_restarts += _int(cs.get("restartCount"))
            if last.get("terminated") is not None:
                last_sidecar_restart = _later(last_sidecar_restart,
                                              _map(last.get("terminated")).get("finishedAt"))
        if state.get("terminated") is not None and _int(terminated.get("exitCode")) == 0:
            continue
        if sidecar and cs.get("started") is True:
            if cs.get("ready"):
                ready += 1
            continue
        if state.get("terminated") is not None:  # initialization failed
            if not terminated.get("reason"):
                signal = _int(terminated.get("signal"))
                reason = (f"Init:Signal:{signal}" if signal
                          else f"Init:ExitCode:{_int(terminated.get('exitCode'))}")
            else:
                reason = f"Init:{terminated['reason']}"
        elif waiting.get("reason") and waiting.get("reason") != "PodInitializing":
            reason = f"Init:{waiting['reason']}"
        else:
            reason = f"Init:{i}/{n_init}"
        initializing = True
        break

    if not initializing or _condition_true(status.get("conditions"), "Initialized"):
        restarts, last_restart = sidecar_restarts, last_sidecar_restart
        has_running = False
        for cs in reversed(_maps(status.get("containerStatuses"))):
            state, last = _map(cs.get("state")), _map(cs.get("lastState"))
            terminated, waiting = _map(state.get("terminated")), _map(state.get("waiting"))
            restarts += _int(cs.get("restartCount"))
            if last.get("terminated") is not None:
                last_restart = _later(last_restart, _map(last.get("terminated")).get("finishedAt"))
            if state.get("waiting") is not None and waiting.get("reason"):
                reason = str(waiting["reason"])
            elif state.get("terminated") is not None and terminated.get("reason"):
                reason = str(terminated["reason"])
            elif state.get("terminated") is not None:
                signal = _int(terminated.get("signal"))
                reason = (f"Signal:{signal}" if signal
                          else f"ExitCode:{_int(terminated.get('exitCode'))}")
            elif cs.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        # a pod with a container still running is not Completed
        if reason == "Completed" and has_running:
            reason = ("Running" if _condition_true(status.get("conditions"), "Ready")
                      else "NotReady")

    deleting = _meta(pod).get("deletionTimestamp") is not None
    if deleting and status.get("reason") == NODE_UNREACHABLE_POD_REASON:
        reason = "Unknown"
    elif deleting and phase not in ("Succeeded", "Failed"):
        reason = "Terminating"
    return ready, total, reason, restarts, last_restart


def pod_status(pod: Obj) -> str:
    """The STATUS kubectl shows: Pending, ContainerCreating, Running, CrashLoopBackOff, ..."""
    return _pod_summary(pod)[2]


def pod_ready(pod: Obj) -> str:
    """The READY cell: ready containers over containers, ``1/1``."""
    ready, total, *_ = _pod_summary(pod)
    return f"{ready}/{total}"


def pod_restarts(pod: Obj, now: datetime | str) -> str:
    """The RESTARTS cell: ``0``, or ``3 (2m ago)`` once a container has restarted."""
    *_, restarts, last = _pod_summary(pod)
    when = parse_time(now)
    if restarts and last is not None and when is not None:
        return f"{restarts} ({human_duration(when - last)} ago)"
    return str(restarts)


def print_pod(pod: Obj, now: datetime) -> tuple[Cells, list[dict[str, str]]]:
    """printPod: the cells of one pod row and its row conditions."""
    ready, total, reason, restarts, last = _pod_summary(pod)
    spec, status = _spec(pod), _status(pod)
    restarts_cell = str(restarts)
    if restarts and last is not None:
        restarts_cell = f"{restarts} ({human_duration(now - last)} ago)"
    pod_ips = _maps(status.get("podIPs"))
    pod_ip = str(pod_ips[0].get("ip") or "") if pod_ips else ""
    gates = _maps(spec.get("readinessGates"))
    readiness = "<none>"
    if gates:
        true = 0
        for gate in gates:
            for cond in _maps(status.get("conditions")):
                if cond.get("type") == gate.get("conditionType"):
                    true += cond.get("status") == "True"
                    break
        readiness = f"{true}/{len(gates)}"
    cells = [_name(pod), f"{ready}/{total}", reason, restarts_cell, _age(pod, now),
             pod_ip or "<none>", spec.get("nodeName") or "<none>",
             status.get("nominatedNodeName") or "<none>", readiness]
    conditions = {"Succeeded": POD_SUCCESS_CONDITIONS, "Failed": POD_FAILED_CONDITIONS}
    return cells, conditions.get(str(status.get("phase")), [])


# -- the other printers (one per printXxx of printers.go) ------------------------------------------

# pkg/printers/internalversion: node role labels.
LABEL_NODE_ROLE_PREFIX = "node-role.kubernetes.io/"
NODE_LABEL_ROLE = "kubernetes.io/role"


def node_roles(node: Obj) -> list[str]:
    """A node's roles from its ``node-role.kubernetes.io/<role>`` labels, sorted (findNodeRoles)."""
    roles = set()
    for key, value in _map(_meta(node).get("labels")).items():
        if key.startswith(LABEL_NODE_ROLE_PREFIX) and key[len(LABEL_NODE_ROLE_PREFIX):]:
            roles.add(key[len(LABEL_NODE_ROLE_PREFIX):])
        elif key == NODE_LABEL_ROLE and value:
            roles.add(str(value))
    return sorted(roles)


def _node_address(node: Obj, kind: str) -> str:
    for address in _maps(_status(node).get("addresses")):
        if address.get("type") == kind:
            return str(address.get("address", ""))
    return "<none>"


def node_status(node: Obj) -> str:
    """The STATUS of a node: ``Ready``, ``NotReady``, ``Unknown``, ``,SchedulingDisabled``."""
    status = []
    for cond in _maps(_status(node).get("conditions")):
        if cond.get("type") == "Ready":  # NodeAllConditions is just Ready
            status = ["Ready" if cond.get("status") == "True" else "NotReady"]
    if not status:
        status = ["Unknown"]
    if _spec(node).get("unschedulable"):
        status.append("SchedulingDisabled")
    return ",".join(status)


def print_node(node: Obj, now: datetime) -> Cells:
    """printNode."""
    info = _map(_status(node).get("nodeInfo"))
    return [_name(node), node_status(node), ",".join(node_roles(node)) or "<none>",
            _age(node, now), str(info.get("kubeletVersion") or ""),
            _node_address(node, "InternalIP"), _node_address(node, "ExternalIP"),
            info.get("osImage") or "<unknown>", info.get("kernelVersion") or "<unknown>",
            info.get("containerRuntimeVersion") or "<unknown>"]


# printers.go loadBalancerWidth: how much of a load balancer's address a narrow column shows.
LOAD_BALANCER_WIDTH = 16


def _load_balancer_status(status: Mapping[str, Any], wide: bool) -> str:
    """The ingress points of a load balancer, sorted and comma-joined (loadBalancerStatusStringer:
    a sets.String, whose List() is sorted)."""
    points = {str(i.get("ip") or i.get("hostname"))
              for i in _maps(_map(status.get("loadBalancer")).get("ingress"))
              if i.get("ip") or i.get("hostname")}
    text = ",".join(sorted(points))
    if not wide and len(text) > LOAD_BALANCER_WIDTH:
        text = text[:LOAD_BALANCER_WIDTH - 3] + "..."
    return text


def service_external_ip(svc: Obj, wide: bool = True) -> str:
    """The EXTERNAL-IP cell (getServiceExternalIP)."""
    spec = _spec(svc)
    kind = spec.get("type")
    external = [str(ip) for ip in _list(spec.get("externalIPs"))]
    if kind in ("ClusterIP", "NodePort"):
        return ",".join(external) if external else "<none>"
    if kind == "LoadBalancer":
        lb = _load_balancer_status(_status(svc), wide)
        if external:
            return ",".join(([*lb.split(",")] if lb else []) + external)
        return lb or "<pending>"
    if kind == "ExternalName":
        return str(spec.get("externalName") or "")
    return "<unknown>"


def service_ports(ports: Any) -> str:
    """``80/TCP,443:30443/TCP`` (makePortString)."""
    pieces = []
    for port in _maps(ports):
        protocol = port.get("protocol") or ""
        node_port = _int(port.get("nodePort"))
        if node_port > 0:
            pieces.append(f"{_int(port.get('port'))}:{node_port}/{protocol}")
        else:
            pieces.append(f"{_int(port.get('port'))}/{protocol}")
    return ",".join(pieces)


def print_service(svc: Obj, now: datetime) -> Cells:
    """printService: CLUSTER-IP is clusterIPs[0] (``None`` when headless, ``<none>`` for an
    ExternalName), EXTERNAL-IP as getServiceExternalIP, PORT(S) as makePortString.

    The API server prints tables with Wide set (printerstorage.TableConvertor), so a load
    balancer's address is never cut short; kubectl only hides the SELECTOR column.
    """
    spec = _spec(svc)
    cluster_ips = _list(spec.get("clusterIPs"))
    internal = str(cluster_ips[0]) if cluster_ips else "<none>"
    return [_name(svc), str(spec.get("type") or ""), internal, service_external_ip(svc),
            service_ports(spec.get("ports")) or "<none>", _age(svc, now),
            format_labels(spec.get("selector"))]


def _join_host_port(host: str, port: int) -> str:
    """net.JoinHostPort: IPv6 addresses get brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def format_endpoints(endpoints: Obj, ports: set[str] | None = None) -> str:
    """``10.0.0.1:80,10.0.0.2:80 + 3 more...`` (formatEndpoints); ``<none>`` without subsets."""
    subsets = _maps(endpoints.get("subsets"))
    if not subsets:
        return "<none>"
    out: list[str] = []
    maximum, more, count = 3, False, 0
    for subset in subsets:
        addresses = _maps(subset.get("addresses"))
        subset_ports = _maps(subset.get("ports"))
        if not subset_ports:  # a headless service may have no ports
            count += len(addresses)
            for addr in addresses:
                if len(out) == maximum:
                    more = True
                    break
                out.append(str(addr.get("ip", "")))
            continue
        for port in subset_ports:
            if ports is None or port.get("name", "") in ports:
                count += len(addresses)
                for addr in addresses:
                    if len(out) == maximum:
                        more = True
                        break
                    out.append(_join_host_port(str(addr.get("ip", "")), _int(port.get("port"))))
    text = ",".join(out)
    return f"{text} + {count - maximum} more..." if more else text


def print_endpoints(ep: Obj, now: datetime) -> Cells:
    """printEndpoints."""
    return [_name(ep), format_endpoints(ep), _age(ep, now)]


def _list_with_more(items: list[str], more: bool, count: int, maximum: int) -> str:
    """listWithMoreString: ``a,b,c + 2 more...``, ``<unset>`` when empty."""
    text = ",".join(items)
    if more:
        return f"{text} + {count - maximum} more..."
    return text or "<unset>"


def print_endpoint_slice(eps: Obj, now: datetime) -> Cells:
    """printEndpointSlice: address type, ports and endpoints, three of each at most."""
    maximum = 3
    ports: list[str] = []
    more, count = False, 0
    for port in _maps(eps.get("ports")):
        if len(ports) < maximum:
            number = port.get("port")
            ports.append(str(number) if isinstance(number, int)
                         else str(port.get("name")) if port.get("name") is not None else "*")
        elif len(ports) == maximum:
            more = True
        count += 1
    port_text = _list_with_more(ports, more, count, maximum)
    addresses: list[str] = []
    more, count = False, 0
    for endpoint in _maps(eps.get("endpoints")):
        for address in _list(endpoint.get("addresses")):
            if len(addresses) < maximum:
                addresses.append(str(address))
            elif len(addresses) == maximum:
                more = True
            count += 1
    return [_name(eps), str(eps.get("addressType") or ""), port_text,
            _list_with_more(addresses, more, count, maximum), _age(eps, now)]


def print_deployment(d: Obj, now: datetime) -> Cells:
    """printDeployment: READY is ready/desired, UP-TO-DATE and AVAILABLE are counts."""
    spec, status = _spec(d), _status(d)
    names, images = _containers(_template_spec(d))
    return [_name(d), f"{_int(status.get('readyReplicas'))}/{_int(spec.get('replicas'))}",
            _int(status.get("updatedReplicas")), _int(status.get("availableReplicas")),
            _age(d, now), names, images, _selector_string(spec.get("selector"))]


def print_replica_set(rs: Obj, now: datetime) -> Cells:
    """printReplicaSet: DESIRED, CURRENT and READY as numbers."""
    spec, status = _spec(rs), _status(rs)
    names, images = _containers(_template_spec(rs))
    return [_name(rs), _int(spec.get("replicas")), _int(status.get("replicas")),
            _int(status.get("readyReplicas")), _age(rs, now), names, images,
            format_label_selector(spec.get("selector"))]


def print_stateful_set(ss: Obj, now: datetime) -> Cells:
    """printStatefulSet."""
    names, images = _containers(_template_spec(ss))
    ready = f"{_int(_status(ss).get('readyReplicas'))}/{_int(_spec(ss).get('replicas'))}"
    return [_name(ss), ready, _age(ss, now), names, images]


def print_daemon_set(ds: Obj, now: datetime) -> Cells:
    """printDaemonSet."""
    status = _status(ds)
    names, images = _containers(_template_spec(ds))
    return [_name(ds), _int(status.get("desiredNumberScheduled")),
            _int(status.get("currentNumberScheduled")), _int(status.get("numberReady")),
            _int(status.get("updatedNumberScheduled")), _int(status.get("numberAvailable")),
            format_labels(_template_spec(ds).get("nodeSelector")), _age(ds, now), names, images,
            format_label_selector(_spec(ds).get("selector"))]


def print_job(job: Obj, now: datetime) -> Cells:
    """printJob: status, completions, duration."""
    spec, status = _spec(job), _status(job)
    succeeded = _int(status.get("succeeded"))
    if spec.get("completions") is not None:
        completions = f"{succeeded}/{_int(spec.get('completions'))}"
    else:
        parallelism = _int(spec.get("parallelism"))
        completions = f"{succeeded}/1 of {parallelism}" if parallelism > 1 else f"{succeeded}/1"
    start, done = parse_time(status.get("startTime")), parse_time(status.get("completionTime"))
    duration = ("" if start is None else human_duration((done or now) - start))
    conditions = status.get("conditions")

    def has(kind: str) -> bool:
        for cond in _maps(conditions):
            if cond.get("type") == kind:
                return cond.get("status") == "True"
        return False

    if has("Complete"):
        state = "Complete"
    elif has("Failed"):
        state = "Failed"
    elif _meta(job).get("deletionTimestamp") is not None:
        state = "Terminating"
    elif has("Suspended"):
        state = "Suspended"
    elif has("FailureTarget"):
        state = "FailureTarget"
    else:
        state = "Running"
    names, images = _containers(_template_spec(job))
    return [_name(job), state, completions, duration, _age(job, now), names, images,
            format_label_selector(spec.get("selector"))]


def print_namespace(ns: Obj, now: datetime) -> Cells:
    """printNamespace."""
    return [_name(ns), str(_status(ns).get("phase") or ""), _age(ns, now)]


def _event_source(event: Obj) -> str:
    """formatEventSource: ``component, host``, the reporting fields as fallback."""
    source = _map(event.get("source"))
    component = source.get("component") or event.get("reportingController") or ""
    instance = source.get("host") or event.get("reportingInstance") or ""
    return f"{component}, {instance}" if instance else str(component)


def event_object(event: Obj) -> str:
    """The OBJECT cell of an event: ``pod/web-0`` (lower-case kind / name)."""
    involved = _map(event.get("involvedObject") or event.get("regarding"))
    kind = str(involved.get("kind", "")).lower()
    return f"{kind}/{involved['name']}" if involved.get("name") else kind


def print_event(event: Obj, now: datetime) -> Cells:
    """printEvent: LAST SEEN, TYPE, REASON, OBJECT, MESSAGE (and the wide ones)."""
    first = since(event.get("firstTimestamp"), now)
    if parse_time(event.get("firstTimestamp")) is None:
        first = since(event.get("eventTime"), now)
    last = since(event.get("lastTimestamp"), now)
    if parse_time(event.get("lastTimestamp")) is None:
        last = first
    count = _int(event.get("count") if "count" in event else event.get("deprecatedCount"))
    series = event.get("series")
    if isinstance(series, Mapping):
        last = since(series.get("lastObservedTime"), now)
        count = _int(series.get("count"))
    elif count == 0:  # singleton events carry no count in the new API
        count = 1
    involved = _map(event.get("involvedObject") or event.get("regarding"))
    message = event.get("message", event.get("note")) or ""
    return [last, str(event.get("type") or ""), str(event.get("reason") or ""),
            event_object(event), str(involved.get("fieldPath") or ""), _event_source(event),
            str(message).strip(), first, count, _name(event)]


def print_config_map(cm: Obj, now: datetime) -> Cells:
    """printConfigMap: DATA counts data and binaryData keys."""
    return [_name(cm), len(_map(cm.get("data"))) + len(_map(cm.get("binaryData"))), _age(cm, now)]


def print_secret(secret: Obj, now: datetime) -> Cells:
    """printSecret."""
    return [_name(secret), str(secret.get("type") or ""), len(_map(secret.get("data"))),
            _age(secret, now)]


def print_service_account(sa: Obj, now: datetime) -> Cells:
    """printServiceAccount: SECRETS counts the listed secrets."""
    return [_name(sa), len(_list(sa.get("secrets"))), _age(sa, now)]


def print_persistent_volume_claim(pvc: Obj, now: datetime) -> Cells:
    """printPersistentVolumeClaim: capacity and access modes only once bound to a volume."""
    spec, status = _spec(pvc), _map(pvc.get("status"))
    phase = "Terminating" if _map(pvc.get("metadata")).get("deletionTimestamp") else \
        str(status.get("phase") or "")
    capacity = modes = ""
    if spec.get("volumeName"):
        capacity = str(_map(status.get("capacity")).get("storage") or "")
        modes = access_modes(status.get("accessModes"))
    return [_name(pvc), phase, str(spec.get("volumeName") or ""), capacity, modes,
            str(spec.get("storageClassName") or ""),
            str(spec.get("volumeAttributesClassName") or "<unset>"), _age(pvc, now),
            str(spec.get("volumeMode") or "<unset>")]


def access_modes(modes: Any) -> str:
    """helper.GetAccessModesAsString: RWO, ROX, RWX, RWOP, in that order, comma-separated."""
    short = {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX",
             "ReadWriteOncePod": "RWOP"}
    given = set(_list(modes))
    return ",".join(s for mode, s in short.items() if mode in given)


def print_lease(lease: Obj, now: datetime) -> Cells:
    """printLease: HOLDER is spec.holderIdentity."""
    return [_name(lease), str(_spec(lease).get("holderIdentity") or ""), _age(lease, now)]


def subjects_strings(subjects: Any) -> tuple[list[str], list[str], list[str], list[str]]:
    """Users, groups, service accounts (``ns/name``) and others of a binding (SubjectsStrings)."""
    users, groups, sas, others = [], [], [], []
    for s in _maps(subjects):
        kind, name, ns = s.get("kind", ""), str(s.get("name", "")), str(s.get("namespace") or "")
        if kind == "ServiceAccount":
            sas.append(f"{ns}/{name}")
        elif kind == "User":
            users.append(name)
        elif kind == "Group":
            groups.append(name)
        else:
            others.append(f"{kind}/{ns}/{name}")
    return users, groups, sas, others


def print_role_binding(binding: Obj, now: datetime) -> Cells:
    """printRoleBinding / printClusterRoleBinding: ROLE is ``Kind/name``."""
    ref = _map(binding.get("roleRef"))
    users, groups, sas, _ = subjects_strings(binding.get("subjects"))
    return [_name(binding), f"{ref.get('kind', '')}/{ref.get('name', '')}", _age(binding, now),
            ", ".join(users), ", ".join(groups), ", ".join(sas)]


def print_priority_class(pc: Obj, now: datetime) -> Cells:
    """printPriorityClass."""
    return [_name(pc), _int(pc.get("value")), bool(pc.get("globalDefault")), _age(pc, now),
            str(pc.get("preemptionPolicy") or "")]


def print_pod_disruption_budget(pdb: Obj, now: datetime) -> Cells:
    """printPodDisruptionBudget: each budget as IntOrString prints it, ``N/A`` when unset."""
    spec = _spec(pdb)
    min_available, max_unavailable = spec.get("minAvailable"), spec.get("maxUnavailable")
    return [_name(pdb), "N/A" if min_available is None else str(min_available),
            "N/A" if max_unavailable is None else str(max_unavailable),
            _int(_map(pdb.get("status")).get("disruptionsAllowed")), _age(pdb, now)]


def print_default(obj: Obj, now: datetime) -> Cells:
    """The API server's default Table (rest.defaultTableConvertor): name and creation time."""
    created = parse_time(_meta(obj).get("creationTimestamp"))
    # Go formats a zero time.Time as 0001-01-01T00:00:00Z
    when = created.strftime("%Y-%m-%dT%H:%M:%SZ") if created else "0001-01-01T00:00:00Z"
    return [_name(obj), when]


# -- column definitions ----------------------------------------------------------------------------

# Descriptions: the literal ones are printers.go's own; the others are the
# first sentence of the API field documentation printers.go takes them from.
_NAME_DOC = ("Name must be unique within a namespace. Is required when creating resources, "
             "although some resources may allow a client to request the generation of an "
             "appropriate name automatically. Name is primarily intended for creation "
             "idempotence and configuration definition. Cannot be updated. More info: "
             "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names")
_AGE_DOC = ("CreationTimestamp is a timestamp representing the server time when this object was "
            "created. It is not guaranteed to be set in happens-before order across separate "
            "operations. Clients may not set this value. It is represented in RFC3339 form and is "
            "in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: "
            "https://git.k8s.io/community/contributors/devel/sig-architecture/"
            "api-conventions.md#metadata")
_CONTAINERS_DOC = "Names of each container in the template."
_IMAGES_DOC = "Images referenced by each container in the template."


def column(name: str, type: str = "string", description: str = "", *, priority: int = 0,
           format: str = "") -> dict[str, Any]:
    """A TableColumnDefinition."""
    return {"name": name, "type": type, "format": format, "description": description,
            "priority": priority}


def _name_column() -> dict[str, Any]:
    return column("Name", "string", _NAME_DOC, format="name")


def _age_column() -> dict[str, Any]:
    return column("Age", "string", _AGE_DOC)


def _template_columns(selector_doc: str) -> list[dict[str, Any]]:
    return [column("Containers", "string", _CONTAINERS_DOC, priority=1),
            column("Images", "string", _IMAGES_DOC, priority=1),
            column("Selector", "string", selector_doc, priority=1)]


_SELECTOR_DOC = "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment."  # noqa: E501


def _binding_columns(kind: str) -> list[dict[str, Any]]:
    return [_name_column(),
            column("Role", "string", "RoleRef can reference a Role in the current namespace or a "
                   "ClusterRole in the global namespace."),
            _age_column(),
            column("Users", "string", f"Users in the {kind}", priority=1),
            column("Groups", "string", f"Groups in the {kind}", priority=1),
            column("ServiceAccounts", "string", f"ServiceAccounts in the {kind}", priority=1)]


COLUMNS: dict[str, list[dict[str, Any]]] = {
    "pods": [
        _name_column(),
        column("Ready", "string",
               "The aggregate readiness state of this pod for accepting traffic."),
        column("Status", "string", "The aggregate status of the containers in this pod."),
        column("Restarts", "string", "The number of times the containers in this pod have been "
               "restarted and when the last container in this pod has restarted."),
        _age_column(),
        column("IP", "string", "podIP address allocated to the pod. Routable at least within the "
               "cluster. Empty if not yet allocated.", priority=1),
        column("Node", "string", "NodeName indicates in which node this pod is scheduled.",
               priority=1),
        column("Nominated Node", "string", "nominatedNodeName is set only when this pod preempts "
               "other pods on the node, but it cannot be scheduled right away as preemption "
               "victims receive their graceful termination periods.", priority=1),
        column("Readiness Gates", "string", "If specified, all readiness gates will be evaluated "
               "for pod readiness.", priority=1),
    ],
    "nodes": [
        _name_column(),
        column("Status", "string", "The status of the node"),
        column("Roles", "string", "The roles of the node"),
        _age_column(),
        column("Version", "string", "Kubelet Version reported by the node."),
        column("Internal-IP", "string", "List of addresses reachable to the node.", priority=1),
        column("External-IP", "string", "List of addresses reachable to the node.", priority=1),
        column("OS-Image", "string", "OS Image reported by the node from /etc/os-release "
               "(e.g. Debian GNU/Linux 7 (wheezy)).", priority=1),
        column("Kernel-Version", "string", "Kernel Version reported by the node from "
               "'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).", priority=1),
        column("Container-Runtime", "string", "ContainerRuntime Version reported by the node "
               "through runtime remote API (e.g. containerd://1.4.2).", priority=1),
    ],
    "services": [
        _name_column(),
        column("Type", "string", "type determines how the Service is exposed."),
        column("Cluster-IP", "string", "clusterIP is the IP address of the service and is "
               "usually assigned randomly."),
        column("External-IP", "string", "externalIPs is a list of IP addresses for which nodes "
               "in the cluster will also accept traffic for this service."),
        column("Port(s)", "string", "The list of ports that are exposed by this service."),
        _age_column(),
        column("Selector", "string", "Route service traffic to pods with label keys and values "
               "matching this selector.", priority=1),
    ],
    "endpoints": [
        _name_column(),
        column("Endpoints", "string", "The set of all endpoints is the union of all subsets."),
        _age_column(),
    ],
    "endpointslices": [
        _name_column(),
        column("AddressType", "string", "addressType specifies the type of address carried by "
               "this EndpointSlice."),
        column("Ports", "string", "ports specifies the list of network ports exposed by each "
               "endpoint in this slice."),
        column("Endpoints", "string", "endpoints is a list of unique endpoints in this slice."),
        _age_column(),
    ],
    "deployments": [
        _name_column(),
        column("Ready", "string", "Number of the pod with ready state"),
        column("Up-to-date", "string", "Total number of non-terminating pods targeted by this "
               "deployment that have the desired template spec."),
        column("Available", "string", "Total number of available non-terminating pods (ready "
               "for at least minReadySeconds) targeted by this deployment."),
        _age_column(),
        *_template_columns(_SELECTOR_DOC),
    ],
    "replicasets": [
        _name_column(),
        column("Desired", "integer", "Replicas is the number of desired pods."),
        column("Current", "integer", "Replicas is the most recently observed number of "
               "non-terminating pods."),
        column("Ready", "integer", "The number of non-terminating pods targeted by this "
               "ReplicaSet with a Ready Condition."),
        _age_column(),
        *_template_columns("Selector is a label query over pods that should match the replica "
                           "count."),
    ],
    "statefulsets": [
        _name_column(),
        column("Ready", "string", "Number of the pod with ready state"),
        _age_column(),
        column("Containers", "string", _CONTAINERS_DOC, priority=1),
        column("Images", "string", _IMAGES_DOC, priority=1),
    ],
    "daemonsets": [
        _name_column(),
        column("Desired", "integer", "The total number of nodes that should be running the "
               "daemon pod."),
        column("Current", "integer", "The number of nodes that are running at least 1 daemon "
               "pod and are supposed to run the daemon pod."),
        column("Ready", "integer", "numberReady is the number of nodes that should be running "
               "the daemon pod and have one or more of the daemon pod running with a Ready "
               "Condition."),
        column("Up-to-date", "integer", "The total number of nodes that are running updated "
               "daemon pod"),
        column("Available", "integer", "The number of nodes that should be running the daemon "
               "pod and have one or more of the daemon pod running and available."),
        column("Node Selector", "string", "NodeSelector is a selector which must be true for the "
               "pod to fit on a node."),
        _age_column(),
        *_template_columns("A label query over pods that are managed by the daemon set."),
    ],
    "jobs": [
        _name_column(),
        column("Status", "string", "Status of the job."),
        column("Completions", "string", "The number of pods which reached phase Succeeded."),
        column("Duration", "string", "Time required to complete the job."),
        _age_column(),
        *_template_columns("A label query over pods that should match the pod count."),
    ],
    "namespaces": [
        _name_column(),
        column("Status", "string", "The status of the namespace"),
        _age_column(),
    ],
    "events": [
        column("Last Seen", "string", "The time at which the most recent occurrence of this "
               "event was recorded."),
        column("Type", "string", "Type of this event (Normal, Warning), new types could be "
               "added in the future"),
        column("Reason", "string", "This should be a short, machine understandable string that "
               "gives the reason for the transition into the object's current status."),
        column("Object", "string", "The object that this event is about."),
        column("Subobject", "string", "If referring to a piece of an object instead of an entire "
               "object, this string should contain a valid JSON/Go field access statement.",
               priority=1),
        column("Source", "string", "The component reporting this event.", priority=1),
        column("Message", "string", "A human-readable description of the status of this "
               "operation."),
        column("First Seen", "string", "The time at which the event was first recorded.",
               priority=1),
        column("Count", "string", "The number of times this event has occurred.", priority=1),
        column("Name", "string", _NAME_DOC, priority=1, format="name"),
    ],
    "configmaps": [
        _name_column(),
        column("Data", "string", "Data contains the configuration data."),
        _age_column(),
    ],
    "secrets": [
        _name_column(),
        column("Type", "string", "Used to facilitate programmatic handling of secret data."),
        column("Data", "string", "Data contains the secret data."),
        _age_column(),
    ],
    "serviceaccounts": [
        _name_column(),
        column("Secrets", "string", "Secrets is a list of the secrets in the same namespace "
               "that pods running using this ServiceAccount are allowed to use."),
        _age_column(),
    ],
    "persistentvolumeclaims": [
        _name_column(),
        column("Status", "string", "phase represents the current phase of PersistentVolumeClaim."),
        column("Volume", "string", "volumeName is the binding reference to the PersistentVolume "
               "backing this claim."),
        column("Capacity", "string", "capacity represents the actual resources of the underlying "
               "volume."),
        column("Access Modes", "string", "accessModes contains the actual access modes the "
               "volume backing the PVC has."),
        column("StorageClass", "string", "StorageClass of the pvc"),
        column("VolumeAttributesClass", "string", "VolumeAttributesClass of the pvc"),
        _age_column(),
        column("VolumeMode", "string", "volumeMode defines what type of volume is required by "
               "the claim.", priority=1),
    ],
    "leases": [
        _name_column(),
        column("Holder", "string", "holderIdentity contains the identity of the holder of a "
               "current lease."),
        _age_column(),
    ],
    "rolebindings": _binding_columns("roleBinding"),
    "clusterrolebindings": _binding_columns("clusterRoleBinding"),
    # podDisruptionBudgetColumnDefinitions (printers.go's own descriptions)
    "poddisruptionbudgets": [
        _name_column(),
        column("Min Available", "string", "The minimum number of pods that must be available."),
        column("Max Unavailable", "string", "The maximum number of pods that may be unavailable."),
        column("Allowed Disruptions", "integer", "Calculated number of pods that may be "
               "disrupted at this time."),
        _age_column(),
    ],
    # priorityClassColumnDefinitions: the descriptions are schedulingv1.PriorityClass's
    # SwaggerDoc, as the v1.32 OpenAPI document carries them.
    "priorityclasses": [
        _name_column(),
        column("Value", "integer", "value represents the integer value of this priority class. "
               "This is the actual priority that pods receive when they have the name of this "
               "class in their pod spec."),
        column("Global-Default", "boolean", "globalDefault specifies whether this PriorityClass "
               "should be considered as the default priority for pods that do not have any "
               "priority class. Only one PriorityClass can be marked as `globalDefault`. However, "
               "if more than one PriorityClasses exists with their `globalDefault` field set to "
               "true, the smallest value of such global default PriorityClasses will be used as "
               "the default priority."),
        _age_column(),
        column("PreemptionPolicy", "string", "preemptionPolicy is the Policy for preempting pods "
               "with lower priority. One of Never, PreemptLowerPriority. Defaults to "
               "PreemptLowerPriority if unset."),
    ],
}

# rest.defaultTableConvertor: what every resource without a printer gets
# (roles and clusterroles among them: kubectl shows NAME and CREATED AT).
DEFAULT_COLUMNS = [column("Name", "string", _NAME_DOC, format="name"),
                   column("Created At", "date", _AGE_DOC)]

PRINTERS: dict[str, Callable[[Obj, datetime], Cells]] = {
    "nodes": print_node, "services": print_service, "endpoints": print_endpoints,
    "endpointslices": print_endpoint_slice, "deployments": print_deployment,
    "replicasets": print_replica_set, "statefulsets": print_stateful_set,
    "daemonsets": print_daemon_set, "jobs": print_job, "namespaces": print_namespace,
    "events": print_event, "configmaps": print_config_map, "secrets": print_secret,
    "serviceaccounts": print_service_account, "leases": print_lease,
    "persistentvolumeclaims": print_persistent_volume_claim,
    "rolebindings": print_role_binding, "clusterrolebindings": print_role_binding,
    "priorityclasses": print_priority_class,
    "poddisruptionbudgets": print_pod_disruption_budget,
}


def columns_for(resource: str) -> list[dict[str, Any]]:
    """The column definitions of ``resource``'s Table (a fresh copy)."""
    return [dict(c) for c in COLUMNS.get(_plural(resource), DEFAULT_COLUMNS)]


def _plural(resource: str) -> str:
    """``pods`` from ``pods``, ``deployments.apps`` or ``events.k8s.io`` events."""
    return resource.lower().partition(".")[0]


# -- the Table ----------------------------------------------------------------------------------


def _partial_metadata(obj: Obj) -> dict[str, Any]:
    """The PartialObjectMetadata a row carries with ``includeObject=Metadata``."""
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
            "metadata": dict(_meta(obj))}


def _now(now: datetime | str) -> datetime:
    moment = parse_time(now)
    if moment is None:
        raise ValueError(f"now must be an RFC 3339 timestamp, not {now!r}")
    return moment


def table(resource: str, objects: Sequence[Obj], *, now: datetime | str, wide: bool = False,
          include_object: str = "Object", resource_version: str = "") -> dict[str, Any]:
    """The ``meta.k8s.io/v1`` Table the API server returns for ``kubectl get <resource>``.

    ``now`` is the RFC 3339 time ages are measured at. The Table carries every
    column, the wide ones with priority 1, as the API server's does; ``wide``
    only widens what is clipped in narrow output (none of the printers here
    clip: the server prints wide cells always). ``include_object`` is the
    request's ``includeObject``: ``Object`` (the default here), ``Metadata`` or
    ``None``.
    """
    del wide  # printers.go always prints the wide form on the server side
    when = _now(now)
    plural = _plural(resource)
    printer = PRINTERS.get(plural, print_default)
    rows = []
    for obj in objects:
        conditions: list[dict[str, str]] = []
        if plural == "pods":
            cells, conditions = print_pod(obj, when)
        else:
            cells = printer(obj, when)
        row: dict[str, Any] = {"cells": cells}
        if conditions:
            row["conditions"] = [dict(c) for c in conditions]
        if include_object == "Object":
            row["object"] = obj
        elif include_object == "Metadata":
            row["object"] = _partial_metadata(obj)
        rows.append(row)
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1",
            "metadata": {"resourceVersion": resource_version},
            "columnDefinitions": columns_for(plural), "rows": rows}


def frame(tbl: Mapping[str, Any], wide: bool = False, *, namespace: bool = False):  # -> DataFrame
    """A Table as kubectl prints it: upper-case headers, wide columns only when ``wide``.

    ``namespace`` adds kubectl's NAMESPACE column in front (``--all-namespaces``).
    """
    import pandas as pd

    definitions = _maps(tbl.get("columnDefinitions"))
    keep = [i for i, c in enumerate(definitions) if wide or _int(c.get("priority")) == 0]
    headers = [str(definitions[i].get("name", "")).upper() for i in keep]
    data = []
    for row in _maps(tbl.get("rows")):
        cells = _list(row.get("cells"))
        values = [cells[i] if i < len(cells) else None for i in keep]
        if namespace:
            values.insert(0, _meta(_map(row.get("object"))).get("namespace", ""))
        data.append(values)
    if namespace:
        headers.insert(0, "NAMESPACE")
    return pd.DataFrame(data, columns=headers)
