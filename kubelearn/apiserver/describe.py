"""``kubectl describe``: an object, its related objects and its events, as text.

Unlike ``kubectl get``, describe is computed by kubectl itself (client side),
from the object and a few more reads (the pod's events, a node's pods and
lease, a deployment's ReplicaSets). This module lays the text out as upstream's
staging/src/k8s.io/kubectl/pkg/describe/describe.go does -- as of kubectl v1.32,
the client these lessons run, checked line for line against it: the same field names
in the same order, the same two-space levels of its ``PrefixWriter``, the same
column alignment of Go's ``text/tabwriter`` (minwidth 0, tabwidth 8, padding 2),
the same ``Events:`` table and ``<none>``.

- :func:`describe` -- Pod, Node, Deployment, ReplicaSet, Service, Namespace,
  Endpoints, ConfigMap, Secret, ServiceAccount, Role/ClusterRole and their
  bindings, PriorityClass, PodDisruptionBudget; any other kind through the generic describer;
- :func:`events_for` -- the events about an object, as kubectl searches them;
- :func:`tabwrite` -- Go's tabwriter, for anything else that must align like kubectl.

Times print as RFC 1123 with a numeric zone (``Mon, 01 Jan 2024 00:00:05 +0000``),
in UTC: kubectl prints them in the local zone of the machine it runs on.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from kubelearn.api import (
    LabelSelector,
    NotFound,
    Quantity,
    QuantityError,
    SelectorError,
    parse_quantity,
    pod_limits,
    pod_requests,
)
from kubelearn.apiserver.printers import (
    _int,
    _map,
    _maps,
    _meta,
    _selector_string,
    _spec,
    _status,
    format_label_selector,
    format_labels,
    human_duration,
    node_roles,
    parse_time,
    since,
)

Obj = Mapping[str, Any]

LEVEL_0, LEVEL_1, LEVEL_2, LEVEL_3, LEVEL_4 = range(5)  # each level is two spaces

# describe.go skipAnnotations: never printed.
SKIP_ANNOTATIONS = {"kubectl.kubernetes.io/last-applied-configuration"}
# describe.go maxAnnotationLen: longer annotations go on their own lines, shortened.
MAX_ANNOTATION_LEN = 140


# -- Go's text/tabwriter ------------------------------------------------------------------------


def tabwrite(text: str, *, minwidth: int = 0, padding: int = 2) -> str:
    """Align tab-terminated cells into columns, as Go's ``tabwriter.Writer`` does.

    A column block is a run of consecutive lines that have a cell in that column;
    each cell is padded to the block's widest cell plus ``padding``. The text after
    a line's last tab is not a cell and is never padded.
    """
    lines = [line.split("\t") for line in text.split("\n")]
    out: list[str] = []
    widths: list[int] = []

    def write_lines(line0: int, line1: int) -> None:
        for i in range(line0, line1):
            cells = lines[i]
            for j, cell in enumerate(cells):
                out.append(cell)
                if j < len(widths):
                    out.append(" " * (widths[j] - len(cell)))
            if i + 1 < len(lines):
                out.append("\n")

    def format_block(line0: int, line1: int) -> None:
        column = len(widths)
        this = line0
        while this < line1:
            if column >= len(lines[this]) - 1:
                this += 1
                continue
            write_lines(line0, this)
            line0 = this
            width = minwidth
            while this < line1 and column < len(lines[this]) - 1:
                width = max(width, len(lines[this][column]) + padding)
                this += 1
            widths.append(width)
            format_block(line0, this)
            widths.pop()
            line0 = this
        write_lines(line0, line1)

    format_block(0, len(lines))
    return "".join(out)


class PrefixWriter:
    """describe.go's prefixWriter over a tabwriter: text at a level of indentation."""

    def __init__(self) -> None:
        self._done: list[str] = []
        self._pending: list[str] = []

    def write(self, level: int, text: str) -> None:
        """Write ``text`` indented by ``level`` levels (terminal escapes neutralised)."""
        self._pending.append(_escape("  " * level + text))

    def write_line(self, *parts: Any) -> None:
        """Write ``parts`` joined by spaces and a newline (fmt.Sprintln)."""
        self._pending.append(_escape(" ".join(str(p) for p in parts) + "\n"))

    def flush(self) -> None:
        """Align what was written so far on its own; later text starts new columns."""
        if self._pending:
            self._done.append(tabwrite("".join(self._pending)))
            self._pending = []

    def text(self) -> str:
        """Everything written, aligned."""
        self.flush()
        return "".join(self._done)


def _escape(text: str) -> str:
    """printers.EscapeTerminal: ESC as ``^[``, CR as ``\\r``: output cannot drive a terminal."""
    return text.replace("\x1b", "^[").replace("\r", "\\r")


# -- formatting values as Go prints them ---------------------------------------------------------

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def rfc1123z(value: Any) -> str:
    """A timestamp as Go's time.RFC1123Z in UTC; an unset one as Go's zero time."""
    moment = parse_time(value)
    if moment is None:
        return "Mon, 01 Jan 0001 00:00:00 +0000"
    return (f"{_DAYS[moment.weekday()]}, {moment.day:02d} {_MONTHS[moment.month - 1]} "
            f"{moment.year:04d} {moment:%H:%M:%S} +0000")


def _go_float(x: float) -> str:
    """A float as Go's ``%v`` prints it: shortest digits, ``e+06`` from a million on."""
    if math.isnan(x) or math.isinf(x):
        return "NaN" if math.isnan(x) else ("+Inf" if x > 0 else "-Inf")
    if x == 0:
        return "0"
    sign, digits, exp = Decimal(repr(x)).normalize().as_tuple()
    text = "".join(map(str, digits))
    exponent = int(exp) + len(text) - 1
    prefix = "-" if sign else ""
    if exponent < -4 or exponent >= 6:  # strconv 'g', shortest: %e from exponent 6 on
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{prefix}{mantissa}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"
    return prefix + format(Decimal(repr(abs(x))).normalize(), "f")


def go_value(value: Any) -> str:
    """A JSON value as Go's ``%v`` prints it from an unstructured object."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, list):
        return "[" + " ".join(go_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "map[" + " ".join(f"{k}:{go_value(v)}" for k, v in sorted(value.items())) + "]"
    return str(value)


def _strings(value: Any) -> list[str]:
    """A list of strings as Go's ``%v`` of a []string: ``[a b]``."""
    return [str(v) for v in value] if isinstance(value, list) else []


def _slice(value: Any) -> str:
    return "[" + " ".join(_strings(value)) + "]"


def _bool(value: Any) -> str:
    """describe.go printBool: ``True`` / ``False``."""
    return "True" if value else "False"


def _quantity(value: Any) -> str:
    """A quantity in canonical form (``500m``, ``128Mi``), as resource.Quantity.String()."""
    if isinstance(value, Quantity):
        return str(value)
    try:
        return str(parse_quantity(value if isinstance(value, str) else go_value(value)))
    except (QuantityError, ValueError, TypeError):
        return str(value)


def _intstr(value: Any) -> str:
    """An IntOrString as it prints: ``1`` or ``25%``."""
    return "" if value is None else str(value)


# -- the shared pieces of describe.go ----------------------------------------------------------


def print_labels_multiline(w: PrefixWriter, title: str, labels: Any, initial_indent: str = "",
                           inner_indent: str = "\t") -> None:
    """printLabelsMultiline: ``Labels:  app=web`` and one more line per label, sorted."""
    w.write(LEVEL_0, f"{initial_indent}{title}:{inner_indent}")
    items = sorted(_map(labels).items())
    if not items:
        w.write_line("<none>")
        return
    for i, (key, value) in enumerate(items):
        if i:
            w.write(LEVEL_0, initial_indent)
            w.write(LEVEL_0, inner_indent)
        w.write(LEVEL_0, f"{key}={value}\n")


def print_annotations_multiline(w: PrefixWriter, title: str, annotations: Any) -> None:
    """printAnnotationsMultiline: long or multi-line values on lines of their own."""
    w.write(LEVEL_0, f"{title}:\t")
    keys = sorted(k for k in _map(annotations) if k not in SKIP_ANNOTATIONS)
    if not keys:
        w.write_line("<none>")
        return
    indent = "\t"
    for i, key in enumerate(keys):
        if i:
            w.write(LEVEL_0, indent)
        value = str(_map(annotations)[key]).removesuffix("\n")
        if len(value) + len(key) + 2 > MAX_ANNOTATION_LEN or "\n" in value:
            w.write(LEVEL_0, f"{key}:\n")
            for line in value.split("\n"):
                short = line[:MAX_ANNOTATION_LEN - 2] + "..." if (
                    len(line) > MAX_ANNOTATION_LEN - 2) else line
                w.write(LEVEL_0, f"{indent}  {short}\n")
        else:
            w.write(LEVEL_0, f"{key}: {value}\n")


def taint_string(taint: Mapping[str, Any]) -> str:
    """Taint.ToString(): ``key=value:Effect`` or ``key:Effect``."""
    key, value, effect = taint.get("key", ""), taint.get("value", ""), taint.get("effect", "")
    return f"{key}={value}:{effect}" if value else f"{key}:{effect}"


def print_taints_multiline(w: PrefixWriter, title: str, taints: Any, initial_indent: str = "",
                           inner_indent: str = "\t") -> None:
    """printNodeTaintsMultiline: sorted by effect, then key."""
    w.write(LEVEL_0, f"{initial_indent}{title}:{inner_indent}")
    items = sorted(_maps(taints), key=lambda t: f"{t.get('effect', '')},{t.get('key', '')}")
    if not items:
        w.write_line("<none>")
        return
    for i, taint in enumerate(items):
        if i:
            w.write(LEVEL_0, initial_indent)
            w.write(LEVEL_0, inner_indent)
        w.write(LEVEL_0, taint_string(taint) + "\n")


def print_tolerations_multiline(w: PrefixWriter, title: str, tolerations: Any,
                                initial_indent: str = "", inner_indent: str = "\t") -> None:
    """printPodTolerationsMultiline: ``key=value:Effect op=Exists for 300s``, sorted by key."""
    w.write(LEVEL_0, f"{initial_indent}{title}:{inner_indent}")
    items = sorted(_maps(tolerations), key=lambda t: str(t.get("key", "")))
    if not items:
        w.write_line("<none>")
        return
    for i, tol in enumerate(items):
        if i:
            w.write(LEVEL_0, initial_indent)
            w.write(LEVEL_0, inner_indent)
        key, value, effect = tol.get("key") or "", tol.get("value") or "", tol.get("effect") or ""
        text = str(key)
        if value:
            text += f"={value}"
        if effect:
            text += f":{effect}"
        if tol.get("operator") == "Exists" and not value:
            text += " op=Exists" if key or effect else "op=Exists"
        if tol.get("tolerationSeconds") is not None:
            text += f" for {_int(tol.get('tolerationSeconds'))}s"
        w.write(LEVEL_0, text + "\n")


def _event_time(event: Obj) -> datetime:
    """The time events sort by (event.SortableEvents): series, last timestamp, event time."""
    series = _map(event.get("series"))
    for value in (series.get("lastObservedTime"), event.get("lastTimestamp"),
                  event.get("eventTime")):
        moment = parse_time(value)
        if moment is not None:
            return moment
    return datetime.min.replace(tzinfo=timezone.utc)


def describe_events(events: Sequence[Obj], w: PrefixWriter, now: datetime) -> None:
    """DescribeEvents: ``Events:  <none>``, or Type, Reason, Age, From, Message oldest first."""
    if not events:
        w.write(LEVEL_0, "Events:\t<none>\n")
        return
    w.flush()
    w.write(LEVEL_0, "Events:\n  Type\tReason\tAge\tFrom\tMessage\n")
    w.write(LEVEL_1, "----\t------\t----\t----\t-------\n")
    for e in sorted(events, key=_event_time):
        first = since(e.get("eventTime"), now)
        if parse_time(e.get("eventTime")) is None:
            first = since(e.get("firstTimestamp"), now)
        series = e.get("series")
        count = _int(e.get("count"))
        if isinstance(series, Mapping):
            interval = (f"{since(series.get('lastObservedTime'), now)} "
                        f"(x{_int(series.get('count'))} over {first})")
        elif count > 1:
            interval = f"{since(e.get('lastTimestamp'), now)} (x{count} over {first})"
        else:
            interval = first
        source = _map(e.get("source")).get("component") or e.get("reportingController") or ""
        # kubectl v1.33 prefixes the involved object's fieldPath; v1.32 does not
        message = str(e.get("message", e.get("note")) or "").strip()
        w.write(LEVEL_1, f"{e.get('type', '')}\t{e.get('reason', '')}\t{interval}\t{source}\t"
                         f"{message}\n")


def events_for(obj: Obj, events: Sequence[Obj]) -> list[Obj]:
    """The events about ``obj``, as kubectl's searchEvents selects them.

    By involvedObject name, namespace and uid (and kind, except for pods); for a
    node also the kubelet's events, which carry the node's name as uid.
    """
    meta = _meta(obj)
    kind, name, namespace, uid = obj.get("kind"), meta.get("name"), meta.get("namespace"), \
        meta.get("uid")
    out = []
    for e in events:
        ref = _map(e.get("involvedObject") or e.get("regarding"))
        if ref.get("name") != name or (ref.get("namespace") or None) != (namespace or None):
            continue
        if kind != "Pod" and ref.get("kind") not in (None, kind):
            continue
        if uid and ref.get("uid") and ref.get("uid") != uid and not (
                kind == "Node" and ref.get("uid") == name):
            continue
        out.append(e)
    return out


def _controlled_by(obj: Obj) -> str:
    """printController: ``ReplicaSet/web-5d8f`` from the controller ownerReference."""
    for ref in _maps(_meta(obj).get("ownerReferences")):
        if ref.get("controller"):
            return f"{ref.get('kind', '')}/{ref.get('name', '')}"
    return ""


def _controller_uid(obj: Obj) -> str | None:
    for ref in _maps(_meta(obj).get("ownerReferences")):
        if ref.get("controller"):
            return ref.get("uid")
    return None


# -- containers, volumes, pod templates ------------------------------------------------------


def _ports(ports: Any, host: bool) -> str:
    """describeContainerPorts / describeContainerHostPorts: ``80/TCP, 443/TCP``.

    kubectl v1.33 added the port's name, ``80/TCP (http)``; v1.32 prints none.
    """
    return ", ".join(f"{_int(p.get('hostPort' if host else 'containerPort'))}/"
                     f"{p.get('protocol', '')}" for p in _maps(ports))


def describe_probe(probe: Mapping[str, Any]) -> str:
    """DescribeProbe: ``http-get http://:8080/healthz delay=0s timeout=1s period=10s ...``."""
    attrs = (f"delay={_int(probe.get('initialDelaySeconds'))}s "
             f"timeout={_int(probe.get('timeoutSeconds'))}s "
             f"period={_int(probe.get('periodSeconds'))}s "
             f"#success={_int(probe.get('successThreshold'))} "
             f"#failure={_int(probe.get('failureThreshold'))}")
    if isinstance(probe.get("exec"), Mapping):
        return f"exec {_slice(_map(probe['exec']).get('command'))} {attrs}"
    if isinstance(probe.get("httpGet"), Mapping):
        get = probe["httpGet"]
        host, port = str(get.get("host") or ""), _intstr(get.get("port"))
        if port:
            host = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        scheme = str(get.get("scheme") or "").lower()
        return f"http-get {scheme}://{host}{get.get('path') or ''} {attrs}"
    if isinstance(probe.get("tcpSocket"), Mapping):
        sock = probe["tcpSocket"]
        return f"tcp-socket {sock.get('host') or ''}:{_intstr(sock.get('port'))} {attrs}"
    if isinstance(probe.get("grpc"), Mapping):
        grpc = probe["grpc"]
        return f"grpc <pod>:{_int(grpc.get('port'))} {grpc.get('service') or ''} {attrs}"
    return f"unknown {attrs}"


def _describe_state(w: PrefixWriter, name: str, state: Mapping[str, Any]) -> None:
    """describeStatus: Running with its start, Waiting with its reason, Terminated in full."""
    if isinstance(state.get("running"), Mapping):
        w.write(LEVEL_2, f"{name}:\tRunning\n")
        w.write(LEVEL_3, f"Started:\t{rfc1123z(state['running'].get('startedAt'))}\n")
    elif isinstance(state.get("waiting"), Mapping):
        w.write(LEVEL_2, f"{name}:\tWaiting\n")
        if state["waiting"].get("reason"):
            w.write(LEVEL_3, f"Reason:\t{state['waiting']['reason']}\n")
    elif isinstance(state.get("terminated"), Mapping):
        t = state["terminated"]
        w.write(LEVEL_2, f"{name}:\tTerminated\n")
        if t.get("reason"):
            w.write(LEVEL_3, f"Reason:\t{t['reason']}\n")
        if t.get("message"):
            w.write(LEVEL_3, f"Message:\t{t['message']}\n")
        w.write(LEVEL_3, f"Exit Code:\t{_int(t.get('exitCode'))}\n")
        if _int(t.get("signal")) > 0:
            w.write(LEVEL_3, f"Signal:\t{_int(t.get('signal'))}\n")
        w.write(LEVEL_3, f"Started:\t{rfc1123z(t.get('startedAt'))}\n")
        w.write(LEVEL_3, f"Finished:\t{rfc1123z(t.get('finishedAt'))}\n")
    else:
        w.write(LEVEL_2, f"{name}:\tWaiting\n")


def _describe_resources(w: PrefixWriter, resources: Any, level: int) -> None:
    """describeResources: Limits then Requests, resource names sorted."""
    resources = _map(resources)
    for title, field in (("Limits", "limits"), ("Requests", "requests")):
        values = _map(resources.get(field))
        if values:
            w.write(level, f"{title}:\n")
        for name in sorted(values):
            w.write(level + 1, f"{name}:\t{_quantity(values[name])}\n")


_FIELD_REFS = {"metadata.name": ("metadata", "name"),
               "metadata.namespace": ("metadata", "namespace"),
               "metadata.uid": ("metadata", "uid"), "spec.nodeName": ("spec", "nodeName"),
               "spec.serviceAccountName": ("spec", "serviceAccountName"),
               "status.podIP": ("status", "podIP"), "status.hostIP": ("status", "hostIP")}


def _field_ref_value(pod: Obj | None, path: str) -> str:
    """fieldpath.ExtractFieldPathAsString for the common downward-API paths."""
    if pod is None:
        return ""
    if path in _FIELD_REFS:
        section, field = _FIELD_REFS[path]
        return str(_map(pod.get(section)).get(field) or "")
    for prefix, field in (("metadata.labels['", "labels"), ("metadata.annotations['",
                                                            "annotations")):
        if path.startswith(prefix) and path.endswith("']"):
            return str(_map(_meta(pod).get(field)).get(path[len(prefix):-2], ""))
    return ""


def _resource_field_value(ref: Mapping[str, Any], container: Mapping[str, Any]) -> str:
    """ExtractContainerResourceValue: a limit or request divided by the divisor, rounded up."""
    resource = str(ref.get("resource") or "")
    section, _, name = resource.partition(".")
    value = _map(_map(container.get("resources")).get(section)).get(name)
    try:
        divisor = parse_quantity(str(ref.get("divisor") or "1"))
        quantity = parse_quantity(str(value)) if value is not None else Quantity(0)
    except (QuantityError, ValueError):
        return ""
    if name == "cpu":
        return str(math.ceil(quantity.milli_value() / max(divisor.milli_value(), 1)))
    return str(math.ceil(quantity.value() / max(divisor.value(), 1)))


def _describe_env(w: PrefixWriter, container: Mapping[str, Any], pod: Obj | None) -> None:
    """describeContainerEnvVars (and describeContainerEnvFrom before it)."""
    env_from = _maps(container.get("envFrom"))
    if env_from:
        w.write(LEVEL_2, "Environment Variables from:\n")
        for e in env_from:
            ref, kind = (e.get("configMapRef"), "ConfigMap") if e.get("configMapRef") else (
                e.get("secretRef"), "Secret")
            ref = _map(ref)
            optional = "true" if ref.get("optional") else "false"
            if e.get("prefix"):
                w.write(LEVEL_3, f"{ref.get('name', '')}\t{kind} with prefix "
                                 f"'{e['prefix']}'\tOptional: {optional}\n")
            else:
                w.write(LEVEL_3, f"{ref.get('name', '')}\t{kind}\tOptional: {optional}\n")
    env = _maps(container.get("env"))
    w.write(LEVEL_2, "Environment:" + ("" if env else "\t<none>") + "\n")
    for e in env:
        name = e.get("name", "")
        source = _map(e.get("valueFrom"))
        if not source:
            for i, line in enumerate(str(e.get("value") or "").split("\n")):
                w.write(LEVEL_3, f"{name}:\t{line}\n" if i == 0 else f"\t{line}\n")
            continue
        if isinstance(source.get("fieldRef"), Mapping):
            ref = source["fieldRef"]
            value = _field_ref_value(pod, str(ref.get("fieldPath", "")))
            w.write(LEVEL_3, f"{name}:\t{value} ({ref.get('apiVersion', '')}:"
                             f"{ref.get('fieldPath', '')})\n")
        elif isinstance(source.get("resourceFieldRef"), Mapping):
            ref = source["resourceFieldRef"]
            value = _resource_field_value(ref, container)
            if value == "0" and ref.get("resource") in ("limits.cpu", "limits.memory"):
                value = "node allocatable"
            w.write(LEVEL_3, f"{name}:\t{value} ({ref.get('resource', '')})\n")
        elif isinstance(source.get("secretKeyRef"), Mapping):
            ref = source["secretKeyRef"]
            optional = "true" if ref.get("optional") else "false"
            w.write(LEVEL_3, f"{name}:\t<set to the key '{ref.get('key', '')}' in secret "
                             f"'{ref.get('name', '')}'>\tOptional: {optional}\n")
        elif isinstance(source.get("configMapKeyRef"), Mapping):
            ref = source["configMapKeyRef"]
            optional = "true" if ref.get("optional") else "false"
            w.write(LEVEL_3, f"{name}:\t<set to the key '{ref.get('key', '')}' of config map "
                             f"'{ref.get('name', '')}'>\tOptional: {optional}\n")


def _describe_mounts(w: PrefixWriter, container: Mapping[str, Any]) -> None:
    """describeContainerVolumes: ``/data from cache (rw)``, sorted by mount path."""
    mounts = sorted(_maps(container.get("volumeMounts")), key=lambda m: str(m.get("mountPath")))
    w.write(LEVEL_2, "Mounts:" + ("" if mounts else "\t<none>") + "\n")
    for m in mounts:
        flags = ["ro" if m.get("readOnly") else "rw"]
        if m.get("subPath"):
            flags.append(f'path="{m["subPath"]}"')
        w.write(LEVEL_3, f"{m.get('mountPath', '')} from {m.get('name', '')} "
                         f"({','.join(flags)})\n")
    devices = sorted(_maps(container.get("volumeDevices")), key=lambda d: str(d.get("devicePath")))
    if devices:
        w.write(LEVEL_2, "Devices:\n")
        for d in devices:
            w.write(LEVEL_3, f"{d.get('devicePath', '')} from {d.get('name', '')}\n")


def describe_containers(w: PrefixWriter, label: str, containers: Any, statuses: Any,
                        space: str, pod: Obj | None = None) -> None:
    """describeContainers: each container's image, ports, state, resources, probes, env, mounts."""
    by_name = {s.get("name"): s for s in _maps(statuses)}
    items = _maps(containers)
    w.write(LEVEL_0, f"{space}{label}:{'' if items else ' <none>'}\n")
    for c in items:
        status = by_name.get(c.get("name"))
        w.write(LEVEL_1, f"{' ' if space else ''}{c.get('name', '')}:\n")
        if status is not None:
            w.write(LEVEL_2, f"Container ID:\t{status.get('containerID') or ''}\n")
        w.write(LEVEL_2, f"Image:\t{c.get('image') or ''}\n")
        if status is not None:
            w.write(LEVEL_2, f"Image ID:\t{status.get('imageID') or ''}\n")
        ports = _ports(c.get("ports"), host=False)
        if "," in ports:
            w.write(LEVEL_2, f"Ports:\t{ports}\n")
        else:
            w.write(LEVEL_2, f"Port:\t{ports or '<none>'}\n")
        host_ports = _ports(c.get("ports"), host=True)
        if "," in host_ports:
            w.write(LEVEL_2, f"Host Ports:\t{host_ports}\n")
        else:
            w.write(LEVEL_2, f"Host Port:\t{host_ports or '<none>'}\n")
        for title, field in (("Command", "command"), ("Args", "args")):
            values = _strings(c.get(field))
            if values:
                w.write(LEVEL_2, f"{title}:\n")
                for value in values:
                    for line in value.split("\n"):
                        w.write(LEVEL_3, f"{line}\n")
        if status is not None:
            _describe_state(w, "State", _map(status.get("state")))
            last = _map(status.get("lastState"))
            if isinstance(last.get("terminated"), Mapping):
                _describe_state(w, "Last State", last)
            w.write(LEVEL_2, f"Ready:\t{_bool(status.get('ready'))}\n")
            w.write(LEVEL_2, f"Restart Count:\t{_int(status.get('restartCount'))}\n")
        _describe_resources(w, c.get("resources"), LEVEL_2)
        for title, field in (("Liveness", "livenessProbe"), ("Readiness", "readinessProbe"),
                             ("Startup", "startupProbe")):
            if isinstance(c.get(field), Mapping):
                w.write(LEVEL_2, f"{title}:\t{describe_probe(c[field])}\n")
        _describe_env(w, c, pod)
        _describe_mounts(w, c)


def _describe_volume_source(w: PrefixWriter, volume: Mapping[str, Any]) -> None:
    """One volume's type and fields, for the common sources."""
    if isinstance(volume.get("hostPath"), Mapping):
        hp = volume["hostPath"]
        w.write(LEVEL_2, "Type:\tHostPath (bare host directory volume)\n"
                         f"    Path:\t{hp.get('path', '')}\n"
                         f"    HostPathType:\t{hp.get('type') or '<none>'}\n")
    elif isinstance(volume.get("emptyDir"), Mapping):
        ed = volume["emptyDir"]
        limit = ed.get("sizeLimit")
        limit_text = _quantity(limit) if limit not in (None, "", "0", 0) else "<unset>"
        w.write(LEVEL_2, "Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)\n"
                         f"    Medium:\t{ed.get('medium') or ''}\n"
                         f"    SizeLimit:\t{limit_text}\n")
    elif isinstance(volume.get("secret"), Mapping):
        s = volume["secret"]
        w.write(LEVEL_2, "Type:\tSecret (a volume populated by a Secret)\n"
                         f"    SecretName:\t{s.get('secretName', '')}\n"
                         f"    Optional:\t{'true' if s.get('optional') else 'false'}\n")
    elif isinstance(volume.get("configMap"), Mapping):
        cm = volume["configMap"]
        w.write(LEVEL_2, "Type:\tConfigMap (a volume populated by a ConfigMap)\n"
                         f"    Name:\t{cm.get('name', '')}\n"
                         f"    Optional:\t{'true' if cm.get('optional') else 'false'}\n")
    elif isinstance(volume.get("persistentVolumeClaim"), Mapping):
        pvc = volume["persistentVolumeClaim"]
        w.write(LEVEL_2, "Type:\tPersistentVolumeClaim (a reference to a PersistentVolumeClaim "
                         "in the same namespace)\n"
                         f"    ClaimName:\t{pvc.get('claimName', '')}\n"
                         f"    ReadOnly:\t{'true' if pvc.get('readOnly') else 'false'}\n")
    elif isinstance(volume.get("projected"), Mapping):
        w.write(LEVEL_2, "Type:\tProjected (a volume that contains injected data from multiple "
                         "sources)\n")
        for source in _maps(volume["projected"].get("sources")):
            if isinstance(source.get("secret"), Mapping):
                w.write(LEVEL_2, f"SecretName:\t{source['secret'].get('name', '')}\n"
                                 f"    SecretOptional:\t{_go_pointer(source['secret'])}\n")
            elif source.get("downwardAPI") is not None:
                w.write(LEVEL_2, "DownwardAPI:\ttrue\n")
            elif isinstance(source.get("configMap"), Mapping):
                w.write(LEVEL_2, f"ConfigMapName:\t{source['configMap'].get('name', '')}\n"
                                 f"    ConfigMapOptional:\t{_go_pointer(source['configMap'])}\n")
            elif isinstance(source.get("serviceAccountToken"), Mapping):
                seconds = _int(source["serviceAccountToken"].get("expirationSeconds"))
                w.write(LEVEL_2, f"TokenExpirationSeconds:\t{seconds}\n")
    elif isinstance(volume.get("downwardAPI"), Mapping):
        w.write(LEVEL_2, "Type:\tDownwardAPI (a volume populated by information about the pod)\n"
                         "    Items:\n")
        for item in _maps(volume["downwardAPI"].get("items")):
            if isinstance(item.get("fieldRef"), Mapping):
                w.write(LEVEL_3, f"{item['fieldRef'].get('fieldPath', '')} -> "
                                 f"{item.get('path', '')}\n")
            if isinstance(item.get("resourceFieldRef"), Mapping):
                w.write(LEVEL_3, f"{item['resourceFieldRef'].get('resource', '')} -> "
                                 f"{item.get('path', '')}\n")
    else:
        w.write(LEVEL_1, "<unknown>\n")


def _go_pointer(source: Mapping[str, Any]) -> str:
    """An optional ``*bool`` as kubectl v1.32 prints it with %v: ``<nil>`` when unset.

    A set pointer prints as its address in Go; its value is shown here instead.
    """
    value = source.get("optional")
    return "<nil>" if value is None else ("true" if value else "false")


def describe_volumes(w: PrefixWriter, volumes: Any, space: str) -> None:
    """describeVolumes: ``Volumes:  <none>`` or each volume and its source."""
    items = _maps(volumes)
    if not items:
        w.write(LEVEL_0, f"{space}Volumes:\t<none>\n")
        return
    w.write(LEVEL_0, f"{space}Volumes:\n")
    for volume in items:
        w.write(LEVEL_1, f"{' ' if space else ''}{volume.get('name', '')}:\n")
        _describe_volume_source(w, volume)


def _describe_topology_spread(w: PrefixWriter, constraints: Any, space: str) -> None:
    """describeTopologySpreadConstraints, sorted by topology key."""
    items = sorted(_maps(constraints), key=lambda c: str(c.get("topologyKey", "")))
    if not items:
        return
    w.write(LEVEL_0, f"{space}Topology Spread Constraints:\t")
    for i, c in enumerate(items):
        if i:
            w.write(LEVEL_0, space)
            w.write(LEVEL_0, "\t")
        text = (f"{c.get('topologyKey', '')}:{c.get('whenUnsatisfiable', '')} when max skew "
                f"{_int(c.get('maxSkew'))} is exceeded")
        if isinstance(c.get("labelSelector"), Mapping):
            text += f" for selector {format_label_selector(c['labelSelector'])}"
        w.write(LEVEL_0, text + "\n")


def describe_pod_template(w: PrefixWriter, template: Any) -> None:
    """DescribePodTemplate: the template's labels, containers and volumes, two spaces in."""
    w.write(LEVEL_0, "Pod Template:\n")
    if not isinstance(template, Mapping):
        w.write(LEVEL_1, "<unset>")
        return
    meta, spec = _map(template.get("metadata")), _map(template.get("spec"))
    print_labels_multiline(w, "  Labels", meta.get("labels"))
    if meta.get("annotations"):
        print_annotations_multiline(w, "  Annotations", meta.get("annotations"))
    if spec.get("serviceAccountName"):
        w.write(LEVEL_1, f"Service Account:\t{spec['serviceAccountName']}\n")
    if _maps(spec.get("initContainers")):
        describe_containers(w, "Init Containers", spec.get("initContainers"), None, "  ")
    describe_containers(w, "Containers", spec.get("containers"), None, "  ")
    describe_volumes(w, spec.get("volumes"), "  ")
    _describe_topology_spread(w, spec.get("topologySpreadConstraints"), "  ")
    if spec.get("priorityClassName"):
        w.write(LEVEL_1, f"Priority Class Name:\t{spec['priorityClassName']}\n")
    print_labels_multiline(w, "  Node-Selectors", spec.get("nodeSelector"))
    print_tolerations_multiline(w, "  Tolerations", spec.get("tolerations"))


def pod_qos_class(pod: Obj) -> str:
    """The pod's QoS class: status.qosClass, else computed as qos.GetPodQOS does."""
    if _status(pod).get("qosClass"):
        return str(_status(pod)["qosClass"])
    spec = _spec(pod)
    requests: dict[str, Quantity] = {}
    limits: dict[str, Quantity] = {}
    guaranteed = True
    for c in _maps(spec.get("containers")) + _maps(spec.get("initContainers")):
        resources = _map(c.get("resources"))
        for field, total in (("requests", requests), ("limits", limits)):
            found = set()
            for name, value in _map(resources.get(field)).items():
                if name not in ("cpu", "memory"):
                    continue
                try:
                    q = parse_quantity(str(value))
                except (QuantityError, ValueError):
                    continue
                if q.sign() > 0:
                    found.add(name)
                    total[name] = total[name] + q if name in total else q
            if field == "limits" and not {"cpu", "memory"} <= found:
                guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    if guaranteed and all(name in limits and limits[name] == q for name, q in requests.items()) \
            and len(requests) == len(limits):
        return "Guaranteed"
    return "Burstable"


# -- the describers -----------------------------------------------------------------------------


def describe_pod(pod: Obj, events: Sequence[Obj] | None, now: datetime) -> str:
    """describePod."""
    meta, spec, status = _meta(pod), _spec(pod), _status(pod)
    w = PrefixWriter()
    w.write(LEVEL_0, f"Name:\t{meta.get('name', '')}\n")
    w.write(LEVEL_0, f"Namespace:\t{meta.get('namespace', '')}\n")
    if spec.get("priority") is not None:
        w.write(LEVEL_0, f"Priority:\t{_int(spec.get('priority'))}\n")
    if spec.get("priorityClassName"):
        w.write(LEVEL_0, f"Priority Class Name:\t{spec['priorityClassName']}\n")
    if spec.get("runtimeClassName"):
        w.write(LEVEL_0, f"Runtime Class Name:\t{spec['runtimeClassName']}\n")
    if spec.get("serviceAccountName"):
        w.write(LEVEL_0, f"Service Account:\t{spec['serviceAccountName']}\n")
    if not spec.get("nodeName"):
        w.write(LEVEL_0, "Node:\t<none>\n")
    else:
        w.write(LEVEL_0, f"Node:\t{spec['nodeName']}/{status.get('hostIP') or ''}\n")
    if status.get("startTime"):
        w.write(LEVEL_0, f"Start Time:\t{rfc1123z(status['startTime'])}\n")
    print_labels_multiline(w, "Labels", meta.get("labels"))
    print_annotations_multiline(w, "Annotations", meta.get("annotations"))
    phase = str(status.get("phase") or "")
    if meta.get("deletionTimestamp") and phase not in ("Failed", "Succeeded"):
        w.write(LEVEL_0, f"Status:\tTerminating (lasts {since(meta['deletionTimestamp'], now)})\n")
        w.write(LEVEL_0, "Termination Grace Period:\t"
                         f"{_int(meta.get('deletionGracePeriodSeconds'))}s\n")
    else:
        w.write(LEVEL_0, f"Status:\t{phase}\n")
    if status.get("reason"):
        w.write(LEVEL_0, f"Reason:\t{status['reason']}\n")
    if status.get("message"):
        w.write(LEVEL_0, f"Message:\t{status['message']}\n")
    seccomp = _map(_map(spec.get("securityContext")).get("seccompProfile"))
    if seccomp:
        w.write(LEVEL_0, f"SeccompProfile:\t{seccomp.get('type', '')}\n")
        if seccomp.get("type") == "Localhost":
            w.write(LEVEL_0, f"LocalhostProfile:\t{seccomp.get('localhostProfile', '')}\n")
    w.write(LEVEL_0, f"IP:\t{status.get('podIP') or ''}\n")
    pod_ips = _maps(status.get("podIPs"))
    if not pod_ips:
        w.write(LEVEL_0, "IPs:\t<none>\n")
    else:
        w.write(LEVEL_0, "IPs:\n")
        for ip in pod_ips:
            w.write(LEVEL_1, f"IP:\t{ip.get('ip', '')}\n")
    if _controlled_by(pod):
        w.write(LEVEL_0, f"Controlled By:\t{_controlled_by(pod)}\n")
    if status.get("nominatedNodeName"):
        w.write(LEVEL_0, f"NominatedNodeName:\t{status['nominatedNodeName']}\n")
    if isinstance(spec.get("resources"), Mapping):
        w.write(LEVEL_0, "Resources:\n")
        _describe_resources(w, spec["resources"], LEVEL_1)
    if _maps(spec.get("initContainers")):
        describe_containers(w, "Init Containers", spec.get("initContainers"),
                            status.get("initContainerStatuses"), "", pod)
    describe_containers(w, "Containers", spec.get("containers"), status.get("containerStatuses"),
                        "", pod)
    gates = _maps(spec.get("readinessGates"))
    if gates:
        w.write(LEVEL_0, "Readiness Gates:\n  Type\tStatus\n")
        for gate in gates:
            value = "<none>"
            for cond in _maps(status.get("conditions")):
                if cond.get("type") == gate.get("conditionType"):
                    value = str(cond.get("status", ""))
                    break
            w.write(LEVEL_1, f"{gate.get('conditionType', '')} \t{value} \n")
    conditions = _maps(status.get("conditions"))
    if conditions:
        w.write(LEVEL_0, "Conditions:\n  Type\tStatus\n")
        for cond in conditions:
            w.write(LEVEL_1, f"{cond.get('type', '')} \t{cond.get('status', '')} \n")
    describe_volumes(w, spec.get("volumes"), "")
    w.write(LEVEL_0, f"QoS Class:\t{pod_qos_class(pod)}\n")
    print_labels_multiline(w, "Node-Selectors", spec.get("nodeSelector"))
    print_tolerations_multiline(w, "Tolerations", spec.get("tolerations"))
    _describe_topology_spread(w, spec.get("topologySpreadConstraints"), "")
    if events is not None:
        describe_events(events, w, now)
    return w.text()


def _percent(part: int, whole: int) -> int:
    """int64(float64(part) / float64(whole) * 100), 0 when ``whole`` is 0."""
    return int(part / whole * 100) if whole else 0


def _pod_resource_sums(pods: Sequence[Obj]) -> tuple[dict[str, Quantity], dict[str, Quantity]]:
    """getPodsTotalRequestsAndLimits."""
    reqs: dict[str, Quantity] = {}
    limits: dict[str, Quantity] = {}
    for pod in pods:
        for total, part in ((reqs, _safe(pod_requests, pod)), (limits, _safe(pod_limits, pod))):
            for name, q in part.items():
                total[name] = total[name] + q if name in total else q
    return reqs, limits


def _safe(fn: Any, pod: Obj) -> dict[str, Quantity]:
    try:
        return fn(pod)
    except (QuantityError, ValueError, TypeError):
        return {}


def _resource_quantity(values: Mapping[str, Any], name: str) -> Quantity:
    value = values.get(name)
    if isinstance(value, Quantity):
        return value
    try:
        return parse_quantity(str(value)) if value is not None else Quantity(0)
    except (QuantityError, ValueError):
        return Quantity(0)


def _describe_node_resource(w: PrefixWriter, node: Obj, pods: Sequence[Obj], now: datetime) -> None:
    """describeNodeResource: the node's pods with their share, then the totals."""
    w.write(LEVEL_0, f"Non-terminated Pods:\t({len(pods)} in total)\n")
    w.write(LEVEL_1, "Namespace\tName\t\tCPU Requests\tCPU Limits\tMemory Requests\tMemory Limits"
                     "\tAge\n")
    w.write(LEVEL_1, "---------\t----\t\t------------\t----------\t---------------\t-------------"
                     "\t---\n")
    status = _status(node)
    allocatable = _map(status.get("allocatable")) or _map(status.get("capacity"))
    cpu = _resource_quantity(allocatable, "cpu").milli_value()
    memory = _resource_quantity(allocatable, "memory").value()
    for pod in pods:
        req, lim = _safe(pod_requests, pod), _safe(pod_limits, pod)
        zero = Quantity(0)
        cr, cl = req.get("cpu", zero), lim.get("cpu", zero)
        mr, ml = req.get("memory", zero), lim.get("memory", zero)
        w.write(LEVEL_1, f"{_meta(pod).get('namespace', '')}\t{_meta(pod).get('name', '')}\t\t"
                         f"{cr} ({_percent(cr.milli_value(), cpu)}%)\t"
                         f"{cl} ({_percent(cl.milli_value(), cpu)}%)\t"
                         f"{mr} ({_percent(mr.value(), memory)}%)\t"
                         f"{ml} ({_percent(ml.value(), memory)}%)\t"
                         f"{since(_meta(pod).get('creationTimestamp'), now)}\n")
    w.write(LEVEL_0, "Allocated resources:\n  (Total limits may be over 100 percent, i.e., "
                     "overcommitted.)\n")
    w.write(LEVEL_1, "Resource\tRequests\tLimits\n")
    w.write(LEVEL_1, "--------\t--------\t------\n")
    reqs, limits = _pod_resource_sums(pods)
    for name, milli in (("cpu", True), ("memory", False), ("ephemeral-storage", False)):
        whole = _resource_quantity(allocatable, name)
        r, lim = reqs.get(name, Quantity(0)), limits.get(name, Quantity(0))
        if milli:
            rp, lp = _percent(r.milli_value(), whole.milli_value()), \
                _percent(lim.milli_value(), whole.milli_value())
        else:
            rp, lp = _percent(r.value(), whole.value()), _percent(lim.value(), whole.value())
        w.write(LEVEL_1, f"{name}\t{r} ({rp}%)\t{lim} ({lp}%)\n")
    hugepages = sorted(n for n in allocatable if n.startswith("hugepages-"))
    for name in hugepages:
        whole = _resource_quantity(allocatable, name).value()
        r, lim = reqs.get(name, Quantity(0)), limits.get(name, Quantity(0))
        w.write(LEVEL_1, f"{name}\t{r} ({_percent(r.value(), whole)}%)\t"
                         f"{lim} ({_percent(lim.value(), whole)}%)\n")
    standard = {"cpu", "memory", "ephemeral-storage", "pods"}
    for name in sorted(n for n in allocatable if n not in standard and n not in hugepages):
        w.write(LEVEL_1, f"{name}\t{reqs.get(name, Quantity(0))}\t"
                         f"{limits.get(name, Quantity(0))}\n")


def describe_node(node: Obj, events: Sequence[Obj] | None, now: datetime, *,
                  pods: Sequence[Obj] | None = None, lease: Obj | None = None) -> str:
    """describeNode: conditions, addresses, capacity, system info, pods and their share."""
    meta, spec, status = _meta(node), _spec(node), _status(node)
    name = str(meta.get("name", ""))
    w = PrefixWriter()
    w.write(LEVEL_0, f"Name:\t{name}\n")
    w.write(LEVEL_0, f"Roles:\t{','.join(node_roles(node)) or '<none>'}\n")
    print_labels_multiline(w, "Labels", meta.get("labels"))
    print_annotations_multiline(w, "Annotations", meta.get("annotations"))
    w.write(LEVEL_0, f"CreationTimestamp:\t{rfc1123z(meta.get('creationTimestamp'))}\n")
    print_taints_multiline(w, "Taints", spec.get("taints"))
    w.write(LEVEL_0, f"Unschedulable:\t{'true' if spec.get('unschedulable') else 'false'}\n")
    if lease is None:
        missing = NotFound("leases", name, group="coordination.k8s.io")
        w.write(LEVEL_0, f"Lease:\tFailed to get lease: {missing}\n")
    else:
        lease_spec = _spec(lease)
        w.write(LEVEL_0, "Lease:\n")
        w.write(LEVEL_1, f"HolderIdentity:\t{lease_spec.get('holderIdentity') or '<unset>'}\n")
        for title, field in (("AcquireTime", "acquireTime"), ("RenewTime", "renewTime")):
            value = lease_spec.get(field)
            w.write(LEVEL_1, f"{title}:\t{rfc1123z(value) if value else '<unset>'}\n")
    conditions = _maps(status.get("conditions"))
    if conditions:
        w.write(LEVEL_0, "Conditions:\n  Type\tStatus\tLastHeartbeatTime\tLastTransitionTime"
                         "\tReason\tMessage\n")
        w.write(LEVEL_1, "----\t------\t-----------------\t------------------\t------\t-------\n")
        for c in conditions:
            w.write(LEVEL_1, f"{c.get('type', '')} \t{c.get('status', '')} \t"
                             f"{rfc1123z(c.get('lastHeartbeatTime'))} \t"
                             f"{rfc1123z(c.get('lastTransitionTime'))} \t"
                             f"{c.get('reason', '')} \t{c.get('message', '')}\n")
    w.write(LEVEL_0, "Addresses:\n")
    for address in _maps(status.get("addresses")):
        w.write(LEVEL_1, f"{address.get('type', '')}:\t{address.get('address', '')}\n")
    for title, field in (("Capacity", "capacity"), ("Allocatable", "allocatable")):
        values = _map(status.get(field))
        if values:
            w.write(LEVEL_0, f"{title}:\n")
            for resource in sorted(values):
                w.write(LEVEL_0, f"  {resource}:\t{_quantity(values[resource])}\n")
    info = _map(status.get("nodeInfo"))
    w.write(LEVEL_0, "System Info:\n")
    for title, field in (("Machine ID", "machineID"), ("System UUID", "systemUUID"),
                         ("Boot ID", "bootID"), ("Kernel Version", "kernelVersion"),
                         ("OS Image", "osImage"), ("Operating System", "operatingSystem"),
                         ("Architecture", "architecture"),
                         ("Container Runtime Version", "containerRuntimeVersion"),
                         ("Kubelet Version", "kubeletVersion"),
                         ("Kube-Proxy Version", "kubeProxyVersion")):  # gone after v1.32
        w.write(LEVEL_0, f"  {title}:\t{info.get(field) or ''}\n")
    if spec.get("podCIDR"):
        w.write(LEVEL_0, f"PodCIDR:\t{spec['podCIDR']}\n")
    if _strings(spec.get("podCIDRs")):
        w.write(LEVEL_0, f"PodCIDRs:\t{','.join(_strings(spec['podCIDRs']))}\n")
    if spec.get("providerID"):
        w.write(LEVEL_0, f"ProviderID:\t{spec['providerID']}\n")
    on_node = [p for p in pods or [] if _spec(p).get("nodeName") == name
               and _status(p).get("phase") not in ("Succeeded", "Failed")]
    _describe_node_resource(w, node, on_node, now)
    if events is not None:
        describe_events(events, w, now)
    return w.text()


def _pod_counts(owner: Obj, pods: Sequence[Obj] | None, selector: Any) -> str:
    """getPodStatusForController: ``1 Running / 0 Waiting / 0 Succeeded / 0 Failed``."""
    counts = {"Running": 0, "Pending": 0, "Succeeded": 0, "Failed": 0}
    try:
        match = LabelSelector.from_dict(selector if isinstance(selector, Mapping) else None)
    except SelectorError:
        match = LabelSelector.nothing()
    uid = _meta(owner).get("uid")
    for pod in pods or []:
        if not match.matches(_meta(pod).get("labels")) or _controller_uid(pod) != uid:
            continue
        phase = _status(pod).get("phase")
        if phase in counts:
            counts[phase] += 1
    return (f"{counts['Running']} Running / {counts['Pending']} Waiting / "
            f"{counts['Succeeded']} Succeeded / {counts['Failed']} Failed")


def _write_conditions(w: PrefixWriter, conditions: list[Mapping[str, Any]]) -> None:
    """A workload's conditions table: Type, Status, Reason."""
    if not conditions:
        return
    w.write(LEVEL_0, "Conditions:\n  Type\tStatus\tReason\n")
    w.write(LEVEL_1, "----\t------\t------\n")
    for c in conditions:
        w.write(LEVEL_1, f"{c.get('type', '')} \t{c.get('status', '')}\t{c.get('reason', '')}\n")


def describe_replica_set(rs: Obj, events: Sequence[Obj] | None, now: datetime, *,
                         pods: Sequence[Obj] | None = None) -> str:
    """describeReplicaSet."""
    meta, spec, status = _meta(rs), _spec(rs), _status(rs)
    w = PrefixWriter()
    w.write(LEVEL_0, f"Name:\t{meta.get('name', '')}\n")
    w.write(LEVEL_0, f"Namespace:\t{meta.get('namespace', '')}\n")
    w.write(LEVEL_0, f"Selector:\t{format_label_selector(spec.get('selector'))}\n")
    print_labels_multiline(w, "Labels", meta.get("labels"))
    print_annotations_multiline(w, "Annotations", meta.get("annotations"))
    if _controlled_by(rs):
        w.write(LEVEL_0, f"Controlled By:\t{_controlled_by(rs)}\n")
    w.write(LEVEL_0, f"Replicas:\t{_int(status.get('replicas'))} current / "
                     f"{_int(spec.get('replicas'))} desired\n")
    w.write(LEVEL_0, "Pods Status:\t")
    w.write(LEVEL_0, _pod_counts(rs, pods, spec.get("selector")) + "\n")
    describe_pod_template(w, spec.get("template"))
    conditions = _maps(status.get("conditions"))
    _write_conditions(w, conditions)
    if events is not None:
        describe_events(events, w, now)
    return w.text()


def _strip_hash(template: Any) -> Any:
    """A pod template without the ``pod-template-hash`` label the deployment controller adds."""
    template = dict(_map(template))
    meta = dict(_map(template.get("metadata")))
    labels = {k: v for k, v in _map(meta.get("labels")).items() if k != "pod-template-hash"}
    meta["labels"] = labels
    template["metadata"] = meta
    return template


def _replica_sets_text(sets: Sequence[Obj]) -> str:
    """printReplicaSetsByLabels: ``web-5d8f (3/3 replicas created)``."""
    text = ", ".join(f"{_meta(rs).get('name', '')} ({_int(_status(rs).get('replicas'))}/"
                     f"{_int(_spec(rs).get('replicas'))} replicas created)" for rs in sets)
    return text or "<none>"


def describe_deployment(d: Obj, events: Sequence[Obj] | None, now: datetime, *,
                        replica_sets: Sequence[Obj] | None = None) -> str:
    """describeDeployment: replicas, strategy, template, conditions, its ReplicaSets."""
    meta, spec, status = _meta(d), _spec(d), _status(d)
    w = PrefixWriter()
    w.write(LEVEL_0, f"Name:\t{meta.get('name', '')}\n")
    w.write(LEVEL_0, f"Namespace:\t{meta.get('namespace', '')}\n")
    w.write(LEVEL_0, f"CreationTimestamp:\t{rfc1123z(meta.get('creationTimestamp'))}\n")
    print_labels_multiline(w, "Labels", meta.get("labels"))
    print_annotations_multiline(w, "Annotations", meta.get("annotations"))
    w.write(LEVEL_0, f"Selector:\t{_selector_string(spec.get('selector'))}\n")
    w.write(LEVEL_0, f"Replicas:\t{_int(spec.get('replicas'))} desired | "
                     f"{_int(status.get('updatedReplicas'))} updated | "
                     f"{_int(status.get('replicas'))} total | "
                     f"{_int(status.get('availableReplicas'))} available | "
                     f"{_int(status.get('unavailableReplicas'))} unavailable\n")
    strategy = _map(spec.get("strategy"))
    w.write(LEVEL_0, f"StrategyType:\t{strategy.get('type') or ''}\n")
    w.write(LEVEL_0, f"MinReadySeconds:\t{_int(spec.get('minReadySeconds'))}\n")
    if isinstance(strategy.get("rollingUpdate"), Mapping):
        ru = strategy["rollingUpdate"]
        w.write(LEVEL_0, f"RollingUpdateStrategy:\t{_intstr(ru.get('maxUnavailable'))} max "
                         f"unavailable, {_intstr(ru.get('maxSurge'))} max surge\n")
    describe_pod_template(w, spec.get("template"))
    conditions = _maps(status.get("conditions"))
    _write_conditions(w, conditions)
    uid = meta.get("uid")
    owned = [rs for rs in replica_sets or [] if _controller_uid(rs) == uid]
    want = _strip_hash(spec.get("template"))
    owned.sort(key=lambda rs: (_meta(rs).get("creationTimestamp") or "", _meta(rs).get("name")))
    new = [rs for rs in owned if _strip_hash(_spec(rs).get("template")) == want][:1]
    # GetAllReplicaSets' first answer: old ReplicaSets that still have replicas
    old = [rs for rs in owned if rs not in new and _int(_spec(rs).get("replicas")) != 0]
    if replica_sets is not None:
        w.write(LEVEL_0, f"OldReplicaSets:\t{_replica_sets_text(old)}\n")
        w.write(LEVEL_0, f"NewReplicaSet:\t{_replica_sets_text(new)}\n")
    if events is not None:
        describe_events(events, w, now)
    return w.text()


def format_endpoint_slices(slices: Sequence[Obj], ports: set[str] | None) -> str:
    """formatEndpointSlices: ready endpoints of a service port, three at most, ``<none>``."""
    if not slices:
        return "<none>"
    out: list[str] = []
    maximum, more, count = 3, False, 0
    for eps in slices:
        slice_ports = _maps(eps.get("ports"))
        endpoints = _maps(eps.get("endpoints"))
        if not slice_ports:
            for ep in endpoints:
                if len(out) == maximum:
                    more = True
                if _map(ep.get("conditions")).get("ready") is False:
                    continue
                if not more and _strings(ep.get("addresses")):
                    out.append(_strings(ep.get("addresses"))[0])
                count += 1
            continue
        for port in slice_ports:
            if ports is not None and (port.get("name") or "") not in ports:
                continue
            for ep in endpoints:
                if len(out) == maximum:
                    more = True
                addresses = _strings(ep.get("addresses"))
                if _map(ep.get("conditions")).get("ready") is False or not addresses:
                    continue
                if not more:
                    host = addresses[0]
                    host = f"[{host}]" if ":" in host else host
                    out.append(f"{host}:{_int(port.get('port'))}")
                count += 1
    text = ",".join(out)
    return f"{text} + {count - maximum} more..." if more else text


def describe_service(svc: Obj, events: Sequence[Obj] | None, now: datetime, *,
                     endpoint_slices: Sequence[Obj] | None = None) -> str:
    """describeService: type, IPs, each port with its target and endpoints."""
    meta, spec = _meta(svc), _spec(svc)
    name = meta.get("name")
    slices = [s for s in endpoint_slices or []
              if _map(_meta(s).get("labels")).get("kubernetes.io/service-name") == name]
    w = PrefixWriter()
    w.write(LEVEL_0, f"Name:\t{name or ''}\n")
    w.write(LEVEL_0, f"Namespace:\t{meta.get('namespace', '')}\n")
    print_labels_multiline(w, "Labels", meta.get("labels"))
    print_annotations_multiline(w, "Annotations", meta.get("annotations"))
    w.write(LEVEL_0, f"Selector:\t{format_labels(spec.get('selector'))}\n")
    w.write(LEVEL_0, f"Type:\t{spec.get('type') or ''}\n")
    if spec.get("ipFamilyPolicy"):
        w.write(LEVEL_0, f"IP Family Policy:\t{spec['ipFamilyPolicy']}\n")
    families = _strings(spec.get("ipFamilies"))
    w.write(LEVEL_0, f"IP Families:\t{','.join(families) or '<none>'}\n")
    w.write(LEVEL_0, f"IP:\t{spec.get('clusterIP') or ''}\n")
    w.write(LEVEL_0, f"IPs:\t{','.join(_strings(spec.get('clusterIPs'))) or '<none>'}\n")
    if _strings(spec.get("externalIPs")):
        w.write(LEVEL_0, f"External IPs:\t{','.join(_strings(spec['externalIPs']))}\n")
    if spec.get("loadBalancerIP"):
        w.write(LEVEL_0, f"Desired LoadBalancer IP:\t{spec['loadBalancerIP']}\n")
    if spec.get("externalName"):
        w.write(LEVEL_0, f"External Name:\t{spec['externalName']}\n")
    ingress = _maps(_map(_status(svc).get("loadBalancer")).get("ingress"))
    if ingress:
        points = []
        for i in ingress:
            text = str(i.get("ip") or i.get("hostname") or "")
            if i.get("ip") and i.get("ipMode"):
                text += f" ({i['ipMode']})"
            points.append(text)
        w.write(LEVEL_0, f"LoadBalancer Ingress:\t{', '.join(points)}\n")
    for port in _maps(spec.get("ports")):
        port_name = port.get("name") or "<unset>"
        protocol = port.get("protocol") or ""
        w.write(LEVEL_0, f"Port:\t{port_name}\t{_int(port.get('port'))}/{protocol}\n")
        target = port.get("targetPort")
        w.write(LEVEL_0, f"TargetPort:\t{_intstr(target) if target is not None else 0}/"
                         f"{protocol}\n")
        if port.get("appProtocol"):
            w.write(LEVEL_0, f"AppProtocol:\t{port['appProtocol']}\n")
        if _int(port.get("nodePort")):
            w.write(LEVEL_0, f"NodePort:\t{port_name}\t{_int(port['nodePort'])}/{protocol}\n")
        endpoints = format_endpoint_slices(slices, {str(port.get("name") or "")})
        w.write(LEVEL_0, f"Endpoints:\t{endpoints}\n")
    w.write(LEVEL_0, f"Session Affinity:\t{spec.get('sessionAffinity') or ''}\n")
    if spec.get("externalTrafficPolicy"):
        w.write(LEVEL_0, f"External Traffic Policy:\t{spec['externalTrafficPolicy']}\n")
    if spec.get("internalTrafficPolicy"):
        w.write(LEVEL_0, f"Internal Traffic Policy:\t{spec['internalTrafficPolicy']}\n")
    if _int(spec.get("healthCheckNodePort")):
        w.write(LEVEL_0, f"HealthCheck NodePort:\t{spec['healthCheckNodePort']}\n")
    if _strings(spec.get("loadBalancerSourceRanges")):
        w.write(LEVEL_0, "LoadBalancer Source Ranges:\t"
                         f"{','.join(_strings(spec['loadBalancerSourceRanges']))}\n")
    if spec.get("trafficDistribution"):
        w.write(LEVEL_0, f"Traffic Distribution:\t{spec['trafficDistribution']}\n")
    if events is not None:
        describe_events(events, w, now)
    return w.text()


def write_object_header(w: PrefixWriter, meta: Obj, *, namespaced: bool = True) -> None:
    """The lines most describers open with: Name, Namespace, Labels, Annotations."""
    w.write(LEVEL_0, f"Name:\t{meta.get('name', '')}\n")
    if namespaced:
        w.write(LEVEL_0, f"Namespace:\t{meta.get('namespace', '')}\n")
    print_labels_multiline(w, "Labels", meta.get("labels"))
    print_annotations_multiline(w, "Annotations", meta.get("annotations"))


def describe_namespace(ns: Obj) -> str:
    """describeNamespace: status and conditions (kubectl shows no events for a namespace).

    kubectl would add resource quotas and limit ranges; kubelearn's API server
    serves neither, so -- as kubectl does when they are not found -- none are shown.
    """
    meta, status = _meta(ns), _status(ns)
    w = PrefixWriter()
    write_object_header(w, meta, namespaced=False)
    w.write(LEVEL_0, f"Status:\t{status.get('phase') or ''}\n")
    conditions = _maps(status.get("conditions"))
    if conditions:
        w.write(LEVEL_0, "Conditions:\n")
        w.write(LEVEL_1, "Type\tStatus\tLastTransitionTime\tReason\tMessage\n")
        w.write(LEVEL_1, "----\t------\t------------------\t------\t-------\n")
        for c in conditions:
            w.write(LEVEL_1, f"{c.get('type', '')}\t{c.get('status', '')}\t"
                             f"{rfc1123z(c.get('lastTransitionTime'))}\t{c.get('reason', '')}\t"
                             f"{c.get('message', '')}\n")
    return w.text()


def describe_endpoints(ep: Obj, events: Sequence[Obj] | None, now: datetime) -> str:
    """describeEndpoints: each subset's ready and not-ready addresses and ports."""
    meta = _meta(ep)
    w = PrefixWriter()
    write_object_header(w, meta)
    w.write(LEVEL_0, "Subsets:\n")
    for subset in _maps(ep.get("subsets")):
        ready = ",".join(str(a.get("ip", "")) for a in _maps(subset.get("addresses")))
        not_ready = ",".join(str(a.get("ip", "")) for a in _maps(subset.get("notReadyAddresses")))
        w.write(LEVEL_1, f"Addresses:\t{ready or '<none>'}\n")
        w.write(LEVEL_1, f"NotReadyAddresses:\t{not_ready or '<none>'}\n")
        ports = _maps(subset.get("ports"))
        if ports:
            w.write(LEVEL_1, "Ports:\n")
            w.write(LEVEL_2, "Name\tPort\tProtocol\n")
            w.write(LEVEL_2, "----\t----\t--------\n")
            for p in ports:
                w.write(LEVEL_2, f"{p.get('name') or '<unset>'}\t{_int(p.get('port'))}\t"
                                 f"{p.get('protocol') or ''}\n")
        w.write(LEVEL_0, "\n")
    if events is not None:
        describe_events(events, w, now)
    return w.text()


def describe_endpoint_slice(eps: Obj, events: Sequence[Obj] | None, now: datetime) -> str:
    """describeEndpointSliceV1: address type, ports, and each endpoint's conditions."""
    meta = _meta(eps)
    w = PrefixWriter()
    write_object_header(w, meta)
    w.write(LEVEL_0, f"AddressType:\t{eps.get('addressType') or ''}\n")
    ports = _maps(eps.get("ports"))
    if not ports:
        w.write(LEVEL_0, "Ports: <unset>\n")
    else:
        w.write(LEVEL_0, "Ports:\n")
        w.write(LEVEL_1, "Name\tPort\tProtocol\n")
        w.write(LEVEL_1, "----\t----\t--------\n")
        for port in ports:
            number = port.get("port")
            w.write(LEVEL_1, f"{port.get('name') or '<unset>'}\t"
                             f"{number if isinstance(number, int) else '<unset>'}\t"
                             f"{port.get('protocol') or ''}\n")
    endpoints = _maps(eps.get("endpoints"))
    if not endpoints:
        w.write(LEVEL_0, "Endpoints: <none>\n")
    else:
        w.write(LEVEL_0, "Endpoints:\n")
        for ep in endpoints:
            addresses = ", ".join(_strings(ep.get("addresses"))) or "<none>"
            w.write(LEVEL_1, f"- Addresses:\t{addresses}\n")
            w.write(LEVEL_2, "Conditions:\n")
            ready = _map(ep.get("conditions")).get("ready")
            w.write(LEVEL_3, f"Ready:\t{'<unset>' if ready is None else go_value(ready)}\n")
            w.write(LEVEL_2, f"Hostname:\t{ep.get('hostname') or '<unset>'}\n")
            target = _map(ep.get("targetRef"))
            if target:
                w.write(LEVEL_2, f"TargetRef:\t{target.get('kind', '')}/{target.get('name', '')}\n")
            w.write(LEVEL_2, f"NodeName:\t{ep.get('nodeName') or '<unset>'}\n")
            w.write(LEVEL_2, f"Zone:\t{ep.get('zone') or '<unset>'}\n")
    if events is not None:
        describe_events(events, w, now)
    return w.text()


def describe_config_map(cm: Obj, events: Sequence[Obj] | None, now: datetime) -> str:
    """ConfigMapDescriber: each key and its value, then the binary keys' sizes."""
    meta = _meta(cm)
    w = PrefixWriter()
    write_object_header(w, meta)
    w.write(LEVEL_0, "\nData\n====\n")
    data = _map(cm.get("data"))
    for key in sorted(data):
        w.write(LEVEL_0, f"{key}:\n----\n")
        w.write(LEVEL_0, f"{data[key]}\n")
        w.write(LEVEL_0, "\n")
    w.write(LEVEL_0, "\nBinaryData\n====\n")
    binary = _map(cm.get("binaryData"))
    for key in sorted(binary):
        size = len(_b64decode(binary[key]))
        w.write(LEVEL_0, f"{key}: {size} bytes\n")
    w.write(LEVEL_0, "\n")
    if events is not None:
        describe_events(events, w, now)
    return w.text()


def _b64decode(value: Any) -> bytes:
    import base64
    import binascii

    try:
        return base64.b64decode(str(value), validate=False)
    except (binascii.Error, ValueError):
        return b""


def describe_secret(secret: Obj) -> str:
    """describeSecret: the sizes of the values, never the values."""
    meta = _meta(secret)
    w = PrefixWriter()
    write_object_header(w, meta)
    w.write(LEVEL_0, f"\nType:\t{secret.get('type') or ''}\n")
    w.write(LEVEL_0, "\nData\n====\n")
    data = _map(secret.get("data"))
    for key in sorted(data):
        raw = _b64decode(data[key])
        if key == "token" and secret.get("type") == "kubernetes.io/service-account-token":
            w.write(LEVEL_0, f"{key}:\t{raw.decode('utf-8', 'replace')}\n")
        else:
            w.write(LEVEL_0, f"{key}:\t{len(raw)} bytes\n")
    return w.text()


def describe_service_account(sa: Obj, events: Sequence[Obj] | None, now: datetime) -> str:
    """describeServiceAccount: its image pull secrets."""
    meta = _meta(sa)
    w = PrefixWriter()
    write_object_header(w, meta)
    # kubectl v1.32 also lists the account's secrets (tokens are those of type
    # service-account-token; kubelearn has no token controller, so none are).
    sections = {
        "Image pull secrets:": [str(s.get("name", "")) for s in _maps(sa.get("imagePullSecrets"))],
        "Mountable secrets: ": [str(s.get("name", "")) for s in _maps(sa.get("secrets"))],
        "Tokens:            ": [],
    }
    empty = " " * len("Image pull secrets:")
    for header in sorted(sections):
        names = sections[header]
        if not names:
            w.write(LEVEL_0, f"{header}\t<none>\n")
        for i, name in enumerate(names):
            w.write(LEVEL_0, f"{header if i == 0 else empty}\t{name}\n")
    if events is not None:
        describe_events(events, w, now)
    return w.text()


def _go_rule_string(rule: Mapping[str, Any]) -> str:
    """The generated PolicyRule.String() kubectl sorts describe's rules by."""
    fields = ("verbs", "apiGroups", "resources", "resourceNames", "nonResourceURLs")
    titles = ("Verbs", "APIGroups", "Resources", "ResourceNames", "NonResourceURLs")
    return "&PolicyRule{" + "".join(f"{t}:{_slice(rule.get(f, []))}," for t, f in
                                    zip(titles, fields, strict=True)) + "}"


def compact_rules(rules: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """rbac.BreakdownRule then CompactRules then the sort, as RoleDescriber prints rules."""
    broken: list[dict[str, Any]] = []
    for r in rules:
        verbs, names = _strings(r.get("verbs")), _strings(r.get("resourceNames"))
        for group in _strings(r.get("apiGroups")):
            for resource in _strings(r.get("resources")):
                for verb in verbs:
                    base = {"apiGroups": [group], "resources": [resource], "verbs": [verb]}
                    broken.extend([{**base, "resourceNames": [n]} for n in names] or [base])
        for url in _strings(r.get("nonResourceURLs")):
            broken.extend({"nonResourceURLs": [url], "verbs": [v]} for v in verbs)
    simple: dict[tuple, dict[str, Any]] = {}
    compacted: list[dict[str, Any]] = []
    for r in broken:
        if "nonResourceURLs" in r:
            compacted.append(r)
            continue
        key = (r["apiGroups"][0], r["resources"][0], tuple(r.get("resourceNames", ())))
        if key in simple:
            for verb in r["verbs"]:
                if verb not in simple[key]["verbs"]:
                    simple[key]["verbs"].append(verb)
        else:
            simple[key] = {k: list(v) for k, v in r.items()}
    compacted.extend(simple.values())
    return sorted(compacted, key=_go_rule_string)


def combine_resource_group(resources: Any, groups: Any) -> str:
    """CombineResourceGroup: ``deployments.apps``, ``pods/log``, ``jobs.batch/status``."""
    resources, groups = _strings(resources), _strings(groups)
    if not resources:
        return ""
    resource, _, sub = resources[0].partition("/")
    if groups and groups[0]:
        resource += "." + groups[0]
    return f"{resource}/{sub}" if sub else resource


def describe_role(role: Obj) -> str:
    """RoleDescriber / ClusterRoleDescriber: the rules, one resource per line."""
    meta = _meta(role)
    w = PrefixWriter()
    write_object_header(w, meta, namespaced=False)
    w.write(LEVEL_0, "PolicyRule:\n")
    w.write(LEVEL_1, "Resources\tNon-Resource URLs\tResource Names\tVerbs\n")
    w.write(LEVEL_1, "---------\t-----------------\t--------------\t-----\n")
    for r in compact_rules(_maps(role.get("rules"))):
        w.write(LEVEL_1, f"{combine_resource_group(r.get('resources'), r.get('apiGroups'))}\t"
                         f"{_slice(r.get('nonResourceURLs', []))}\t"
                         f"{_slice(r.get('resourceNames', []))}\t{_slice(r.get('verbs'))}\n")
    return w.text()


def describe_binding(binding: Obj) -> str:
    """RoleBindingDescriber / ClusterRoleBindingDescriber: the role and the subjects."""
    meta, ref = _meta(binding), _map(binding.get("roleRef"))
    w = PrefixWriter()
    write_object_header(w, meta, namespaced=False)
    w.write(LEVEL_0, "Role:\n")
    w.write(LEVEL_1, f"Kind:\t{ref.get('kind', '')}\n")
    w.write(LEVEL_1, f"Name:\t{ref.get('name', '')}\n")
    w.write(LEVEL_0, "Subjects:\n")
    w.write(LEVEL_1, "Kind\tName\tNamespace\n")
    w.write(LEVEL_1, "----\t----\t---------\n")
    for s in _maps(binding.get("subjects")):
        w.write(LEVEL_1, f"{s.get('kind', '')}\t{s.get('name', '')}\t{s.get('namespace', '')}\n")
    return w.text()


def describe_priority_class(pc: Obj, events: Sequence[Obj] | None, now: datetime) -> str:
    """describePriorityClass: value, default, policy, description; annotations on one line."""
    w = PrefixWriter()
    w.write(LEVEL_0, f"Name:\t{_meta(pc).get('name', '')}\n")
    w.write(LEVEL_0, f"Value:\t{_int(pc.get('value'))}\n")
    w.write(LEVEL_0, f"GlobalDefault:\t{'true' if pc.get('globalDefault') is True else 'false'}\n")
    w.write(LEVEL_0, f"PreemptionPolicy:\t{pc.get('preemptionPolicy') or ''}\n")
    w.write(LEVEL_0, f"Description:\t{pc.get('description') or ''}\n")
    w.write(LEVEL_0, f"Annotations:\t{format_labels(_meta(pc).get('annotations'))}\n")
    if events is not None:
        describe_events(events, w, now)
    return w.text()


def describe_pod_disruption_budget(pdb: Obj, events: Sequence[Obj] | None, now: datetime
                                   ) -> str:
    """describePodDisruptionBudgetV1: the budget, its selector, the controller's numbers."""
    w = PrefixWriter()
    spec, status = pdb.get("spec") or {}, pdb.get("status") or {}
    w.write(LEVEL_0, f"Name:\t{_meta(pdb).get('name', '')}\n")
    w.write(LEVEL_0, f"Namespace:\t{_meta(pdb).get('namespace', '')}\n")
    if spec.get("minAvailable") is not None:
        w.write(LEVEL_0, f"Min available:\t{spec['minAvailable']}\n")
    elif spec.get("maxUnavailable") is not None:
        w.write(LEVEL_0, f"Max unavailable:\t{spec['maxUnavailable']}\n")
    selector = spec.get("selector")
    w.write(LEVEL_0, "Selector:\t"
            f"{'<unset>' if selector is None else format_label_selector(selector)}\n")
    w.write(LEVEL_0, "Status:\n")
    w.write(LEVEL_2, f"Allowed disruptions:\t{_int(status.get('disruptionsAllowed'))}\n")
    w.write(LEVEL_2, f"Current:\t{_int(status.get('currentHealthy'))}\n")
    w.write(LEVEL_2, f"Desired:\t{_int(status.get('desiredHealthy'))}\n")
    w.write(LEVEL_2, f"Total:\t{_int(status.get('expectedPods'))}\n")
    if events is not None:
        describe_events(events, w, now)
    return w.text()


# -- the generic describer ---------------------------------------------------------------------


def _camel_split(text: str) -> list[str]:
    """github.com/fatih/camelcase Split: ``podIP`` -> ``pod``, ``IP``."""
    runs: list[list[str]] = []
    last = 0
    for ch in text:
        kind = 1 if ch.islower() else 2 if ch.isupper() else 3 if ch.isdigit() else 4
        if kind == last:
            runs[-1].append(ch)
        else:
            runs.append([ch])
        last = kind
    for i in range(len(runs) - 1):  # "PDFL", "oader" -> "PDF", "Loader"
        if runs[i] and runs[i][0].isupper() and runs[i + 1] and runs[i + 1][0].islower():
            runs[i + 1].insert(0, runs[i].pop())
    return ["".join(r) for r in runs if r]


_ACRONYMS = ("API", "URL", "UID", "GUID")


def smart_label(field: str) -> str:
    """smartLabelFor: ``apiVersion`` -> ``API Version``, ``podIP`` -> ``Pod IP``."""
    if any(not (c.isalpha() or c == "-") for c in field):
        return field
    parts = _camel_split(field)
    merged: list[str] = []
    i = 0
    while i < len(parts):
        part = parts[i]
        if (i < len(parts) - 1 and len(part) >= 2 and part.isupper() and parts[i + 1]
                and parts[i + 1][0].isupper()):
            merged.append(part + parts[i + 1])
            i += 2
            continue
        merged.append(part)
        i += 1
    out = []
    for part in merged:
        if part == "_":
            continue
        if part.upper() in _ACRONYMS:
            part = part.upper()
        elif part.lower() == part:
            part = part[:1].upper() + part[1:]
        out.append(part)
    return " ".join(out)


_GENERIC_SKIP = {".metadata.managedFields", ".metadata.name", ".metadata.namespace",
                 ".metadata.labels", ".metadata.annotations"}


def _print_unstructured(w: PrefixWriter, level: int, content: Mapping[str, Any],
                        prefix: str) -> None:
    """printUnstructuredContent: nested maps and lists, fields sorted, some skipped."""
    for field in sorted(content):
        value, path = content[field], f"{prefix}.{field}"
        if path in _GENERIC_SKIP:
            continue
        if isinstance(value, Mapping):
            w.write(level, f"{smart_label(field)}:\n")
            _print_unstructured(w, level + 1, value, path)
        elif isinstance(value, list):
            w.write(level, f"{smart_label(field)}:\n")
            for child in value:
                if isinstance(child, Mapping):
                    _print_unstructured(w, level + 1, child, path)
                else:
                    w.write(level + 1, f"{go_value(child)}\n")
        else:
            w.write(level, f"{smart_label(field)}:\t{go_value(value)}\n")


def describe_generic(obj: Obj, events: Sequence[Obj] | None, now: datetime) -> str:
    """genericDescriber: Name, Namespace, Labels, Annotations, then every other field."""
    meta = _meta(obj)
    w = PrefixWriter()
    write_object_header(w, meta)
    _print_unstructured(w, LEVEL_0, obj, "")
    if events is not None:
        describe_events(events, w, now)
    return w.text()


# -- the entry point -------------------------------------------------------------------------------


def describe(obj: Obj, events: Sequence[Obj] | None, *, now: datetime | str,
             pods: Sequence[Obj] | None = None, replica_sets: Sequence[Obj] | None = None,
             endpoint_slices: Sequence[Obj] | None = None, lease: Obj | None = None) -> str:
    """The text of ``kubectl describe`` for ``obj`` at time ``now`` (RFC 3339).

    ``events`` are the object's events (:func:`events_for` picks them from all
    events); ``None`` leaves the Events section out as ``--show-events=false``
    does, an empty list prints ``Events:  <none>``. The other lists are what
    kubectl reads besides the object: ``pods`` (a ReplicaSet's pod counts, a
    node's pods), ``replica_sets`` (a Deployment's old and new ReplicaSets),
    ``endpoint_slices`` (a Service's endpoints), ``lease`` (a node's heartbeat).
    """
    when = parse_time(now)
    if when is None:
        raise ValueError(f"now must be an RFC 3339 timestamp, not {now!r}")
    kind = obj.get("kind")
    if kind == "Pod":
        return describe_pod(obj, events, when)
    if kind == "Node":
        return describe_node(obj, events, when, pods=pods, lease=lease)
    if kind == "Deployment":
        return describe_deployment(obj, events, when, replica_sets=replica_sets)
    if kind == "ReplicaSet":
        return describe_replica_set(obj, events, when, pods=pods)
    if kind == "Service":
        return describe_service(obj, events, when, endpoint_slices=endpoint_slices)
    if kind == "Namespace":
        return describe_namespace(obj)
    if kind == "Endpoints":
        return describe_endpoints(obj, events, when)
    if kind == "EndpointSlice":
        return describe_endpoint_slice(obj, events, when)
    if kind == "ConfigMap":
        return describe_config_map(obj, events, when)
    if kind == "Secret":
        return describe_secret(obj)
    if kind == "ServiceAccount":
        return describe_service_account(obj, events, when)
    if kind in ("Role", "ClusterRole"):
        return describe_role(obj)
    if kind in ("RoleBinding", "ClusterRoleBinding"):
        return describe_binding(obj)
    if kind == "PriorityClass":
        return describe_priority_class(obj, events, when)
    if kind == "PodDisruptionBudget":
        return describe_pod_disruption_budget(obj, events, when)
    return describe_generic(obj, events, when)


__all__ = ["describe", "events_for", "tabwrite", "PrefixWriter", "rfc1123z", "human_duration",
           "compact_rules", "smart_label", "pod_qos_class"]
