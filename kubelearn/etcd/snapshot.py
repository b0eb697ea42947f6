"""Snapshots: the whole store in one file, written atomically, checked on the way back.

``etcdctl snapshot save`` copies etcd's database and appends a SHA-256 of it;
``etcdctl snapshot restore`` refuses a file whose hash does not match. Ours
does the same with a file a learner can open in an editor::

    kubelearn-etcd-snapshot 1
    {"revision": 12, "compact_revision": 0, "leases": [[id, ttl], ...],
     "kvs": [[key, value (base64), create_revision, mod_revision, version, lease], ...]}
    sha256 <hex digest of the two lines above>

``kvs`` holds every retained version, tombstones included, in the order they
were written, so a restored store can still replay old revisions to watchers.
The file is written to a temporary name and renamed into place
(``os.replace``), so a crash mid-write leaves the old snapshot intact.

A valid checksum says the file is what some writer wrote, not that the writer
was us: restore also refuses content no store could have held -- JSON nested
deeper than the format (checked before parsing, without recursion), or keys and
values a put refuses (empty, not UTF-8, over ``--max-request-bytes``). A
refused snapshot restores nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from pathlib import Path
from typing import NamedTuple

from kubelearn.etcd.errors import EmptyKeyError, EtcdError, SnapshotError
from kubelearn.etcd.kv import KeyValue, check_key, check_size
from kubelearn.files import replace_file

MAGIC = b"kubelearn-etcd-snapshot"
FORMAT_VERSION = 1
# The body nests three levels deep: the object, its "kvs" list, one key-value's list.
MAX_DEPTH = 3
# Every byte but a quote and the brackets: what too_deep() deletes first.
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')


class SnapshotData(NamedTuple):
    """What a snapshot holds: revisions, every retained version in write order, leases."""

    revision: int
    compact_revision: int
    kvs: list[KeyValue]
    leases: list[tuple[int, int]]  # (id, granted ttl)


def write_snapshot(path: str | os.PathLike, data: SnapshotData) -> int:
    """Write ``data`` to ``path`` atomically; returns the file size in bytes."""
    body = {
        "revision": data.revision,
        "compact_revision": data.compact_revision,
        "leases": [list(lease) for lease in data.leases],
        "kvs": [[kv.key, base64.b64encode(kv.value).decode("ascii"), kv.create_revision,
                 kv.mod_revision, kv.version, kv.lease] for kv in data.kvs],
    }
    content = (MAGIC + b" %d\n" % FORMAT_VERSION
               + json.dumps(body, separators=(",", ":")).encode("utf-8") + b"\n")
    content += b"sha256 " + hashlib.sha256(content).hexdigest().encode("ascii") + b"\n"
    replace_file(path, content)
    return len(content)


def read_snapshot(path: str | os.PathLike) -> SnapshotData:
    """Read and check a snapshot; any problem is a SnapshotError saying what is wrong."""
    try:
        content = Path(path).read_bytes()
    except OSError as err:
        raise SnapshotError(f"cannot read snapshot {os.fspath(path)!r}: {err}") from None
    name = os.fspath(path)
    if not content:
        raise SnapshotError(f"snapshot {name!r} is empty")
    if not content.startswith(MAGIC + b" "):
        raise SnapshotError(f"{name!r} is not a kubelearn etcd snapshot "
                            f"(it does not start with {MAGIC.decode()!r})")
    header, _, rest = content.partition(b"\n")
    if header != MAGIC + b" %d" % FORMAT_VERSION:
        raise SnapshotError(f"snapshot {name!r} has an unknown format: {header[:60]!r}")
    head, _, trailer = content.rstrip(b"\n").rpartition(b"\n")
    if not content.endswith(b"\n") or not trailer.startswith(b"sha256 ") or not head:
        raise SnapshotError(f"snapshot {name!r} is truncated: the sha256 line at its end "
                            "is missing")
    expected = trailer[len(b"sha256 "):].decode("ascii", errors="replace")
    actual = hashlib.sha256(head + b"\n").hexdigest()
    if actual != expected:
        raise SnapshotError(f"snapshot {name!r} is corrupted or truncated: sha256 is {actual}, "
                            f"the file says {expected[:64]}")
    body = head.partition(b"\n")[2]
    try:
        if too_deep(body, MAX_DEPTH):  # before json.loads, which recurses once per level
            raise ValueError(f"the JSON is nested more than {MAX_DEPTH} levels deep")
        return _parse(json.loads(body))
    except (ValueError, TypeError, KeyError, IndexError, binascii.Error, EtcdError) as err:
        raise SnapshotError(f"snapshot {name!r} has a valid checksum but invalid content: "
                            f"{err}") from None


def too_deep(text: bytes, limit: int) -> bool:
    """Whether JSON ``text`` nests arrays and objects more than ``limit`` deep (no parsing).

    Brackets inside strings do not count. Escapes go first (``\\\\``, then ``\\"``),
    so every quote left opens or closes a string; then only quotes and brackets
    are kept, and the pieces between an opening and a closing quote are dropped.
    All of it runs at C speed: about 0.1 s for a 30 MB snapshot, a tenth of the parse.
    """
    plain = text.replace(b"\\\\", b"").replace(b'\\"', b"").translate(None, _NOT_STRUCTURE)
    depth = 0
    for bracket in b"".join(plain.split(b'"')[::2]):  # outside strings: brackets only
        depth += 1 if bracket in b"[{" else -1
        if depth > limit:
            return True
    return False


def _parse(body: dict) -> SnapshotData:
    """Turn the JSON body into SnapshotData, checking every field's type."""
    revision = _int(body["revision"], "revision")
    compact = _int(body["compact_revision"], "compact_revision")
    leases = [(_int(lease_id, "lease id"), _int(ttl, "lease ttl")) for lease_id, ttl in
              body["leases"]]
    kvs = []
    for key, value, create, mod, version, lease in body["kvs"]:
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(f"key and value must be strings, got {key!r}")
        data = base64.b64decode(value, validate=True)
        if not check_key(key):  # what a put refuses, a restore refuses (Store.put)
            raise EmptyKeyError()
        check_size(key, data)
        kvs.append(KeyValue(key, data, _int(create, "create"), _int(mod, "mod_revision"),
                            _int(version, "version"), _int(lease, "lease")))
    return SnapshotData(revision, compact, kvs, leases)


def _int(value: object, what: str) -> int:
    """``value`` if it is a non-negative int, else a ValueError naming ``what``."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{what} must be a non-negative integer, got {value!r}")
    return value
