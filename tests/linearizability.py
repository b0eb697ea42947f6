"""A linearizability checker for one register (a key): puts and gets with their times.

A history is linearizable if every operation can be given one instant between
its invocation and its completion such that, in that order, each get returns
the value of the latest put (Herlihy and Wing). The search is Wing and Gong's:
repeatedly pick an operation that no other pending operation precedes in real
time, apply it to the register, and backtrack on a wrong read; Lowe's memo of
(operations done, register value) prunes states already explored.

A put that failed ambiguously (a timeout: it may or may not have been applied)
has ``complete=inf`` and may be left out entirely; a failed get tells nothing
and is not in the history.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple


class Operation(NamedTuple):
    """``put`` of ``value``, or ``get`` that returned ``value``, between two instants."""

    kind: str  # "put" or "get"
    value: Any
    invoke: float
    complete: float = math.inf  # inf: a put whose outcome is unknown


def linearizable(history: list[Operation], initial: Any = None) -> bool:
    """Whether the register history can be linearized, starting from ``initial``."""
    ops = sorted(history, key=lambda op: op.invoke)
    everything = (1 << len(ops)) - 1
    optional = sum(1 << i for i, op in enumerate(ops) if op.complete == math.inf)
    seen: set[tuple[int, Any]] = set()

    def search(done: int, value: Any) -> bool:
        if done | optional == everything:
            return True  # every op that surely happened is placed
        if (done, value) in seen:
            return False
        seen.add((done, value))
        pending = [i for i in range(len(ops)) if not done & (1 << i)]
        for i in pending:
            op = ops[i]
            # It can go next only if no other pending op completed before it was invoked.
            if any(ops[j].complete <= op.invoke for j in pending if j != i):
                continue
            if op.kind == "put":
                if search(done | (1 << i), op.value):
                    return True
            elif op.value == value and search(done | (1 << i), value):
                return True
        return False

    return search(0, initial)
