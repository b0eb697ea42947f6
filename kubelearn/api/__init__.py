"""The Kubernetes object model: manifests, quantities, selectors, validation, Status errors.

Objects are plain dicts in the real Kubernetes shape (``apiVersion``, ``kind``,
``metadata``, ``spec``, ``status``), so the YAML a learner writes here works on a
real cluster and the other way round. Around them:

- :mod:`~kubelearn.api.manifest` -- :func:`load` YAML/JSON/files/dicts, :func:`to_yaml`,
  kinds and resources, etcd keys, pod requests and node allocatable;
- :mod:`~kubelearn.api.quantity` -- :class:`Quantity` (``500m``, ``1536Mi``);
- :mod:`~kubelearn.api.selector` and :mod:`~kubelearn.api.fieldselector` -- label
  and field selectors;
- :mod:`~kubelearn.api.validation` -- :func:`validate`, as the API server checks a create;
- :mod:`~kubelearn.api.names` -- name and label formats;
- :mod:`~kubelearn.api.schema` -- field types and the decode errors of a wrong type;
- :mod:`~kubelearn.api.errors` -- :class:`StatusError` and its reasons, :class:`FieldError`.
"""

from kubelearn.api.errors import (
    AlreadyExists,
    BadRequest,
    Conflict,
    Expired,
    FieldError,
    Forbidden,
    Gone,
    InternalError,
    Invalid,
    MethodNotSupported,
    NotAcceptable,
    NotFound,
    Path,
    RequestEntityTooLarge,
    ServiceUnavailable,
    StatusError,
    Timeout,
    TooManyRequests,
    Unauthorized,
    UnsupportedMediaType,
)
from kubelearn.api.fieldselector import FieldSelector, parse_field_selector, selectable_fields
from kubelearn.api.manifest import (
    KINDS,
    KindInfo,
    is_namespaced,
    key_for,
    key_prefix,
    kind_for,
    kind_info,
    load,
    node_allocatable,
    object_ref,
    pod_limits,
    pod_requests,
    resource_for,
    resource_list,
    to_yaml,
)
from kubelearn.api.names import (
    is_dns1035_label,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_label_key,
    is_label_value,
    is_qualified_name,
)
from kubelearn.api.quantity import (
    BINARY_SI,
    DECIMAL_EXPONENT,
    DECIMAL_SI,
    Quantity,
    QuantityError,
    parse_quantity,
)
from kubelearn.api.schema import check_types
from kubelearn.api.selector import LabelSelector, Requirement, SelectorError, parse_selector
from kubelearn.api.validation import NAME_RULES, validate, validate_errors

__all__ = [
    # errors
    "StatusError", "NotFound", "AlreadyExists", "Conflict", "Invalid", "Forbidden",
    "Unauthorized", "Gone", "Expired", "BadRequest", "MethodNotSupported", "NotAcceptable",
    "UnsupportedMediaType", "RequestEntityTooLarge", "TooManyRequests", "InternalError",
    "ServiceUnavailable", "Timeout", "FieldError", "Path",
    # quantities
    "Quantity", "QuantityError", "parse_quantity", "DECIMAL_SI", "BINARY_SI",
    "DECIMAL_EXPONENT",
    # selectors
    "LabelSelector", "Requirement", "SelectorError", "parse_selector", "FieldSelector",
    "parse_field_selector", "selectable_fields",
    # names and validation
    "is_dns1123_label", "is_dns1123_subdomain", "is_dns1035_label", "is_label_key",
    "is_label_value", "is_qualified_name", "NAME_RULES", "validate", "validate_errors",
    "check_types",
    # manifests
    "load", "to_yaml", "KINDS", "KindInfo", "kind_info", "kind_for", "resource_for",
    "is_namespaced", "key_for", "key_prefix", "object_ref", "pod_requests", "pod_limits",
    "node_allocatable", "resource_list",
]
