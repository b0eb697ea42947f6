"""What etcd hands out: key-values, watch events, responses, and key ranges.

- :class:`KeyValue` is etcd's ``mvccpb.KeyValue``: a key, its value as bytes,
  and three counters — ``create_revision`` (the store revision that created
  the key), ``mod_revision`` (the revision of its last change) and ``version``
  (changes since creation; a delete resets it to 0).
- :class:`Event` is one change a watcher sees: ``PUT`` or ``DELETE``.
- ``PutResponse``, ``RangeResponse``, ``DeleteResponse`` and ``TxnResponse``
  mirror etcd's responses; ``revision`` is the header's store revision.
- :class:`KeyRange` is the set of keys a request covers, the way etcd spells
  it: one key, ``[key, range_end)``, or every key from ``key`` when
  ``range_end`` is ``"\\0"``. A prefix is the range up to the prefix with its
  last character incremented.

Keys are ``str`` and sort by code point, which is the same order as etcd's
bytewise order of their UTF-8 encoding. Values are ``bytes`` and are never
decoded here.
"""

from __future__ import annotations

from typing import NamedTuple

from kubelearn.etcd.errors import EmptyKeyError, InvalidArgumentError, RequestTooLargeError

# etcd --max-request-bytes default: 1.5 MiB (embed/config.go DefaultMaxRequestBytes).
MAX_REQUEST_BYTES = 1536 * 1024

# range_end "\0" means "every key from key onwards" (etcd api: RangeRequest.range_end).
ALL_KEYS_FROM = "\0"


class KeyValue(NamedTuple):
    """One version of a key, as etcd stores it (mvccpb.KeyValue).

    A deletion is stored as a *tombstone*: the key with an empty value,
    ``create_revision`` and ``version`` 0, and the deleting revision as
    ``mod_revision`` — exactly what etcd puts in a DELETE event.
    """

    key: str
    value: bytes
    create_revision: int
    mod_revision: int
    version: int
    lease: int = 0


class Event(NamedTuple):
    """One change seen by a watcher: ``type`` is ``"PUT"`` or ``"DELETE"``."""

    type: str
    kv: KeyValue
    prev_kv: KeyValue | None = None

    @property
    def revision(self) -> int:
        """The store revision the change happened at."""
        return self.kv.mod_revision


class PutResponse(NamedTuple):
    """The revision the put was written at, and the previous value if asked for."""

    revision: int
    prev_kv: KeyValue | None = None


class RangeResponse(NamedTuple):
    """The key-values found, how many matched in all, whether ``limit`` cut some off."""

    kvs: list[KeyValue]
    count: int
    more: bool
    revision: int


class DeleteResponse(NamedTuple):
    """The revision after the delete, how many keys went, and their last values if asked for."""

    revision: int
    deleted: int
    prev_kvs: list[KeyValue]


class TxnResponse(NamedTuple):
    """The revision after the txn, whether the compares held, and one response per op."""

    revision: int
    succeeded: bool
    responses: list[PutResponse | RangeResponse | DeleteResponse]


# -- keys ---------------------------------------------------------------------


def check_key(key: object, what: str = "key") -> str:
    """Return ``key`` if it is a usable etcd key, else raise a clear EtcdError."""
    if not isinstance(key, str):
        raise InvalidArgumentError(f"{what} must be a str, not {type(key).__name__}")
    if not key.isascii():
        try:
            key.encode("utf-8")
        except UnicodeEncodeError as err:
            raise InvalidArgumentError(f"{what} {key!r} is not valid UTF-8: {err}") from None
    return key


def to_value(value: object) -> bytes:
    """A value as the bytes etcd stores: ``str`` is encoded as UTF-8."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    raise InvalidArgumentError(f"value must be str or bytes, not {type(value).__name__}")


def check_size(key: str, value: bytes) -> None:
    """Refuse a write larger than etcd's default ``--max-request-bytes``."""
    if len(value) + len(key) > MAX_REQUEST_BYTES:
        raise RequestTooLargeError()


def check_revision(revision: object, what: str = "revision") -> int:
    """Return ``revision`` if it is a non-negative int, else raise."""
    if not isinstance(revision, int) or isinstance(revision, bool):
        raise InvalidArgumentError(f"{what} must be an int, not {type(revision).__name__}")
    if revision < 0:
        # etcd reads a negative revision as "now"; here it is almost always a bug.
        raise InvalidArgumentError(f"{what} must be >= 0, got {revision}")
    return revision


def prefix_end(prefix: str) -> str:
    """The range end that covers every key starting with ``prefix`` (clientv3.GetPrefixRangeEnd).

    Increment the last character; characters already at the maximum are
    dropped first. If nothing is left, the range is open-ended (``"\\0"``).
    """
    end = prefix.rstrip(chr(0x10FFFF))
    if not end:
        return ALL_KEYS_FROM
    return end[:-1] + chr(ord(end[-1]) + 1)


class KeyRange(NamedTuple):
    """The keys a request covers: ``key`` alone (``end`` None), or ``[key, end)``.

    ``end == "\\0"`` means every key from ``key`` on.
    """

    key: str
    end: str | None = None

    @classmethod
    def of(cls, key: object, range_end: object = None, prefix: bool = False) -> KeyRange:
        """Build and check the range of a request, the way clientv3 and etcd do."""
        key = check_key(key)
        if range_end is None and not prefix:  # one key: every compare and op of the API server
            if key == "":
                raise EmptyKeyError()
            return cls(key, None)
        if range_end is not None:
            range_end = check_key(range_end, "range_end")
        if prefix:
            if range_end:
                raise InvalidArgumentError("give either range_end or prefix=True, not both")
            if key == "":
                return cls(ALL_KEYS_FROM, ALL_KEYS_FROM)  # clientv3.WithPrefix on "": all keys
            return cls(key, prefix_end(key))
        if key == "":
            raise EmptyKeyError()
        return cls(key, range_end or None)  # an empty range_end means one key, as in etcd

    @property
    def single(self) -> bool:
        """True if the range is one key."""
        return self.end is None

    def __contains__(self, key: object) -> bool:
        """Whether ``key`` falls in the range."""
        end = self.end
        if end is None:
            return key == self.key
        if end == ALL_KEYS_FROM:
            return key >= self.key  # type: ignore[operator]
        return self.key <= key < end  # type: ignore[operator]

    def overlaps(self, other: KeyRange) -> bool:
        """Whether two ranges share a key (used to find a put inside a delete)."""
        if self.single:
            return self.key in other
        if other.single:
            return other.key in self
        lo = max(self.key, other.key)
        return lo in self and lo in other
