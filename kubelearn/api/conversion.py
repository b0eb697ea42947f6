"""The conversion to the internal version: what decoding does beyond types and defaults.

The API server decodes a body into the versioned type (core/v1 ``Secret``),
fills in its defaults, then converts it to the internal type that admission,
validation and storage work on, and converts back to v1 to answer. Most
conversions copy field for field; the ones kept here change the object
(pkg/apis/core/v1/conversion.go):

- a Secret's ``stringData`` is written into ``data``: each value becomes the
  base64 of its UTF-8 bytes, and a key in both takes ``stringData``'s value
  ("StringData overwrites Data", ``Convert_v1_Secret_To_core_Secret``). The
  internal Secret has no ``stringData``, so it is never stored and never
  returned: a Secret created with ``stringData: {password: hunter2}`` reads
  back as ``data: {password: aHVudGVyMg==}``.

    >>> secret = {"kind": "Secret", "data": {"user": "YWRtaW4="},
    ...           "stringData": {"password": "hunter2"}}
    >>> to_internal(secret)
    >>> secret
    {'kind': 'Secret', 'data': {'user': 'YWRtaW4=', 'password': 'aHVudGVyMg=='}}

Create, update and patch all decode their body this way, so a patch that sets
``stringData`` changes ``data`` too.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from typing import Any


def secret_string_data(secret: dict[str, Any]) -> None:
    """Convert_v1_Secret_To_core_Secret: ``stringData`` into ``data``, and gone."""
    string_data = secret.pop("stringData", None)
    if not isinstance(string_data, Mapping) or not string_data:  # len(in.StringData) > 0
        return
    data = secret.get("data")
    merged = dict(data) if isinstance(data, Mapping) else {}
    for key, value in string_data.items():
        text = value if isinstance(value, str) else ""  # null is Go's ""
        merged[key] = base64.b64encode(text.encode("utf-8", "replace")).decode("ascii")
    secret["data"] = merged


CONVERSIONS: dict[str, Callable[[dict[str, Any]], None]] = {
    "Secret": secret_string_data,
}


def to_internal(obj: dict[str, Any]) -> None:
    """Apply, in place, what converting ``obj`` to the internal version changes."""
    convert = CONVERSIONS.get(obj.get("kind", ""))
    if convert is not None:
        convert(obj)
