"""What one conversion shares: the error, the warnings, the project and small readers.

- :class:`ComposeError`, the error for a file that is not valid compose;
- :class:`Notes`, the warnings in the order they were found (``Conversion.warnings``);
- :class:`Project`, the parsed file, its directory, the service names and the
  Secrets, ConfigMaps and claims made so far (each made once, however many
  services use it);
- :data:`SELECTOR`, the label every object of a service carries (Kompose's
  pkg/transformer/utils.go ``Selector``);
- :func:`scalar`, :func:`type_name` and :func:`read_file`: a YAML scalar as compose
  reads it into a string, a value's kind for an error message, and a file the
  compose file names (relative to its directory).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# pkg/transformer/utils.go Selector: the label every object of a service carries.
SELECTOR = "io.kompose.service"


class ComposeError(ValueError):
    """A file that is not valid compose; the message names the service and field."""


@dataclass
class Notes:
    """The warnings, in the order they were found."""

    rows: list[tuple[str, str, str]] = field(default_factory=list)

    def warn(self, service: str, path: str, message: str) -> None:
        self.rows.append((service, path, message))


@dataclass
class Project:
    """The parsed file and what the services share."""

    doc: dict
    base: Path | None
    notes: Notes
    names: dict[str, str]  # compose service -> Kubernetes name
    secrets: dict[str, dict] = field(default_factory=dict)  # name -> Secret
    configmaps: dict[str, dict] = field(default_factory=dict)  # name -> ConfigMap
    claims: dict[str, dict] = field(default_factory=dict)  # name -> PersistentVolumeClaim

    def section(self, key: str) -> dict:
        return self.doc.get(key) or {}


def type_name(value: Any) -> str:
    return {str: "a string", list: "a list", type(None): "empty", int: "a number",
            float: "a number", bool: "a boolean"}.get(type(value), type(value).__name__)


def scalar(value: Any) -> str:
    """A YAML scalar as compose reads it into a string (true -> "true", null -> "")."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def read_file(project: Project, compose_name: str, where: str, path: str,
              required: bool = True) -> str | None:
    """A file the compose file names, relative to its directory; missing -> error or None."""
    base = project.base if project.base is not None else Path(".")
    try:
        return (base / path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        prefix = f"services.{compose_name}.{where}" if compose_name else where
        if required:
            raise ComposeError(f"{prefix}: file {path!r} not found (paths are relative to the "
                               "compose file's directory)") from None
        project.notes.warn(compose_name, where, f"{path!r} not found; skipped (required: false)")
        return None
