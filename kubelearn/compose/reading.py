"""Reading a compose file as compose-go reads it, and checking its top level.

- :func:`read_source`: a path, YAML text or a parsed dict as the document and the
  directory relative paths start from. YAML is read as compose-go reads it
  (gopkg.in/yaml.v3, YAML 1.2's core schema): ``no`` and ``on`` are strings,
  ``22:22`` is a string, timestamps stay strings;
- :func:`interpolate`: ``${VAR}`` as compose-go's template/template.go substitutes
  it, except that nothing is read from this machine's environment (see the
  package docstring);
- :func:`check_top_level`: the top-level keys of the Compose Specification
  (compose-spec's schema, compose_spec.json) and the shape of ``services``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from kubelearn.compose.project import ComposeError, Notes, type_name

# The Compose Specification's top-level keys (compose-spec schema, compose_spec.json).
TOP_LEVEL_KEYS = ("version", "name", "services", "networks", "volumes", "secrets", "configs",
                  "include")


class _Loader(yaml.SafeLoader):
    """YAML as compose-go reads it (yaml.v3, YAML 1.2's core schema): ``no`` and ``on`` are
    strings, ``22:22`` is a string, and timestamps stay strings."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers
            if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool",
                           "tag:yaml.org,2002:int", "tag:yaml.org,2002:float")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool",
                              re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                              list("tTfF"))
_Loader.add_implicit_resolver("tag:yaml.org,2002:int",
                              re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
                              list("-+0123456789"))
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
               r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+0123456789."))


def read_source(source: Any) -> tuple[Any, Path | None]:
    """The parsed document and the directory relative paths start from (None: none)."""
    if isinstance(source, Mapping):
        return source, None
    if isinstance(source, os.PathLike) or (isinstance(source, str) and "\n" not in source
                                           and re.search(r"\.ya?ml\s*$", source)):
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise ComposeError(f"{path}: cannot read the compose file: "
                               f"{getattr(err, 'strerror', None) or err}") from None
        return _parse(text, str(path)), path.parent
    if isinstance(source, str):
        return _parse(source, "compose file"), None
    raise ComposeError(f"cannot read a compose file from {type(source).__name__}: give a path, "
                       "YAML text or a dict")


def _parse(text: str, where: str) -> Any:
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 -- a SafeLoader subclass
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err)
        raise ComposeError(f"{where}:{line}: invalid YAML: {problem}") from None


_VARIABLE = re.compile(r"\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}"
                       r"|([A-Za-z_][A-Za-z0-9_]*))")


def interpolate(value: Any, path: str, notes: Notes, service: str) -> Any:
    """``${VAR:-default}`` -> default; a bare variable -> "" (and a warning); ``$$`` -> ``$``."""
    if isinstance(value, str):
        def one(match: re.Match) -> str:
            if match.group(1):
                return "$"
            name = match.group(2) or match.group(5)
            op, default = match.group(3), match.group(4)
            if op in ("-", ":-"):
                return default or ""
            notes.warn(service, path, f"${{{name}}} is not read from this machine's environment: "
                                      "it is blank here (give it a default: ${VAR:-value})")
            return ""
        return _VARIABLE.sub(one, value)
    if isinstance(value, Mapping):
        return {k: interpolate(v, f"{path}.{k}", notes, service) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, f"{path}[{i}]", notes, service) for i, v in enumerate(value)]
    return value


def check_top_level(doc: Any) -> None:
    if not isinstance(doc, Mapping):
        raise ComposeError("a compose file is a map of top-level keys (services: ...), "
                           f"not {type_name(doc)}")
    for key in doc:
        if not (isinstance(key, str) and (key in TOP_LEVEL_KEYS or key.startswith("x-"))):
            raise ComposeError(f"(root): additional property {key!r} is not allowed: the "
                               f"top-level keys are {', '.join(TOP_LEVEL_KEYS)} and x-*")
    services = doc.get("services")
    if not isinstance(services, Mapping) or not services:
        raise ComposeError("services: a compose file needs at least one service under "
                           "'services:'" if not services else
                           f"services: must be a map, not {type_name(services)}")
    for key in ("networks", "volumes", "secrets", "configs"):
        if doc.get(key) is not None and not isinstance(doc[key], Mapping):
            raise ComposeError(f"{key}: must be a map, not {type_name(doc[key])}")
    for svc, spec in services.items():
        if not isinstance(spec, Mapping):
            raise ComposeError(f"services.{svc}: must be a map, not {type_name(spec)}")
        if not spec.get("image") and not spec.get("build"):
            raise ComposeError(f"services.{svc}: has neither an image nor a build context "
                               "specified: at least one must be provided")
