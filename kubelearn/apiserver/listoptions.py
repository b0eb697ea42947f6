"""Which list and watch options go together: ValidateListOptions, before any read.

A list or watch names *which* state it wants with ``resourceVersion`` and
``resourceVersionMatch`` (and, for a watch, ``sendInitialEvents``). Some
combinations mean nothing: ``Exact`` needs a revision to be exact about, and
``"0"`` means "any", so ``resourceVersionMatch=Exact&resourceVersion=0`` is
refused rather than guessed at. kube-apiserver checks this before it reads
anything (handlers/get.go ListResource, k8s.io/apiserver v0.32.0), with
ValidateListOptions (k8s.io/apimachinery v0.32.0
pkg/apis/meta/internalversion/validation), and answers a 422 ``Invalid`` for
the kind ``ListOptions.meta.k8s.io`` with an empty name.

- :func:`list_options_errors` -- the field errors of one request's options;
- :func:`check_list_options` -- raise them as upstream does;
- :func:`watch_send_initial_events` -- a watch's ``sendInitialEvents`` after the defaults.

For a watch, v1.32 first applies SetListOptionsDefaults with the WatchList
feature gate (beta, on by default in v1.32): a watch from ``""`` or ``"0"``
that names neither option gets ``sendInitialEvents=true`` and
``resourceVersionMatch=NotOlderThan``, which always pass the checks below
(so only what the client sent can be refused), and which make it end its
initial events with a bookmark when it allows bookmarks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubelearn.api import Invalid
from kubelearn.api.errors import FieldError, Path
from kubelearn.apiserver.rest import query_flag, query_option

EXACT = "Exact"  # metav1.ResourceVersionMatchExact
NOT_OLDER_THAN = "NotOlderThan"  # metav1.ResourceVersionMatchNotOlderThan
LIST_OPTIONS_KIND, META_GROUP = "ListOptions", "meta.k8s.io"

_MATCH = Path("resourceVersionMatch")


def list_options_errors(query: Mapping[str, Any] | None, *, watch: bool) -> list[FieldError]:
    """ValidateListOptions (with the WatchList gate on, as v1.32 has it by default)."""
    match = query_option(query, "resourceVersionMatch")
    continuing = bool(query_option(query, "continue"))
    initial_events_set = query_flag(query, "sendInitialEvents") is not None  # the *bool
    if watch:
        return _watch_errors(match, continuing, initial_events_set)
    errs: list[FieldError] = []
    if match:
        rv = query_option(query, "resourceVersion")
        if not rv:
            errs.append(FieldError.forbidden(
                _MATCH, "resourceVersionMatch is forbidden unless resourceVersion is provided"))
        if continuing:
            errs.append(FieldError.forbidden(
                _MATCH, "resourceVersionMatch is forbidden when continue is provided"))
        if match not in (EXACT, NOT_OLDER_THAN):
            errs.append(FieldError.not_supported(_MATCH, match, [EXACT, NOT_OLDER_THAN, ""]))
        if match == EXACT and rv == "0":
            errs.append(FieldError.forbidden(
                _MATCH, 'resourceVersionMatch "exact" is forbidden for resourceVersion "0"'))
    if initial_events_set:
        errs.append(FieldError.forbidden(Path("sendInitialEvents"),
                                         "sendInitialEvents is forbidden for list"))
    return errs


def _watch_errors(match: str, continuing: bool, initial_events_set: bool) -> list[FieldError]:
    """validateWatchOptions: a match only with sendInitialEvents, and only NotOlderThan."""
    errs: list[FieldError] = []
    if initial_events_set and match != NOT_OLDER_THAN:
        errs.append(FieldError.forbidden(
            _MATCH, f"sendInitialEvents requires setting resourceVersionMatch to {NOT_OLDER_THAN}"))
    if match:
        if not initial_events_set:
            errs.append(FieldError.forbidden(
                _MATCH, "resourceVersionMatch is forbidden for watch unless sendInitialEvents "
                        "is provided"))
        if match != NOT_OLDER_THAN:
            errs.append(FieldError.not_supported(_MATCH, match, [NOT_OLDER_THAN]))
        if continuing:
            errs.append(FieldError.forbidden(
                _MATCH, "resourceVersionMatch is forbidden when continue is provided"))
    return errs


def watch_send_initial_events(query: Mapping[str, Any] | None) -> bool | None:
    """A watch's sendInitialEvents after SetListOptionsDefaults (WatchList on, v1.32).

    A watch from ``""`` or ``"0"`` naming neither option is a watch-list: the
    current objects first, and with ``allowWatchBookmarks`` the bookmark
    annotated ``k8s.io/initial-events-end`` after them (cacher.go
    isInitialEventsEndBookmarkRequired). None: the legacy watch.
    """
    sent = query_flag(query, "sendInitialEvents")
    if sent is not None:
        return sent
    if not query_option(query, "resourceVersionMatch") and \
            query_option(query, "resourceVersion") in ("", "0"):
        return True
    return None


def check_list_options(query: Mapping[str, Any] | None, *, watch: bool) -> None:
    """Raise upstream's 422 (``ListOptions.meta.k8s.io "" is invalid: ...``) if any check fails."""
    errs = list_options_errors(query, watch=watch)
    if errs:
        raise Invalid(LIST_OPTIONS_KIND, "", errs, group=META_GROUP)


__all__ = ["EXACT", "NOT_OLDER_THAN", "check_list_options", "list_options_errors",
           "watch_send_initial_events"]
