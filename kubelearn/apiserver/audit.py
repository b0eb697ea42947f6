"""Audit: one row per request, saying how far it got and how it ended.

Upstream the audit log (k8s.io/apiserver/pkg/audit) records who did what to
which object and the response code. Ours keeps, for every request, the
virtual time, the user, the verb, the resource (``pods/binding`` for a
subresource), namespace and name, the pipeline stage it reached, the decision
(``allow``, ``deny`` for 401 and 403, ``error`` for any other failure) and
the HTTP code. Rows are kept as tuples and become a DataFrame when asked for.
"""

from __future__ import annotations

from collections import deque
from typing import NamedTuple


class AuditRecord(NamedTuple):
    """One request, as the audit log remembers it."""

    time: float
    user: str
    verb: str
    resource: str
    namespace: str
    name: str
    stage: str
    decision: str
    code: int


AUDIT_COLUMNS = list(AuditRecord._fields)


def decision_for(code: int) -> str:
    """``allow`` for success, ``deny`` for 401/403, ``error`` for the rest."""
    if code < 400:
        return "allow"
    return "deny" if code in (401, 403) else "error"


class AuditLog:
    """The audit rows, oldest first; ``limit`` keeps only the newest rows."""

    def __init__(self, limit: int | None = None) -> None:
        self._rows: deque[AuditRecord] = deque(maxlen=limit)

    def __len__(self) -> int:
        return len(self._rows)

    def record(self, time: float, user: str, verb: str, resource: str, namespace: str,
               name: str, stage: str, code: int) -> AuditRecord:
        """Remember one request."""
        row = AuditRecord(time, user, verb, resource, namespace, name, stage,
                          decision_for(code), code)
        self._rows.append(row)
        return row

    @property
    def records(self) -> list[AuditRecord]:
        """Every row kept, oldest first (a copy)."""
        return list(self._rows)

    def frame(self):  # -> pandas.DataFrame
        """The rows as a DataFrame with :data:`AUDIT_COLUMNS`."""
        import pandas as pd

        return pd.DataFrame(list(self._rows), columns=AUDIT_COLUMNS)
