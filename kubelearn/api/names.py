"""Name and label formats: what may be an object name, a label key or a label value.

Each ``is_*`` function returns the list of reasons a string fails the format --
empty when it passes -- worded exactly as upstream words them:

- object names: :func:`is_dns1123_subdomain` (most kinds, <= 253 bytes),
  :func:`is_dns1123_label` (namespaces, container names, <= 63),
  :func:`is_dns1035_label` (services, <= 63), :func:`is_path_segment_name`
  (what every name must at least be), and the ``name_is_*`` functions that also
  accept a ``generateName`` prefix;
- labels: :func:`is_label_key` (IsQualifiedName) and :func:`is_label_value`;
- ports, config keys and IPs: :func:`is_valid_port_num`, :func:`is_valid_port_name`,
  :func:`is_config_map_key`, :func:`is_valid_ip`.

Sources: k8s.io/apimachinery/pkg/util/validation/validation.go (v1.32,
apimachinery v0.32.0) and pkg/api/validation/path. v1.35 moved these checks to
pkg/api/validate/content and reworded two messages ("bytes", "a valid label key");
the modelled version picks the wording (:func:`max_len_error`, :func:`is_label_key`).
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable

from kubelearn.version import since

DNS1123_LABEL_MAX_LENGTH = 63  # validation.DNS1123LabelMaxLength
DNS1123_SUBDOMAIN_MAX_LENGTH = 253  # validation.DNS1123SubdomainMaxLength
DNS1035_LABEL_MAX_LENGTH = 63  # validation.DNS1035LabelMaxLength
LABEL_VALUE_MAX_LENGTH = 63  # content.LabelValueMaxLength
LABEL_KEY_NAME_MAX_LENGTH = 63  # content labelKeyMaxLength
PORT_NAME_MAX_LENGTH = 15  # IANA service names (RFC 6335)

DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_SUBDOMAIN_FMT = DNS1123_LABEL_FMT + "(\\." + DNS1123_LABEL_FMT + ")*"
DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
LABEL_KEY_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
LABEL_VALUE_FMT = "(" + LABEL_KEY_FMT + ")?"
CONFIG_MAP_KEY_FMT = "[-._a-zA-Z0-9]+"

DNS1123_LABEL_ERR = ("a lowercase RFC 1123 label must consist of lower case alphanumeric "
                     "characters or '-', and must start and end with an alphanumeric character")
DNS1123_SUBDOMAIN_ERR = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                         "characters, '-' or '.', and must start and end with an alphanumeric "
                         "character")
DNS1035_LABEL_ERR = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
                     "start with an alphabetic character, and end with an alphanumeric character")
LABEL_KEY_ERR = ("must consist of alphanumeric characters, '-', '_' or '.', and must start and "
                 "end with an alphanumeric character")
LABEL_VALUE_ERR = ("a valid label must be an empty string or consist of alphanumeric characters, "
                   "'-', '_' or '.', and must start and end with an alphanumeric character")
CONFIG_MAP_KEY_ERR = "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"
IP_ERR = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"


def _size(value: str) -> int:
    """Length in bytes, as Go's len() counts a string."""
    return len(value.encode("utf-8", "surrogatepass"))


@functools.cache
def _pattern(fmt: str) -> re.Pattern[str]:
    return re.compile(fmt)


def _matches(fmt: str, value: str) -> bool:
    return _pattern(fmt).fullmatch(value) is not None


# The API server checks the same few names, label keys and values on every write (a node's
# Lease every 10 s), so each check below remembers its recent answers. The answer depends on
# the string alone; it is kept as a tuple, and every caller gets a fresh list it may change.
_CACHE_SIZE = 8192


def _memoized(check: Callable[[str], list[str]]) -> Callable[[str], list[str]]:
    """``check`` with its answers for plain ``str`` values cached (others are checked anew)."""
    cached = functools.lru_cache(maxsize=_CACHE_SIZE)(lambda value: tuple(check(value)))

    @functools.wraps(check)
    def memoized(value: str) -> list[str]:
        if value.__class__ is str:  # a str subclass or a wrong type: no caching, same outcome
            return list(cached(value))
        return check(value)

    return memoized


# validation.MaxLenError counts characters up to v1.34; content.MaxLenError (v1.35) says bytes.
# Both measure len(), which in Go is bytes.
_MAX_LEN_UNIT = "bytes" if since(35) else "characters"


def max_len_error(length: int) -> str:
    """``must be no more than N characters`` (validation.MaxLenError; "bytes" from v1.35)."""
    return f"must be no more than {length} {_MAX_LEN_UNIT}"


def regex_error(msg: str, fmt: str, *examples: str) -> str:
    """A regex failure worded as validation.RegexError, examples and all."""
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    shown = " or ".join(f"'{e}', " for e in examples)  # yes: "'a',  or 'b', " as upstream
    return f"{msg} (e.g. {shown}regex used for validation is '{fmt}')"


def empty_error() -> str:
    """``must be non-empty`` (validation.EmptyError)."""
    return "must be non-empty"


def inclusive_range_error(lo: int, hi: int) -> str:
    """``must be between lo and hi, inclusive`` (validation.InclusiveRangeError)."""
    return f"must be between {lo} and {hi}, inclusive"


@_memoized
def is_dns1123_label(value: str) -> list[str]:
    """Reasons ``value`` is not an RFC 1123 label (container names, namespaces)."""
    errs = []
    if _size(value) > DNS1123_LABEL_MAX_LENGTH:
        errs.append(max_len_error(DNS1123_LABEL_MAX_LENGTH))
    if not _matches(DNS1123_LABEL_FMT, value):
        if _matches(DNS1123_SUBDOMAIN_FMT, value):
            errs.append("must not contain dots")
        else:
            errs.append(regex_error(DNS1123_LABEL_ERR, DNS1123_LABEL_FMT, "my-name", "123-abc"))
    return errs


@_memoized
def is_dns1123_subdomain(value: str) -> list[str]:
    """Reasons ``value`` is not an RFC 1123 subdomain (pods, nodes, most names)."""
    errs = []
    if _size(value) > DNS1123_SUBDOMAIN_MAX_LENGTH:
        errs.append(max_len_error(DNS1123_SUBDOMAIN_MAX_LENGTH))
    if not _matches(DNS1123_SUBDOMAIN_FMT, value):
        errs.append(regex_error(DNS1123_SUBDOMAIN_ERR, DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errs


@_memoized
def is_dns1035_label(value: str) -> list[str]:
    """Reasons ``value`` is not an RFC 1035 label (service names)."""
    errs = []
    if _size(value) > DNS1035_LABEL_MAX_LENGTH:
        errs.append(max_len_error(DNS1035_LABEL_MAX_LENGTH))
    if not _matches(DNS1035_LABEL_FMT, value):
        errs.append(regex_error(DNS1035_LABEL_ERR, DNS1035_LABEL_FMT, "my-name", "abc-123"))
    return errs


# IsQualifiedName's words for a key with more than one '/'; content.IsLabelKey (v1.35) says
# "a valid label key".
_TOO_MANY_SLASHES = "a valid label key " if since(35) else "a qualified name "


@_memoized
def is_label_key(value: str) -> list[str]:
    """Reasons ``value`` is not a label key (a qualified name), ``[prefix/]name``."""
    errs = []
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part " + empty_error())
        else:
            errs.extend("prefix part " + m for m in is_dns1123_subdomain(prefix))
    else:
        return [
            _TOO_MANY_SLASHES
            + regex_error(LABEL_KEY_ERR, LABEL_KEY_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    if not name:
        errs.append("name part " + empty_error())
    elif _size(name) > LABEL_KEY_NAME_MAX_LENGTH:
        errs.append("name part " + max_len_error(LABEL_KEY_NAME_MAX_LENGTH))
    if not _matches(LABEL_KEY_FMT, name):
        errs.append("name part " + regex_error(LABEL_KEY_ERR, LABEL_KEY_FMT, "MyName", "my.name",
                                               "123-abc"))
    return errs


is_qualified_name = is_label_key  # validation.IsQualifiedName is content.IsLabelKey


@_memoized
def is_label_value(value: str) -> list[str]:
    """Reasons ``value`` is not a label value (empty is fine)."""
    errs = []
    if _size(value) > LABEL_VALUE_MAX_LENGTH:
        errs.append(max_len_error(LABEL_VALUE_MAX_LENGTH))
    if not _matches(LABEL_VALUE_FMT, value):
        errs.append(regex_error(LABEL_VALUE_ERR, LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errs


def is_valid_port_num(port: int) -> list[str]:
    """Reasons ``port`` is not 1-65535."""
    return [] if 1 <= port <= 65535 else [inclusive_range_error(1, 65535)]


def is_in_range(value: int, lo: int, hi: int) -> list[str]:
    """Reasons ``value`` is outside ``[lo, hi]``."""
    return [] if lo <= value <= hi else [inclusive_range_error(lo, hi)]


@_memoized
def is_valid_port_name(port: str) -> list[str]:
    """Reasons ``port`` is not an IANA service name such as ``http``."""
    errs = []
    if _size(port) > PORT_NAME_MAX_LENGTH:
        errs.append(max_len_error(PORT_NAME_MAX_LENGTH))
    if not _matches("[-a-z0-9]+", port):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not re.search("[a-z]", port):
        errs.append("must contain at least one letter (a-z)")
    if "--" in port:
        errs.append("must not contain consecutive hyphens")
    if port and (port[0] == "-" or port[-1] == "-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def _has_chdir_prefix(value: str) -> list[str]:
    if value == ".":
        return ["must not be '.'"]
    if value == "..":
        return ["must not be '..'"]
    if value.startswith(".."):
        return ["must not start with '..'"]
    return []


@_memoized
def is_config_map_key(value: str) -> list[str]:
    """Reasons ``value`` is not a ConfigMap or Secret key."""
    errs = []
    if _size(value) > DNS1123_SUBDOMAIN_MAX_LENGTH:
        errs.append(max_len_error(DNS1123_SUBDOMAIN_MAX_LENGTH))
    if not _matches(CONFIG_MAP_KEY_FMT, value):
        errs.append(regex_error(CONFIG_MAP_KEY_ERR, CONFIG_MAP_KEY_FMT, "key.name", "KEY_NAME",
                                "key-name"))
    return errs + _has_chdir_prefix(value)


@_memoized
def is_valid_ip(value: str) -> list[str]:
    """Reasons ``value`` is not an IPv4 or IPv6 address (netutils.ParseIPSloppy)."""
    if "%" not in value:
        try:
            ipaddress.ip_address(value)
            return []
        except ValueError:
            pass
        # ParseIPSloppy also takes IPv4 octets with leading zeros, such as 010.0.0.1.
        octets = re.fullmatch(r"([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})", value)
        if octets and all(int(o) <= 255 for o in octets.groups()):
            return []
    return [IP_ERR]


def is_path_segment_name(name: str) -> list[str]:
    """Reasons ``name`` cannot be one segment of a URL path (path.IsValidPathSegmentName)."""
    if name in (".", ".."):
        return [f"may not be '{name}'"]
    return [f"may not contain '{c}'" for c in "/%" if c in name]


def _mask_trailing_dash(name: str) -> str:
    """A generateName prefix may end in '-': check it as if it ended in 'a'."""
    return name[:-1] + "a" if name.endswith("-") else name


def name_is_dns_subdomain(name: str, prefix: bool = False) -> list[str]:
    """apimachinery NameIsDNSSubdomain: pods, nodes, configmaps, deployments..."""
    return is_dns1123_subdomain(_mask_trailing_dash(name) if prefix else name)


def name_is_dns_label(name: str, prefix: bool = False) -> list[str]:
    """apimachinery NameIsDNSLabel: namespaces."""
    return is_dns1123_label(_mask_trailing_dash(name) if prefix else name)


def name_is_dns1035_label(name: str, prefix: bool = False) -> list[str]:
    """apimachinery NameIsDNS1035Label: services."""
    return is_dns1035_label(_mask_trailing_dash(name) if prefix else name)


def name_is_path_segment(name: str, prefix: bool = False) -> list[str]:
    """path.ValidatePathSegmentName: the least any name must be (events, leases of old)."""
    if prefix:
        return [f"may not contain '{c}'" for c in "/%" if c in name]
    return is_path_segment_name(name)
