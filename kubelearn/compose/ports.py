"""compose ``ports`` and ``expose`` as a Service's ports and a container's ports.

:func:`parse_port` reads one entry in any of the Compose Specification's port
syntaxes (short ``[ip:][published:]target[/protocol]`` with ranges, or the long
map); :func:`compose_ports` reads a service's ``ports`` then ``expose`` as
Kompose's loader does (pkg/loader/compose/compose.go loadPorts: exposed ports are
TCP, not repeated); :func:`service_ports` names them as Kompose's
ConfigServicePorts does (pkg/transformer/kubernetes/kubernetes.go).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubelearn.compose.project import ComposeError, Notes, scalar, type_name


@dataclass(frozen=True)
class Port:
    target: int
    published: int | None
    protocol: str = "TCP"
    host_ip: str = ""


_PORT = re.compile(r"^(?:(?:(?P<ip>\[[0-9a-fA-F:.]+\]|[0-9.]+):)?(?P<pub>[0-9]*(?:-[0-9]+)?):)?"
                   r"(?P<target>[0-9]+(?:-[0-9]+)?)(?:/(?P<proto>[a-zA-Z]+))?$")
_PROTOCOLS = ("tcp", "udp", "sctp")


def _port_range(text: str) -> list[int]:
    lo, _, hi = text.partition("-")
    first, last = int(lo), int(hi or lo)
    if not (1 <= first <= last <= 65535):
        raise ValueError(text)
    return list(range(first, last + 1))


def parse_port(value: Any) -> list[Port]:
    """One compose ``ports`` entry (short syntax, or long syntax as a map) as ports.

    ``"80"``, ``"8080:80"``, ``"127.0.0.1:8080:80"``, ``"8080-8081:80-81"``,
    ``"53/udp"``; ``{target: 80, published: 8080, protocol: tcp}``. Raises
    ValueError for anything else.
    """
    if isinstance(value, Mapping):
        target = value.get("target")
        if isinstance(target, bool) or not isinstance(target, (int, str)):
            raise ValueError(value)
        published = value.get("published")
        proto = str(value.get("protocol") or "tcp").lower()
        host_ip = str(value.get("host_ip") or "")
        text = f"{published}:{target}" if published not in (None, "") else str(target)
        ports = parse_port(f"{text}/{proto}")
        return [Port(p.target, p.published, p.protocol, host_ip) for p in ports]
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(value)
    match = _PORT.match(str(value).strip())
    if not match or (match.group("proto") or "tcp").lower() not in _PROTOCOLS:
        raise ValueError(value)
    targets = _port_range(match.group("target"))
    published = _port_range(match.group("pub")) if match.group("pub") else []
    protocol = (match.group("proto") or "tcp").upper()
    ip = (match.group("ip") or "").strip("[]")
    if published and len(published) != len(targets):
        if len(targets) != 1:
            raise ValueError(value)
        published = published[:1]  # compose picks one free port of the host range
    return [Port(t, published[i] if published else None, protocol, ip)
            for i, t in enumerate(targets)]


def compose_ports(spec: Mapping, where: str, compose_name: str, notes: Notes) -> list[Port]:
    """``ports`` then ``expose`` (compose.go loadPorts: exposed ports are TCP, not repeated)."""
    ports: list[Port] = []
    for key in ("ports", "expose"):
        entries = spec.get(key) or []
        if not isinstance(entries, list):
            raise ComposeError(f"{where}.{key}: must be a list, not {type_name(entries)}")
        for i, entry in enumerate(entries):
            try:
                found = parse_port(entry)
            except (ValueError, TypeError):
                raise ComposeError(f"{where}.{key}[{i}]: invalid port {scalar(entry)!r}"
                                   .replace("'", '"')) from None
            if key == "expose":
                found = [Port(p.target, None, p.protocol) for p in found]
            for port in found:
                if port.host_ip:
                    notes.warn(compose_name, f"{key}[{i}]", f"host address {port.host_ip} "
                               "dropped: a Service has no host address to bind")
                if key == "expose" and any(p.target == port.target
                                           and p.protocol == port.protocol for p in ports):
                    continue
                ports.append(port)
    return ports


def service_ports(ports: list[Port]) -> list[dict]:
    """k8s ServicePorts as Kompose's ConfigServicePorts names them."""
    out, seen = [], set()
    for port in ports:
        number = port.published or port.target
        name = str(number) if number not in seen else f"{number}-{port.protocol.lower()}"
        if any(p["name"] == name for p in out):
            continue  # the same port listed twice
        entry: dict[str, Any] = {"name": name, "port": number, "targetPort": port.target}
        if port.protocol != "TCP":
            entry["protocol"] = port.protocol
        out.append(entry)
        seen.add(number)
    return out
