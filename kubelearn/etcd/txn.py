"""The parts of a transaction: compares (the "if"), ops (the "then" and "else").

etcd's txn is ``if all(compares) then success-ops else failure-ops``, applied
atomically as one revision. This module holds the two building blocks and the
checks etcd makes before it runs a txn:

- :class:`Compare` tests one field of a key — ``Compare.version("/a") == 0``
  reads "key /a does not exist yet" (the create-if-absent idiom the
  Kubernetes API server uses for every create).
- :class:`Op` is a put, a get (range) or a delete inside a txn.
- :func:`check_txn` refuses what etcd refuses: too many ops
  (``--max-txn-ops``) and a branch that writes one key twice.

The store (store.py) evaluates compares and applies ops.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import NamedTuple

from kubelearn.etcd.errors import DuplicateKeyError, InvalidArgumentError, TooManyOpsError
from kubelearn.etcd.kv import KeyRange, KeyValue, check_revision, to_value

# etcd --max-txn-ops default (embed/config.go DefaultMaxTxnOps).
MAX_TXN_OPS = 128

# Compare targets and results, named as in etcd's rpc.proto (Compare.CompareTarget/Result).
TARGETS = ("VERSION", "CREATE", "MOD", "VALUE", "LEASE")
RESULTS = {"==": "EQUAL", "!=": "NOT_EQUAL", "<": "LESS", ">": "GREATER"}
_TARGET_ALIASES = {"create_revision": "CREATE", "mod_revision": "MOD"}
# Every write of the API server builds a compare, so the spellings the builders use map
# straight to their canonical name; other spellings ("mod", ...) take the slower checks.
_TARGET_OF = {**{target: target for target in TARGETS}, **_TARGET_ALIASES}
_RESULT_OF = {**RESULTS, **{result: result for result in RESULTS.values()}}


class Compare:
    """One condition of a txn: ``target`` of ``key`` compared to ``value``.

    Build it the readable way, ``Compare.mod_revision("/a") == 7``, or
    directly, ``Compare("/a", "MOD", "==", 7)``. ``range_end`` (or
    ``prefix=True``) compares every key in a range: all must pass.
    """

    def __init__(self, key: str, target: str, result: str, value: object,
                 range_end: str | None = None, *, prefix: bool = False) -> None:
        self.range = KeyRange.of(key, range_end, prefix)
        canonical = _TARGET_OF.get(target) if isinstance(target, str) else None
        if canonical is None:
            if not isinstance(target, str) or target.upper() not in TARGETS:
                raise InvalidArgumentError(
                    f"compare target must be one of {TARGETS}, not {target!r}")
            canonical = target.upper()
        self.target = canonical
        canonical = _RESULT_OF.get(result)
        if canonical is None:
            raise InvalidArgumentError(
                f"compare result must be one of {sorted(RESULTS)} or {sorted(RESULTS.values())}, "
                f"not {result!r}")
        self.result = canonical
        if self.target == "VALUE":
            self.value: bytes | int = to_value(value)
        elif isinstance(value, int) and not isinstance(value, bool):
            self.value = value
        else:
            raise InvalidArgumentError(
                f"a {self.target} compare needs an int, not {type(value).__name__}")

    @property
    def key(self) -> str:
        """The (first) key compared."""
        return self.range.key

    # The readable builders: Compare.version(key) == 0, and so on.
    @classmethod
    def value(cls, key: str, range_end: str | None = None) -> _Field:  # type: ignore[override]
        """Compare the value of ``key`` (bytes; a str is encoded)."""
        return _Field(key, "VALUE", range_end)

    @classmethod
    def version(cls, key: str, range_end: str | None = None) -> _Field:
        """Compare the version of ``key`` (0: the key does not exist)."""
        return _Field(key, "VERSION", range_end)

    @classmethod
    def create_revision(cls, key: str, range_end: str | None = None) -> _Field:
        """Compare the revision that created ``key``."""
        return _Field(key, "CREATE", range_end)

    @classmethod
    def mod_revision(cls, key: str, range_end: str | None = None) -> _Field:
        """Compare the revision of the last change to ``key``."""
        return _Field(key, "MOD", range_end)

    @classmethod
    def lease(cls, key: str, range_end: str | None = None) -> _Field:
        """Compare the lease ``key`` is attached to (0: none)."""
        return _Field(key, "LEASE", range_end)

    def holds(self, kv: KeyValue | None) -> bool:
        """Whether the compare passes for one key-value (None: the key is absent)."""
        if kv is None:
            if self.target == "VALUE":
                return False  # etcd: comparing the value of a missing key always fails
            kv = _ABSENT
        return _TEST_OF[self.result](_FIELD_OF[self.target](kv), self.value)

    def _fields(self) -> tuple:
        return (self.range, self.target, self.result, self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Compare) and self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        op = {v: k for k, v in RESULTS.items()}[self.result]
        end = f", range_end={self.range.end!r}" if self.range.end else ""
        return f"Compare({self.range.key!r}{end}: {self.target} {op} {self.value!r})"


# What a compare reads of a key-value, and how it compares it to its value.
_FIELD_OF = {
    "VALUE": operator.attrgetter("value"),
    "VERSION": operator.attrgetter("version"),
    "CREATE": operator.attrgetter("create_revision"),
    "MOD": operator.attrgetter("mod_revision"),
    "LEASE": operator.attrgetter("lease"),
}
_TEST_OF = {"EQUAL": operator.eq, "NOT_EQUAL": operator.ne, "LESS": operator.lt,
            "GREATER": operator.gt}
# An absent key compares as all zeros (etcd compares against an empty KeyValue).
_ABSENT = KeyValue("", b"", 0, 0, 0, 0)


class _Field:
    """``Compare.version(key)`` before the comparison operator is applied."""

    __slots__ = ("key", "target", "range_end")

    def __init__(self, key: str, target: str, range_end: str | None) -> None:
        self.key, self.target, self.range_end = key, target, range_end

    def _make(self, result: str, value: object) -> Compare:
        return Compare(self.key, self.target, result, value, self.range_end)

    def __eq__(self, value: object) -> Compare:  # type: ignore[override]
        return self._make("EQUAL", value)

    def __ne__(self, value: object) -> Compare:  # type: ignore[override]
        return self._make("NOT_EQUAL", value)

    def __lt__(self, value: object) -> Compare:
        return self._make("LESS", value)

    def __gt__(self, value: object) -> Compare:
        return self._make("GREATER", value)

    __hash__ = None  # type: ignore[assignment]


class Op(NamedTuple):
    """One request inside a txn: ``Op.put``, ``Op.get`` or ``Op.delete``.

    Immutable, as a frozen dataclass would be, and made in a third of the time (0.3 us,
    not 1.1): the API server makes one for every write.
    """

    kind: str  # "put", "range" or "delete"
    range: KeyRange
    value: bytes = b""
    lease: int = 0
    prev_kv: bool = False
    revision: int = 0
    limit: int = 0
    keys_only: bool = False
    count_only: bool = False

    @staticmethod
    def put(key: str, value: str | bytes, lease: int = 0, prev_kv: bool = False) -> Op:
        """Write ``value`` to ``key`` (optionally attached to ``lease``)."""
        kr = KeyRange.of(key)
        return Op("put", kr, to_value(value), lease=_check_lease(lease), prev_kv=bool(prev_kv))

    @staticmethod
    def get(key: str, range_end: str | None = None, prefix: bool = False, revision: int = 0,
            limit: int = 0, keys_only: bool = False, count_only: bool = False) -> Op:
        """Read one key or a range, optionally as of an older ``revision``."""
        return Op("range", KeyRange.of(key, range_end, prefix), revision=check_revision(revision),
                  limit=check_revision(limit, "limit"), keys_only=bool(keys_only),
                  count_only=bool(count_only))

    @staticmethod
    def delete(key: str, range_end: str | None = None, prefix: bool = False,
               prev_kv: bool = False) -> Op:
        """Delete one key or a range."""
        return Op("delete", KeyRange.of(key, range_end, prefix), prev_kv=bool(prev_kv))

    @property
    def key(self) -> str:
        """The (first) key of the op."""
        return self.range.key

    def __repr__(self) -> str:
        end = f", range_end={self.range.end!r}" if self.range.end else ""
        extra = f", value={self.value!r}" if self.kind == "put" else ""
        return f"Op.{'get' if self.kind == 'range' else self.kind}({self.range.key!r}{end}{extra})"


def _check_lease(lease: object) -> int:
    """A lease id: a non-negative int (0: no lease)."""
    return check_revision(lease, "lease")


def check_txn(compare: Sequence[Compare], success: Sequence[Op], failure: Sequence[Op]) -> None:
    """Refuse a txn the way etcd's gRPC layer does, before it reaches the store."""
    _check_items("compare", compare, Compare)
    _check_items("success", success, Op)
    _check_items("failure", failure, Op)
    # api/v3rpc/key.go checkTxnRequest
    if len(compare) > MAX_TXN_OPS or len(success) > MAX_TXN_OPS or len(failure) > MAX_TXN_OPS:
        raise TooManyOpsError()
    if len(success) > 1:  # one op cannot clash with itself (the API server's usual txn)
        _check_no_duplicate_writes(success)
    if len(failure) > 1:
        _check_no_duplicate_writes(failure)


def _check_items(name: str, items: Sequence, kind: type) -> None:
    """Refuse a part of a txn that is not a list of ``kind`` objects."""
    if not isinstance(items, (list, tuple)):
        raise InvalidArgumentError(f"txn {name} must be a list, not {type(items).__name__}")
    for item in items:
        if not isinstance(item, kind):
            raise InvalidArgumentError(
                f"txn {name} must hold {kind.__name__} objects, not {type(item).__name__}")


def _check_no_duplicate_writes(ops: Sequence[Op]) -> None:
    """A branch may not put a key twice, nor put a key it also deletes (key.go checkIntervals)."""
    deletes = [op.range for op in ops if op.kind == "delete"]
    puts: set[str] = set()
    for op in ops:
        if op.kind != "put":
            continue
        if op.key in puts or any(op.key in deleted for deleted in deletes):
            raise DuplicateKeyError()
        puts.add(op.key)
