"""Storage: how the API server keeps objects in etcd, and the strategies around each write.

Objects live at :func:`kubelearn.api.key_for` keys as JSON, without their
``resourceVersion``: that is the etcd mod revision, stamped on every read
(k8s.io/apiserver/pkg/storage/etcd3/store.go and the APIObjectVersioner).

- create: ``if version(key) == 0 then put`` in one etcd txn, else AlreadyExists;
  ``generateName`` picks a name (base cut to 58 characters + 5 random ones) and
  retries on a clash, 8 attempts in all (registry/store.go
  maxNameGenerationCreateAttempts);
- update: ``if mod_revision(key) == the revision read then put``: a stale
  ``resourceVersion`` is a 409 Conflict with upstream's words; no
  resourceVersion means "whatever is there now" (AllowUnconditionalUpdate);
  an update that changes no byte writes nothing (GuaranteedUpdate);
- delete: graceful for pods (``deletionTimestamp`` = now + grace period, the
  kubelet finishes), finalizers keep any object until they are removed
  (rest/delete.go BeforeDelete, registry/store.go Delete);
- list: label and field selectors, ``limit`` and ``continue`` with upstream's
  continue tokens, reads at an older revision, 410 once etcd compacted it;
- get and list at ``resourceVersion=0`` ("any version"): from the watch cache,
  without an etcd read, as the cacher serves them (a list's ``limit`` is not
  honoured there; a ``continue`` still goes to etcd);
- the strategies' PrepareForCreate/PrepareForUpdate: uid, creationTimestamp,
  ``generation`` (1 on create, +1 when the spec changes), status reset on
  create, status kept by main-resource updates and spec kept by status updates;
- subresources ``pods/binding`` and ``*/scale`` (autoscaling/v1 Scale).

Every object written -- a client's body, or one the API server builds or
changes itself (a binding's condition, a deletion mark, the bootstrap
objects) -- gets Go's zero values in the fields without ``omitempty`` just
before it is stored (:func:`kubelearn.api.schema.fill_zero_values`): upstream
stores Go structs, so whatever is read back carries them.
"""

from __future__ import annotations

import base64
import binascii
import json
import posixpath
import sys
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import orjson

from kubelearn.api import (
    AlreadyExists,
    BadRequest,
    Conflict,
    Expired,
    FieldSelector,
    Invalid,
    LabelSelector,
    NotFound,
    RequestEntityTooLarge,
    StatusError,
    Timeout,
    key_for,
    key_prefix,
    selectable_fields,
)
from kubelearn.api.equality import semantic_equal
from kubelearn.api.errors import FieldError, Path, go_quote
from kubelearn.api.quantity import parse_quantity
from kubelearn.api.schema import fill_zero_values
from kubelearn.etcd import (
    CompactedError,
    Compare,
    EtcdError,
    KeyValue,
    Op,
    RequestTooLargeError,
    UnavailableError,
    prefix_end,
)
from kubelearn.sim import EPOCH
from kubelearn.version import FEATURE_GATES

if TYPE_CHECKING:  # pragma: no cover
    from kubelearn.apiserver.registry import ResourceInfo
    from kubelearn.apiserver.watch import WatchCache
    from kubelearn.etcd import Store
    from kubelearn.sim import Simulation

# apiserver/pkg/storage/names: SimpleNameGenerator (maxNameLength 63, randomLength 5)
# and util/rand's alphabet without vowels and easily confused characters.
MAX_GENERATED_NAME_BASE = 58
GENERATED_SUFFIX_LENGTH = 5
NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
# registry/store.go maxNameGenerationCreateAttempts
MAX_NAME_GENERATION_ATTEMPTS = 8
# pkg/registry/core/pod/strategy.go applySchedulingGatedCondition (v1.32): a pod created
# with scheduling gates says why it waits (kubectl shows STATUS SchedulingGated).
SCHEDULING_GATED_CONDITION = {"type": "PodScheduled", "status": "False",
                              "reason": "SchedulingGated",  # v1.PodReasonSchedulingGated
                              "message": "Scheduling is blocked due to non-empty scheduling gates"}
# etcd3/lease_manager.go newDefaultLeaseManager (v1.32): reuse a lease for 60s or 5% of its
# TTL, for at most 1,000 objects (defaultLeaseMaxObjectCount).
LEASE_REUSE_SECONDS = 60
LEASE_REUSE_PERCENT = 0.05
LEASE_MAX_OBJECT_COUNT = 1000

# etcd3/errors.go
EXPIRED_LIST = "The resourceVersion for the provided list is too old."
INCONSISTENT_CONTINUE = (
    "The provided continue parameter is too old to display a consistent list result. You can "
    "start a new list without the continue parameter, or use the continue token in this "
    "response to retrieve the remainder of the results. Continuing with the provided token "
    "results in an inconsistent list - objects that were created, modified, or deleted between "
    "the time the first chunk was returned and now may show up in the list.")

# Objects are written as compact JSON by orjson (Rust; ~10x faster than the json module, the
# same bytes for everything an API object holds, but UTF-8 where json writes \uXXXX escapes,
# as Go does). What orjson refuses to write -- an int past 64 bits, which the schema keeps out
# of objects anyway, or a lone surrogate -- goes through the json module as before, and what
# orjson cannot read (such a surrogate's escape) is read by the json module.
_json_dumps = json.JSONEncoder(separators=(",", ":")).encode
_json_loads = json.JSONDecoder().decode


def _dumps(obj: Any) -> bytes:
    try:
        # orjson's bytes keep the room its buffer grew to (8 KB for a 2.7 KB pod): the
        # store keeps every value, so copy it to its size.
        return bytes(memoryview(orjson.dumps(obj)))
    except orjson.JSONEncodeError:
        return _json_dumps(obj).encode()


def _loads(data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return _json_loads(data.decode())


# -- encoding -----------------------------------------------------------------------------------

def encode(obj: dict) -> bytes:
    """An object as etcd stores it: compact JSON without ``metadata.resourceVersion``."""
    meta = obj["metadata"]
    rv = meta.pop("resourceVersion", None)
    try:
        return _dumps(obj)
    finally:
        if rv is not None:
            meta["resourceVersion"] = rv


def decode(kv: KeyValue) -> dict:
    """An object as stored, with ``metadata.resourceVersion`` set to its mod revision."""
    obj = _loads(kv.value)
    obj["metadata"]["resourceVersion"] = str(kv.mod_revision)
    return obj


# Values up to this long are interned by decode_shared: names of things, enums, timestamps,
# quantities recur across objects; longer strings (a certificate, a script) rarely do.
SHARED_STRING_MAX = 64
# How many distinct small objects decode_shared remembers for sharing (then it starts over).
SHARED_LEAVES_LIMIT = 65_536
_leaves: dict[tuple, dict] = {}
# How many maps and lists inside objects decode_shared remembers by their JSON (likewise).
SHARED_SUBTREES_LIMIT = 16_384
_subtrees: dict[bytes, dict | list] = {}
# The hashes of the JSON of maps and lists seen once: one seen again is remembered (see
# _share_subtree); likewise bounded.
_sighted: set[int] = set()


def _share(obj: dict, old: dict | None = None) -> dict:
    """``obj`` with its short strings interned and its small objects shared, in place.

    Short string values are ``sys.intern``-ed (orjson already shares keys). An
    object whose values are all strings, ints or nulls (a toleration, a resource
    request, a condition, labels) is looked up among the ones seen before, and an
    equal one is returned instead. Bools and floats keep an object unshared: they
    compare equal to ints (``True == 1``), so a lookup could swap their types.

    A map or list inside it written as one seen before (the same JSON: the
    tolerations every pod gets, the projected service-account volume of every pod
    in a namespace, the requests of a template) is that one, found by its JSON,
    written in C, instead of walked (:func:`_share_subtree`).

    ``old``: the same object's previous version, shared so already. A map or list
    written as the one ``old`` holds under the same key is taken from it, a
    comparison in C instead of a walk in Python: a binding changes a pod's node
    and a condition, and its containers, volumes and tolerations stay as they
    were.
    """
    intern, limit = sys.intern, SHARED_STRING_MAX
    leaf = True
    for key, value in obj.items():
        kind = value.__class__
        if kind is str:
            if len(value) <= limit:
                obj[key] = intern(value)
        elif old is not None and (kind is dict or kind is list) \
                and (was := old.get(key)).__class__ is kind and _same_json(was, value):
            leaf = False
            obj[key] = was
        elif kind is dict or kind is list:
            leaf = False
            was = old.get(key) if old is not None else None
            obj[key] = _share_subtree(value, was if was.__class__ is dict else None)
        elif kind is bool or kind is float:
            leaf = False
    return _shared_leaf(obj) if leaf else obj


def _share_subtree(value: dict | list, old: dict | None) -> dict | list:
    """A map or list inside an object, shared: one written as the same JSON before, else
    ``value`` with its own parts shared (``old``: a map's previous version).

    The same bytes are the same keys in the same order and values of the same types
    (``true`` is not ``1``), so either may stand for the other. A map or list is
    remembered the second time it is seen, not the first: most are seen once only (a
    pod's spec, which names its own service-account volume), and remembering those
    would fill the table and push out the ones every pod shares (its tolerations).
    """
    try:
        text = orjson.dumps(value)
    except orjson.JSONEncodeError:  # what only the json module writes: shared within only
        text = None
    else:
        seen = _subtrees.get(text)
        if seen is not None:
            return seen
    if value.__class__ is dict:
        value = _share(value, old)  # type: ignore[arg-type]
    else:
        intern, limit = sys.intern, SHARED_STRING_MAX
        for i, item in enumerate(value):
            if item.__class__ is dict:
                value[i] = _share(item)
            elif item.__class__ is str and len(item) <= limit:
                value[i] = intern(item)
    if text is not None:
        sighting = hash(text)  # computed already, by the lookup above: kept in the bytes
        if sighting not in _sighted:
            if len(_sighted) >= SHARED_SUBTREES_LIMIT:
                _sighted.clear()
            _sighted.add(sighting)
        else:
            if len(_subtrees) >= SHARED_SUBTREES_LIMIT:
                _subtrees.clear()
            _subtrees[text] = value
    return value


def _same_json(a: dict | list, b: dict | list) -> bool:
    """True if ``a`` and ``b`` are written as the same JSON.

    ``==`` alone is not enough: it holds for maps with their keys in another
    order, which are written otherwise, and for ``True`` and ``1``. So equal
    values are written (orjson, in C) and the bytes compared.
    """
    if a is b:  # built from the previous version: the very object
        return True
    if a != b:
        return False
    try:
        return orjson.dumps(a) == orjson.dumps(b)
    except orjson.JSONEncodeError:  # what only the json module writes: walk it instead
        return False


def _shared_leaf(obj: dict) -> dict:
    """An equal object seen before (values all strings, ints or nulls), else ``obj``,
    remembered."""
    members = tuple(obj.items())
    seen = _leaves.get(members)
    if seen is not None:
        return seen
    if len(_leaves) >= SHARED_LEAVES_LIMIT:
        _leaves.clear()
    _leaves[members] = obj
    return obj


def decode_shared(kv: KeyValue, previous: dict | None = None, written: dict | None = None
                  ) -> dict:
    """:func:`decode`, with strings and small objects shared with everything decoded so.

    For objects that are kept: the watch cache decodes each change with it, and
    informers keep what it sends -- the controller manager's pod informer, every
    pod of the cluster. JSON decoding makes a fresh string for every value and a
    fresh dict for every object; here ``"NoExecute"`` or a timestamp is one
    string however many objects hold it, and the two default tolerations one list
    of two dicts for every pod (:func:`_share`). A bound pod of
    ``benchmarks/scheduler.py`` (1.7 KB of JSON) keeps 2.1 KiB of its own instead
    of 8.3 KiB, for under twice the decoding time (orjson alone: 16 us; shared:
    27 us).

    The objects are read-only, as everything a watch sends is (copy before
    changing one): here a change to a shared toleration would change it in every
    pod that has it.

    ``previous``: the object's previous version as decoded so, whose parts left
    as they were are taken as they are (see :func:`_share`).

    ``written``: the object whose encoding ``kv.value`` is, built by its writer
    from ``previous`` (see :meth:`Storage.bind`) and handed over: taken as it is
    instead of decoded, its parts from ``previous`` recognised as the same objects.
    """
    obj = _share(written if written is not None else _loads(kv.value), previous)
    # A metadata without labels is a leaf that may be shared: stamp a copy.
    obj["metadata"] = {**obj["metadata"], "resourceVersion": str(kv.mod_revision)}
    return obj


def parse_resource_version(value: Any) -> int:
    """A resourceVersion string as a revision, or the 400 APIObjectVersioner gives."""
    text = str(value)
    if text.isascii() and text.isdigit():
        return int(text)
    reason = (f"strconv.ParseUint: parsing {go_quote(text)}: invalid syntax")
    raise BadRequest(f"invalid resource version: resourceVersion: Invalid value: "
                     f"{go_quote(text)}: {reason}")


def timestamp_after(sim: Simulation, seconds: float) -> str:
    """The RFC 3339 time ``seconds`` from now on the virtual clock."""
    return sim.timestamp(sim.now + seconds)


def _parse_time(text: str) -> float:
    """Virtual seconds of an RFC 3339 timestamp written by :meth:`Simulation.timestamp`."""
    moment = datetime(int(text[0:4]), int(text[5:7]), int(text[8:10]), int(text[11:13]),
                      int(text[14:16]), int(text[17:19]), tzinfo=timezone.utc)
    return (moment - EPOCH) / timedelta(seconds=1)


# -- continue tokens (apiserver/pkg/storage/continue.go) ----------------------------------------


def encode_continue(key: str, key_prefix_: str, revision: int) -> str:
    """The opaque ``continue`` of a list page: base64 of ``{"v","rv","start"}``."""
    token = {"v": "meta.k8s.io/v1", "rv": revision, "start": key[len(key_prefix_):]}
    return base64.urlsafe_b64encode(_dumps(token)).decode().rstrip("=")


def decode_continue(token: str, key_prefix_: str) -> tuple[str, int]:
    """The key and revision a ``continue`` token resumes from, or the 400 upstream gives."""
    def bad(why: str) -> BadRequest:
        return BadRequest(f"invalid continue token: {why}")

    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError) as err:
        raise bad(f"continue key is not valid: {err}") from None
    if not isinstance(data, dict) or data.get("v") != "meta.k8s.io/v1":
        version = data.get("v", "") if isinstance(data, dict) else ""
        raise bad(f"continue key is not valid: server does not recognize this encoded version "
                  f"{version}")
    rv, start = data.get("rv"), data.get("start")
    if not isinstance(rv, int) or isinstance(rv, bool) or rv == 0:
        raise bad("continue key is not valid: incorrect encoded start resourceVersion "
                  "(version meta.k8s.io/v1)")
    if not isinstance(start, str) or not start:
        raise bad("continue key is not valid: encoded start key empty (version meta.k8s.io/v1)")
    key = start if start.startswith("/") else "/" + start
    cleaned = posixpath.normpath(key)
    if cleaned.startswith("//"):
        cleaned = cleaned[1:]  # Go's path.Clean keeps one leading slash
    if cleaned != key:
        raise bad(f"continue key is not valid: {start}")
    return key_prefix_ + key[1:], rv


class ContinueExpired(Expired):
    """410 for a continue token whose revision etcd compacted; carries a fresh token."""

    def __init__(self, token: str) -> None:
        super().__init__(INCONSISTENT_CONTINUE)
        self.continue_token = token

    @property
    def status(self) -> dict[str, Any]:
        """The Status, with ``metadata.continue`` resuming at the latest revision."""
        body = super().status
        body["metadata"] = {"continue": self.continue_token}
        return body


# -- pod helpers --------------------------------------------------------------------------------


def pod_qos_class(pod: Mapping[str, Any]) -> str:
    """Guaranteed, Burstable or BestEffort, from cpu and memory requests and limits (GetPodQOS)."""
    spec = pod.get("spec") or {}
    containers = list(spec.get("containers") or []) + list(spec.get("initContainers") or [])
    any_set, guaranteed = False, True
    for c in containers:
        resources = c.get("resources") or {}
        requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
        for name in ("cpu", "memory"):
            req, lim = requests.get(name), limits.get(name)
            if _nonzero(req) or _nonzero(lim):
                any_set = True
            if lim is None or (req is not None and not _same(req, lim)):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def _nonzero(value: Any) -> bool:
    try:
        return value is not None and parse_quantity(str(value)).sign() != 0
    except ValueError:
        return False


def _same(a: Any, b: Any) -> bool:
    try:
        return parse_quantity(str(a)) == parse_quantity(str(b))
    except ValueError:
        return a == b


def set_condition(status: dict, condition_type: str, value: str, now: str,
                  reason: str = "", message: str = "") -> None:
    """Add or update a status condition; lastTransitionTime moves only when status changes."""
    conditions = status.setdefault("conditions", [])
    for cond in conditions:
        if cond.get("type") == condition_type:
            if cond.get("status") != value:
                cond["lastTransitionTime"] = now
            cond["status"] = value
            if reason:
                cond["reason"] = reason
            if message:
                cond["message"] = message
            return
    cond = {"type": condition_type, "status": value, "lastProbeTime": None,
            "lastTransitionTime": now}
    if reason:
        cond["reason"] = reason
    if message:
        cond["message"] = message
    conditions.append(cond)


# -- the lease manager (etcd3/lease_manager.go) -------------------------------------------------


class LeaseManager:
    """Hands out etcd leases for objects with a TTL, reusing one for a while."""

    def __init__(self, sim: Simulation, store: Store) -> None:
        self.sim = sim
        self.store = store
        self._lease_id = 0
        self._expires = float("-inf")
        self._attached = 0  # objects given the lease, written or not (leaseAttachedObjectCount)

    def lease_for(self, ttl: int) -> int:
        """A lease that outlives ``ttl`` seconds: the previous one if it still fits and has
        gone to fewer than LEASE_MAX_OBJECT_COUNT objects, else a new one."""
        now = self.sim.now
        reuse = min(int(LEASE_REUSE_PERCENT * ttl), LEASE_REUSE_SECONDS)
        self._attached += 1
        if now + ttl < self._expires <= now + ttl + reuse \
                and self._attached <= LEASE_MAX_OBJECT_COUNT:
            if self.store.time_to_live(self._lease_id).ttl != -1:  # not revoked meanwhile
                return self._lease_id
        ttl += reuse
        lease = self.store.grant(ttl)
        self._lease_id, self._expires, self._attached = lease.id, now + ttl, 1
        return lease.id


# -- storage ------------------------------------------------------------------------------------


class Storage:
    """The API server's side of etcd: keys, revisions, strategies and subresources."""

    def __init__(self, sim: Simulation, store: Store) -> None:
        self.sim = sim
        self.store = store
        self._uids = sim.rng("apiserver/uids")
        self._names = sim.rng("apiserver/generate-name")
        self.leases = LeaseManager(sim, store)
        self.watch_cache: WatchCache | None = None
        self._stamp: tuple[float, str] = (-1.0, "")

    def now(self) -> str:
        """The RFC 3339 time now (one strftime per virtual instant)."""
        if self._stamp[0] != self.sim.now:
            self._stamp = (self.sim.now, self.sim.timestamp())
        return self._stamp[1]

    # -- names and keys --------------------------------------------------------------------------
    @staticmethod
    def key(info: ResourceInfo, namespace: str | None, name: str) -> str:
        """The etcd key of an object of ``info``."""
        return key_for(info.resource, namespace if info.namespaced else None, name)

    def new_uid(self) -> str:
        """A fresh uid, deterministic for the simulation's seed: a version-4 UUID, written as
        ``str(uuid.UUID(int=bits, version=4))`` writes it, in a third of the time."""
        bits = self._uids.getrandbits(128)
        # uuid.py: the variant bits (10, RFC 4122) and the version nibble (4)
        bits = (bits & ~(0xC000 << 48 | 0xF000 << 64)) | 0x8000 << 48 | 4 << 76
        digits = f"{bits:032x}"
        return (f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-"
                f"{digits[20:]}")

    def generate_name(self, base: str) -> str:
        """``base`` (cut to 58 characters) plus 5 random ones (SimpleNameGenerator)."""
        suffix = "".join(self._names.choice(NAME_ALPHABET) for _ in range(GENERATED_SUFFIX_LENGTH))
        return base[:MAX_GENERATED_NAME_BASE] + suffix

    # -- reads -----------------------------------------------------------------------------------
    def get_kv(self, info: ResourceInfo, namespace: str | None, name: str) -> KeyValue:
        """The stored key-value of one object, or NotFound."""
        kv = self.store.get(self.key(info, namespace, name)) if name else None
        if kv is None:
            raise NotFound(info.resource, name, info.group)
        return kv

    def get(self, info: ResourceInfo, namespace: str | None, name: str,
            resource_version: str | None = None) -> dict:
        """One object as it is now: read from etcd, or, at any ``resource_version``, the watch
        cache's copy, which is at least that recent ("not older than").

        As cacher.go Get (v1.32): no resourceVersion reads etcd; any other waits
        until the cache has seen that revision (WaitUntilFreshAndGet: at "0", for
        nothing) and answers the object as the cache holds it -- never an older
        version. kubelearn's cache is always up to date, so a revision etcd has
        not reached yet is the 504 "Too large resource version" at once.
        """
        if resource_version and self.watch_cache is not None:
            rev = parse_resource_version(resource_version)
            if rev > self.store.revision:
                raise too_large(rev, self.store.revision)
            kv = self.watch_cache.current(self.key(info, namespace, name)) if name else None
            if kv is None:
                raise NotFound(info.resource, name, info.group)
            return decode(kv)
        return decode(self.get_kv(info, namespace, name))

    def list(self, info: ResourceInfo, namespace: str | None, *,
             label: LabelSelector | None = None, field: FieldSelector | None = None,
             limit: int = 0, continue_token: str = "", resource_version: str = "",
             match: str = "") -> dict:
        """A ``<Kind>List`` of the objects that match, one page of ``limit`` if asked."""
        label = None if label is None or label.empty() else label
        field = None if field is None or field.empty() else field
        if namespace is None and field is not None and info.namespaced:
            namespace = field.requires_exact_match("metadata.namespace")
        prefix = key_prefix(info.resource, namespace if info.namespaced else None)
        if self._list_from_cache(resource_version, continue_token, match):
            return self._list_cached(info, namespace, label, field)
        read_rev = 0
        start = prefix
        if continue_token:
            if resource_version not in ("", "0"):
                raise BadRequest("specifying resource version is not allowed when using continue")
            start, token_rev = decode_continue(continue_token, prefix)
            read_rev = max(token_rev, 0)
        elif resource_version not in ("", "0"):
            rev = parse_resource_version(resource_version)
            if match == "Exact" or (not match and limit > 0):
                read_rev = rev  # legacy: a limited list at N reads exactly N
            elif rev > self.store.revision:
                raise too_large(rev, self.store.revision)
        if read_rev > self.store.revision:
            raise too_large(read_rev, self.store.revision)
        kvs, revision = self._candidates(info, namespace, prefix, start, read_rev, label, field,
                                         limit, continue_token)
        items: list[dict] = []
        last_key, consumed, more = "", 0, False
        for kv in kvs:
            if limit and len(items) == limit:
                more = True
                break
            consumed += 1
            last_key = kv.key
            obj = decode(kv)
            if _matches(obj, label, field):
                items.append(obj)
        meta: dict[str, Any] = {"resourceVersion": str(revision)}
        if more:
            meta["continue"] = encode_continue(last_key + "\0", prefix, revision)
            if label is None and field is None:
                meta["remainingItemCount"] = getattr(kvs, "total", len(kvs)) - consumed
        return {"kind": info.list_kind, "apiVersion": info.api_version, "metadata": meta,
                "items": items}

    def _list_from_cache(self, resource_version: str, continue_token: str, match: str) -> bool:
        """Whether kube-apiserver answers this list from its watch cache without asking etcd.

        cacher.go shouldDelegateList (v1.32) sends a list to etcd when it has a
        ``continue`` (the cache keeps no old pages) or a match other than
        NotOlderThan, and a ``limit`` unless the resourceVersion is "0" ("serve
        paginated requests about revision 0 from watch cache to avoid
        overwhelming etcd"). A list without a resourceVersion is served from the
        cache too (ConsistentListFromCache), but only once etcd has said its
        current revision: a quorum read, which kubelearn's etcd range stands for.
        So only "0" stays away from etcd.
        """
        return (resource_version == "0" and not continue_token
                and match in ("", "NotOlderThan") and self.watch_cache is not None)

    def _list_cached(self, info: ResourceInfo, namespace: str | None,
                     label: LabelSelector | None, field: FieldSelector | None) -> dict:
        """A list from the watch cache: every match in one page, at the cache's revision.

        The cacher in v1.32 has no pages to hand out: a ``limit`` is ignored and
        the whole list comes back, without ``continue`` (watch_cache.go
        WaitUntilFreshAndList; paging from the cache came with v1.33's snapshots).
        """
        assert self.watch_cache is not None
        node = field.requires_exact_match("spec.nodeName") if field is not None else None
        kvs, revision = self.watch_cache.list_current(info, namespace, node)
        items = [obj for obj in map(decode, kvs) if _matches(obj, label, field)]
        return {"kind": info.list_kind, "apiVersion": info.api_version,
                "metadata": {"resourceVersion": str(revision)}, "items": items}

    def _candidates(self, info: ResourceInfo, namespace: str | None, prefix: str, start: str,
                    read_rev: int, label: LabelSelector | None, field: FieldSelector | None,
                    limit: int, continue_token: str) -> tuple[list[KeyValue], int]:
        """The key-values a list looks at, narrowed by name or (pods) node when it can be."""
        name = field.requires_exact_match("metadata.name") if field is not None else None
        try:
            if name is not None and start == prefix and (namespace or not info.namespaced):
                kv = self.store.get(prefix + name, revision=read_rev)
                return ([kv] if kv is not None else []), read_rev or self.store.revision
            node = field.requires_exact_match("spec.nodeName") if field is not None else None
            if (node is not None and info.resource == "pods" and self.watch_cache is not None
                    and not read_rev and not continue_token):
                kvs = [kv for key in self.watch_cache.keys_on_node(node)
                       if key.startswith(prefix) and (kv := self.store.get(key)) is not None]
                return kvs, self.store.revision
            wanted = limit + 1 if limit and label is None and field is None else 0
            resp = self.store.range(start, prefix_end(prefix), revision=read_rev, limit=wanted)
            if wanted and resp.more:
                full = self.store.range(start, prefix_end(prefix), revision=read_rev,
                                        count_only=True)
                return _Counted(resp.kvs, full.count), read_rev or resp.revision
            return resp.kvs, read_rev or resp.revision
        except CompactedError:
            if continue_token:
                raise ContinueExpired(encode_continue(start, prefix, -1)) from None
            raise Expired(EXPIRED_LIST) from None

    # -- create ----------------------------------------------------------------------------------
    def prepare_for_create(self, info: ResourceInfo, obj: dict) -> None:
        """System fields and the strategy's PrepareForCreate, after mutating admission."""
        meta = obj["metadata"]
        meta["uid"] = self.new_uid()  # rest.FillObjectMetaSystemFields
        meta["creationTimestamp"] = self.now()
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = self.generate_name(meta["generateName"])
        if info.generation is not None:
            meta["generation"] = 1
        else:
            meta.pop("generation", None)
        if info.reset_status_on_create:
            obj.pop("status", None)
        drop_disabled_pod_fields(info, obj, None)
        if info.resource == "pods":  # pod strategy: Pending, with its QoS class
            obj["status"] = {"phase": "Pending", "qosClass": pod_qos_class(obj)}
            if (obj.get("spec") or {}).get("schedulingGates"):  # applySchedulingGatedCondition
                obj["status"]["conditions"] = [SCHEDULING_GATED_CONDITION.copy()]
        elif info.resource == "namespaces":  # namespace strategy
            spec = obj.setdefault("spec", {})
            finalizers = spec.get("finalizers") or []
            if "kubernetes" not in finalizers:
                spec["finalizers"] = [*finalizers, "kubernetes"]
            obj["status"] = {"phase": "Active"}
        elif info.resource == "persistentvolumeclaims":  # SetDefaults_PersistentVolumeClaim,
            obj["status"] = {"phase": "Pending"}  # which upstream applies again on every read

    def create(self, info: ResourceInfo, obj: dict, *, dry_run: bool = False) -> dict:
        """Write a new object; a clash on a generated name tries a new one (8 attempts)."""
        fill_zero_values(obj)
        meta = obj["metadata"]
        if meta.get("resourceVersion"):
            raise BadRequest("resourceVersion should not be set on objects to be created")
        generated = bool(meta.get("generateName")) and meta["name"].startswith(
            meta["generateName"][:MAX_GENERATED_NAME_BASE])
        for attempt in range(MAX_NAME_GENERATION_ATTEMPTS):
            key = self.key(info, meta.get("namespace"), meta["name"])
            if dry_run:
                if self.store.get(key) is not None:
                    raise AlreadyExists(info.resource, meta["name"], info.group)
                return obj
            lease = self.leases.lease_for(info.ttl) if info.ttl else 0
            resp = self._txn([Compare.mod_revision(key) == 0], [Op.put(key, encode(obj), lease)])
            if resp.succeeded:
                meta["resourceVersion"] = str(resp.revision)
                return obj
            if not generated or attempt == MAX_NAME_GENERATION_ATTEMPTS - 1:
                break
            meta["name"] = self.generate_name(meta["generateName"])
        raise AlreadyExists(info.resource, meta["name"], info.group)

    # -- update ----------------------------------------------------------------------------------
    def prepare_for_update(self, info: ResourceInfo, new: dict, old: dict,
                           subresource: str = "") -> None:
        """rest.BeforeUpdate and the strategy's PrepareForUpdate: what a client may not change."""
        meta, old_meta = new["metadata"], old["metadata"]
        if subresource == "status":
            # StatusStrategy: only status moves; metadata and spec stay (ResetObjectMetaForStatus).
            status = new.get("status")
            new.clear()
            new.update({k: v for k, v in old.items() if k != "status"})
            new["metadata"] = {**old_meta, "resourceVersion": meta.get("resourceVersion")}
            if info.resource == "deployments" and "annotations" in meta:
                # deploymentStatusStrategy resets only spec and labels: the deployment
                # controller writes the revision annotation through deployments/status.
                new["metadata"]["annotations"] = meta["annotations"]
            if status is not None:
                new["status"] = status
            if info.resource == "pods" and old.get("status", {}).get("qosClass"):
                new.setdefault("status", {}).setdefault("qosClass", old["status"]["qosClass"])
            return
        if info.has_status:  # the main resource ignores status
            if "status" in old:
                new["status"] = old["status"]
            else:
                new.pop("status", None)
        if not meta.get("uid"):
            meta["uid"] = old_meta.get("uid")
        for field in ("creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds"):
            if old_meta.get(field) is not None:
                meta[field] = old_meta[field]
            elif field != "creationTimestamp":
                meta.pop(field, None)
        drop_disabled_pod_fields(info, new, old)  # before generation: it compares the spec
        if "generation" in old_meta:
            meta["generation"] = old_meta["generation"]
            if info.generation is not None and not semantic_equal(info.generation(new),
                                                                  info.generation(old)):
                meta["generation"] = old_meta["generation"] + 1  # Semantic.DeepEqual said no
        else:
            meta.pop("generation", None)
        if info.resource == "namespaces" and subresource != "finalize":
            new.setdefault("spec", {})["finalizers"] = old.get("spec", {}).get("finalizers", [])

    def check_precondition(self, info: ResourceInfo, new: dict, kv: KeyValue) -> None:
        """A stale ``resourceVersion`` is a Conflict (none given: update whatever is there)."""
        rv = new["metadata"].get("resourceVersion")
        if rv not in (None, "") and parse_resource_version(rv) != kv.mod_revision:
            raise Conflict(info.resource, new["metadata"].get("name", ""), group=info.group)

    def update(self, info: ResourceInfo, new: dict, kv: KeyValue, *,
               dry_run: bool = False, old: dict | None = None,
               old_finalizers: list | None = None, hand_over: bool = False) -> dict:
        """Write ``new`` over the version read as ``kv``; no change writes nothing.

        ``hand_over``: nobody else holds ``new``, so the watch cache may keep it as
        written instead of decoding the stored value (see :func:`decode_shared`).
        """
        meta = new["metadata"]
        if old_finalizers is None and meta.get("deletionTimestamp") \
                and not meta.get("finalizers"):
            old_finalizers = (old if old is not None else json.loads(kv.value))["metadata"].get(
                "finalizers")
        if (meta.get("deletionTimestamp") and not meta.get("finalizers") and old_finalizers
                and not meta.get("deletionGracePeriodSeconds")):
            # registry/store.go ShouldDeleteDuringUpdate: the last finalizer went
            self._delete_kv(info, kv, meta.get("name", ""), dry_run)
            meta["resourceVersion"] = str(self.store.revision)
            return new
        fill_zero_values(new, old)  # what old holds as it was was filled when written
        data = encode(new)
        if data == kv.value or dry_run:
            meta["resourceVersion"] = str(kv.mod_revision)
            return new
        lease = self.leases.lease_for(info.ttl) if info.ttl else 0
        cache = self.watch_cache if hand_over else None
        if cache is not None:
            cache.expect(kv.key, data, new)
        try:
            resp = self._txn([Compare.mod_revision(kv.key) == kv.mod_revision],
                             [Op.put(kv.key, data, lease)])
        finally:
            if cache is not None:
                cache.expect(None)
        if not resp.succeeded:
            raise Conflict(info.resource, meta.get("name", ""), group=info.group)
        meta["resourceVersion"] = str(resp.revision)
        return new

    # -- delete ----------------------------------------------------------------------------------
    def delete(self, info: ResourceInfo, namespace: str | None, name: str,
               options: Mapping[str, Any] | None = None, *, dry_run: bool = False,
               kv: KeyValue | None = None) -> dict:
        """Delete as registry/store.go Delete does: graceful, finalizers, or right away."""
        options = dict(options or {})
        if kv is None:
            kv = self.get_kv(info, namespace, name)
        obj = decode(kv)
        graceful, pending = self._before_delete(info, obj, options)
        if pending:
            return self._finalize_delete(info, obj)
        meta = obj["metadata"]
        finalizers = list(meta.get("finalizers") or [])
        before = finalizers
        changed, finalizers = _gc_finalizers(finalizers, options.get("propagationPolicy"))
        if graceful or finalizers or changed:
            meta["finalizers"] = finalizers
            if not finalizers:
                meta.pop("finalizers")
            if not graceful:
                if not finalizers:
                    return self._delete_now(info, kv, obj, dry_run)
                _mark_as_deleting(meta, self.sim.timestamp())
            out = self.update(info, obj, kv, dry_run=dry_run, old_finalizers=before)
            if finalizers or (graceful and options.get("gracePeriodSeconds", 0) > 0):
                return out
            kv = self.store.get(kv.key) or kv
        return self._delete_now(info, kv, obj, dry_run)

    def _before_delete(self, info: ResourceInfo, obj: dict, options: dict) -> tuple[bool, bool]:
        """rest.BeforeDelete: (graceful, graceful deletion already pending)."""
        meta = obj["metadata"]
        pre = options.get("preconditions") or {}
        if pre.get("uid") is not None and pre["uid"] != meta.get("uid"):
            raise Conflict(info.kind, meta["name"], group=info.group, err=(
                f"the UID in the precondition ({pre['uid']}) does not match the UID in record "
                f"({meta.get('uid')}). The object might have been deleted and then recreated"))
        if pre.get("resourceVersion") is not None and \
                pre["resourceVersion"] != meta.get("resourceVersion"):
            raise Conflict(info.kind, meta["name"], group=info.group, err=(
                f"the ResourceVersion in the precondition ({pre['resourceVersion']}) does not "
                f"match the ResourceVersion in record ({meta.get('resourceVersion')}). The object "
                "might have been modified"))
        period = options.get("gracePeriodSeconds")
        if period is not None and period < 0:
            options["gracePeriodSeconds"] = period = 1  # negative means 1s on the delete path
        if not info.graceful:
            return False, False
        current = meta.get("deletionGracePeriodSeconds")
        if meta.get("deletionTimestamp") is not None:
            if not current:
                return False, False  # a zero grace period left behind: delete now
            if period is not None:
                if period >= current:
                    return False, True
                deadline = _parse_time(meta["deletionTimestamp"]) - current + period
                meta["deletionTimestamp"] = self.sim.timestamp(deadline)
                meta["deletionGracePeriodSeconds"] = period
                return True, False
            options["gracePeriodSeconds"] = current
            return False, True
        # pod strategy CheckGracefulDelete
        if period is None:
            period = (obj.get("spec") or {}).get("terminationGracePeriodSeconds") or 0
        if not (obj.get("spec") or {}).get("nodeName"):
            period = 0  # never scheduled: nothing to stop
        if (obj.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            period = 0  # already terminated
        options["gracePeriodSeconds"] = period
        meta["deletionTimestamp"] = timestamp_after(self.sim, period)
        meta["deletionGracePeriodSeconds"] = period
        if meta.get("generation", 0) > 0:
            meta["generation"] += 1
        return True, False

    def _delete_now(self, info: ResourceInfo, kv: KeyValue, obj: dict, dry_run: bool) -> dict:
        """Remove the object from etcd (if nobody changed it meanwhile)."""
        self._delete_kv(info, kv, obj["metadata"].get("name", ""), dry_run)
        return self._finalize_delete(info, obj)

    def _delete_kv(self, info: ResourceInfo, kv: KeyValue, name: str, dry_run: bool) -> None:
        if dry_run:
            return
        resp = self._txn([Compare.mod_revision(kv.key) == kv.mod_revision], [Op.delete(kv.key)])
        if not resp.succeeded:
            raise Conflict(info.resource, name, group=info.group)

    @staticmethod
    def _finalize_delete(info: ResourceInfo, obj: dict) -> dict:
        """What DELETE answers: the object, or a Success Status naming it (finalizeDelete)."""
        if info.return_deleted_object:
            return obj
        meta = obj["metadata"]
        details = {"name": meta.get("name"), "group": info.group, "kind": info.resource,
                   "uid": meta.get("uid")}
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                "details": {k: v for k, v in details.items() if v}}

    # -- subresources ----------------------------------------------------------------------------
    def bind(self, namespace: str, name: str, binding: Mapping[str, Any], pods: ResourceInfo,
             *, dry_run: bool = False) -> dict:
        """pods/binding: set ``spec.nodeName`` once, and the PodScheduled condition."""
        target = binding.get("target") or {}
        node = target.get("name") if isinstance(target, Mapping) else None
        if not node:
            raise Invalid("Binding", name, [FieldError.required(Path("target", "name"))])
        kv = self.get_kv(pods, namespace, name)
        # The pod as the watch cache holds it, as upstream's cacher starts an update
        # (GuaranteedUpdate's cachedExistingObject); read-only: what changes is copied.
        cached = self.watch_cache.decoded(kv) if self.watch_cache is not None else None
        old = cached if cached is not None else decode(kv)
        # The bound pod shares what binding leaves alone with the stored one, so the
        # write fills (zero_filled) only the node name and the condition.
        pod = {**old, "metadata": dict(old["metadata"])}
        meta = pod["metadata"]
        want = binding.get("metadata") or {}
        if want.get("uid") and want["uid"] != meta.get("uid"):
            raise Conflict("pods", name, err=(
                f"Precondition failed: UID in precondition: {want['uid']}, UID in object meta: "
                f"{meta.get('uid')}"))
        if want.get("resourceVersion") and want["resourceVersion"] != meta["resourceVersion"]:
            raise Conflict("pods", name, err=(
                f"Precondition failed: ResourceVersion in precondition: {want['resourceVersion']}"
                f", ResourceVersion in object meta: {meta['resourceVersion']}"))
        if meta.get("deletionTimestamp"):
            raise Conflict("pods/binding", name,
                           err=f"pod {name} is being deleted, cannot be assigned to a host")
        current = (pod.get("spec") or {}).get("nodeName")
        if current:
            raise Conflict("pods/binding", name,
                           err=f"pod {name} is already assigned to node {go_quote(current)}")
        pod["spec"] = {**(pod.get("spec") or {}), "nodeName": node}
        if want.get("annotations"):
            meta["annotations"] = {**(meta.get("annotations") or {}), **want["annotations"]}
        status = pod["status"] = dict(pod.get("status") or {})
        status["conditions"] = [dict(c) for c in status.get("conditions") or ()]
        set_condition(status, "PodScheduled", "True", self.sim.timestamp())
        # Nobody else holds the bound pod (binding answers a Status): the watch cache
        # may keep it as written, its unchanged parts the very ones it holds already.
        self.update(pods, pod, kv, dry_run=dry_run, old=old, hand_over=cached is not None)
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                "code": 201}

    @staticmethod
    def scale_of(info: ResourceInfo, obj: Mapping[str, Any]) -> dict:
        """The autoscaling/v1 Scale of a deployment or replicaset."""
        meta = obj["metadata"]
        spec, status = obj.get("spec") or {}, obj.get("status") or {}
        selector = ""
        if spec.get("selector") is not None:
            try:
                selector = str(LabelSelector.from_dict(spec["selector"]))
            except StatusError:
                selector = ""
        scale_meta = {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                           "creationTimestamp") if meta.get(k) is not None}
        return {"kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": scale_meta,
                "spec": {"replicas": spec.get("replicas", 1)},
                "status": {"replicas": status.get("replicas", 0), "selector": selector}}

    # -- etcd ------------------------------------------------------------------------------------
    def _txn(self, compare: list, success: list) -> Any:
        """One etcd txn; an oversized value is the 413 etcd's limit turns into."""
        try:
            return self.store.txn(compare, success)
        except RequestTooLargeError:
            raise RequestEntityTooLarge("etcdserver: request is too large") from None


class _Counted(list):
    """A first page of key-values that also knows how many there are in all."""

    def __init__(self, kvs: list[KeyValue], total: int) -> None:
        super().__init__(kvs)
        self.total = total


def _matches(obj: dict, label: LabelSelector | None, field: FieldSelector | None) -> bool:
    """True if ``obj`` passes both selectors (the storage SelectionPredicate)."""
    if label is not None and not label.matches(obj["metadata"].get("labels")):
        return False
    return field is None or field.matches(selectable_fields(obj))


def _gc_finalizers(finalizers: list[str], policy: Any) -> tuple[bool, list[str]]:
    """deletionFinalizersForGarbageCollection: orphan / foregroundDeletion per propagationPolicy."""
    wanted = {"Orphan": "orphan", "Foreground": "foregroundDeletion"}.get(policy or "")
    if policy not in ("Orphan", "Foreground", "Background"):
        return False, finalizers
    out = [f for f in finalizers if f not in ("orphan", "foregroundDeletion")]
    if wanted:
        out.append(wanted)
    return out != finalizers, out


def _pod_spec(info: ResourceInfo, obj: Mapping[str, Any] | None) -> Any:
    """The pod spec inside a pod, or a Deployment's or ReplicaSet's template; else None."""
    if obj is None:
        return None
    spec = obj.get("spec")
    if info.resource in ("deployments", "replicasets") and isinstance(spec, dict):
        spec = (spec.get("template") or {}).get("spec")
    return spec if isinstance(spec, dict) else None


def drop_disabled_pod_fields(info: ResourceInfo, new: dict, old: dict | None) -> None:
    """podutil.DropDisabledPodFields / DropDisabledTemplateFields for the gates modelled.

    PodLevelResources is alpha and off in v1.32: a pod-level ``spec.resources`` is
    dropped unless the old object already used it (dropDisabledPodLevelResources).
    """
    if info.resource not in ("pods", "deployments", "replicasets") \
            or FEATURE_GATES["PodLevelResources"]:
        return
    spec = _pod_spec(info, new)
    old_spec = _pod_spec(info, old)
    if spec is not None and "resources" in spec and not (old_spec or {}).get("resources"):
        del spec["resources"]


def _mark_as_deleting(meta: dict, now: str) -> None:
    """markAsDeleting: deletionTimestamp now (unless sooner), grace period 0, generation + 1."""
    if meta.get("generation", 0) > 0:
        meta["generation"] += 1
    if not meta.get("deletionTimestamp") or meta["deletionTimestamp"] > now:
        meta["deletionTimestamp"] = now
    meta["deletionGracePeriodSeconds"] = 0


def status_of_etcd_error(err: EtcdError, verb: str = "") -> StatusError:
    """The Status kube-apiserver answers when etcd, not the request, failed.

    etcd3/store.go returns clientv3's error as it is, and the handler's
    ErrorToAPIStatus makes any error that is not a Status a 500 with an empty
    reason and the error's text (responsewriters/status.go): a write that
    reached Raft but found no majority gets ``etcdserver: request timed out``
    after etcd's 7 s. clientv3 retries the rest until the request's context
    ends (kube-apiserver's ``--request-timeout``, 60 s; see
    :class:`~kubelearn.etcd.UnavailableError`): a linearizable read that gets
    no read index, a write no leader took, a member nobody can reach. Then:

    - a GET or LIST has no handler of its own waiting on the deadline, so the
      timeout filter answers first (:class:`AllottedTimeout`: ``Timeout: request
      did not complete within the allotted timeout``). A LIST without a
      resourceVersion is no exception although it is served from the watch
      cache (ConsistentListFromCache, on since v1.31): the cacher first asks
      etcd for its current revision (storage.GetCurrentResourceVersionFromStorage,
      a quorum read) and returns that error as it is (cacher.go GetList, v1.32).
    - a write's handler waits in finisher.FinishRequest, which answers
      ``Timeout: request did not complete within requested timeout - context
      deadline exceeded``. (It races the timeout filter, woken by the same
      deadline; kubelearn gives the finisher's answer.)

    Only the deadline makes a 504. A write whose member died under it gets
    gRPC's own Unavailable error (``rpc error: code = Unavailable desc = error
    reading from server: EOF``), which clientv3 does not repeat (a write that
    reached Raft may commit: retry_interceptor.go isSafeRetryMutableRPC, v3.5)
    and hands back as it is (client/v3/client.go toErr): like any other etcd
    error, a 500 with its text. (OpenShift's kube-apiserver retries it, in its
    own etcd3retry patch; upstream's does not.)
    """
    if isinstance(err, UnavailableError) and str(err).startswith(UnavailableError.message):
        if verb in ("get", "list"):
            return AllottedTimeout()
        return Timeout(f"request did not complete within requested timeout - {err.message}")
    return StatusError(str(err), reason="", code=500)


class AllottedTimeout(Timeout):
    """504 written by the timeout filter itself (server/filters/timeout.go, v1.32).

    WithTimeoutForNonLongRunningRequests answers
    ``apierrors.NewTimeoutError("request did not complete within the allotted
    timeout", 0)`` by encoding the Status with plain encoding/json: no ``kind``
    and no ``apiVersion`` (so client-go cannot decode it, and kubectl prints its
    own words for a 504: "the server was unable to return a response in the time
    allotted, but may still be processing the request"), and the empty
    ``details`` a zero RetryAfterSeconds leaves.
    """

    def __init__(self) -> None:
        super().__init__("request did not complete within the allotted timeout")

    @property
    def status(self) -> dict:
        """The body as the filter writes it: metav1.Status without its TypeMeta."""
        return {"metadata": {}, "status": "Failure", "message": self.message,
                "reason": self.reason, "details": {}, "code": self.code}


def too_large(requested: int, current: int) -> Timeout:
    """504: a resourceVersion not reached yet (storage.NewTooLargeResourceVersionError)."""
    err = Timeout(f"Too large resource version: {requested}, current: {current}", 1)
    err.details = {"causes": [{"reason": "ResourceVersionTooLarge",
                               "message": "Too large resource version"}],
                   "retryAfterSeconds": 1}
    return err
