"""Authorization with RBAC: may this user do this verb on this resource?

The second stage of every request. RBAC is deny by default: a request is
allowed only if some rule, reached through a binding that names the user, one
of its groups or its service account, covers it. Faithful to upstream
plugin/pkg/auth/authorizer/rbac/rbac.go, the rule resolver of
pkg/registry/rbac/validation/rule.go and the matchers of
pkg/apis/rbac/v1/evaluation_helpers.go:

- :class:`Attributes` -- what a request asks (authorizer.AttributesRecord);
- :class:`Decision` -- allowed or not, and why;
- :func:`rule_allows` and the matchers -- one PolicyRule against one request:
  verbs, apiGroups, resources (``pods/status``, ``*``, ``*/scale``),
  resourceNames, nonResourceURLs (a trailing ``*`` is a prefix);
- :class:`RBACAuthorizer` -- ClusterRoleBindings everywhere, then RoleBindings
  of the request's namespace; a RoleBinding to a ClusterRole grants that role
  inside the binding's namespace only;
- :func:`aggregate_rules` -- the rules of an aggregated ClusterRole (``admin``,
  ``edit``, ``view``): what the clusterrole-aggregation controller writes,
  computed here when the role is read;
- :func:`forbidden` -- the 403 the API server answers with, worded as upstream;
- :func:`can_i` -- ``kubectl auth can-i`` for a lesson.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kubelearn.api import FieldSelector, Forbidden, LabelSelector, SelectorError
from kubelearn.api.errors import aggregate, forbidden_reason, go_quote
from kubelearn.api.names import is_path_segment_name
from kubelearn.apiserver.authn import (
    ALL_AUTHENTICATED,
    ANONYMOUS,
    SERVICE_ACCOUNT_USERNAME_PREFIX,
    UserInfo,
)
from kubelearn.version import FEATURE_GATES

# k8s.io/api/rbac/v1 constants.
API_GROUP_ALL = "*"
RESOURCE_ALL = "*"
VERB_ALL = "*"
NON_RESOURCE_ALL = "*"
GROUP_NAME = "rbac.authorization.k8s.io"
USER_KIND = "User"
GROUP_KIND = "Group"
SERVICE_ACCOUNT_KIND = "ServiceAccount"

# Where the authorizer reads its objects: source(<one of these>) -> list of dicts.
ROLES, ROLE_BINDINGS = "roles", "rolebindings"
CLUSTER_ROLES, CLUSTER_ROLE_BINDINGS = "clusterroles", "clusterrolebindings"


@dataclass(frozen=True)
class Attributes:
    """What a request asks to do, as the authorizer sees it (authorizer.AttributesRecord)."""

    user: UserInfo
    verb: str
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    group: str = ""
    path: str = ""
    resource_request: bool = True
    # The list's field selector as (field, "=" or "!=", value) terms, for list, watch and
    # deletecollection (GetFieldSelector, AuthorizeWithSelectors); RBAC never looks at it.
    field_selector: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True)
class Decision:
    """The authorizer's answer: allowed or not, and the reason it gives."""

    allowed: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.allowed


# -- matching one rule (pkg/apis/rbac/v1/evaluation_helpers.go) --------------------------


def _strings(rule: Mapping[str, Any], field: str) -> list[str]:
    """A rule's list field, tolerating a missing or malformed one."""
    value = rule.get(field)
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def verb_matches(rule: Mapping[str, Any], verb: str) -> bool:
    """True if the rule lists ``verb`` or ``*`` (VerbMatches)."""
    return any(v in (VERB_ALL, verb) for v in _strings(rule, "verbs"))


def api_group_matches(rule: Mapping[str, Any], group: str) -> bool:
    """True if the rule lists ``group`` or ``*`` (APIGroupMatches)."""
    return any(g in (API_GROUP_ALL, group) for g in _strings(rule, "apiGroups"))


def resource_matches(rule: Mapping[str, Any], combined: str, subresource: str) -> bool:
    """True if the rule lists ``*``, ``resource/sub`` or ``*/sub`` (ResourceMatches)."""
    for r in _strings(rule, "resources"):
        if r in (RESOURCE_ALL, combined):
            return True
        if subresource and r == f"*/{subresource}":
            return True
    return False


def resource_name_matches(rule: Mapping[str, Any], name: str) -> bool:
    """True if the rule names no objects, or names ``name`` (ResourceNameMatches)."""
    names = _strings(rule, "resourceNames")
    return not names or name in names


def non_resource_url_matches(rule: Mapping[str, Any], path: str) -> bool:
    """True if the rule lists ``*``, ``path``, or a ``prefix*`` of it (NonResourceURLMatches)."""
    for url in _strings(rule, "nonResourceURLs"):
        if url in (NON_RESOURCE_ALL, path):
            return True
        if url.endswith("*") and path.startswith(url.rstrip("*")):
            return True
    return False


def rule_allows(attrs: Attributes, rule: Mapping[str, Any]) -> bool:
    """True if one PolicyRule covers the request (RuleAllows)."""
    if attrs.resource_request:
        combined = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
        return (verb_matches(rule, attrs.verb) and api_group_matches(rule, attrs.group)
                and resource_matches(rule, combined, attrs.subresource)
                and resource_name_matches(rule, attrs.name))
    return verb_matches(rule, attrs.verb) and non_resource_url_matches(rule, attrs.path)


def rules_allow(attrs: Attributes, rules: Sequence[Mapping[str, Any]]) -> bool:
    """True if any of ``rules`` covers the request (RulesAllow)."""
    return any(rule_allows(attrs, r) for r in rules)


# -- subjects (pkg/registry/rbac/validation/rule.go) --------------------------------------


def applies_to_user(user: UserInfo, subject: Mapping[str, Any], namespace: str) -> bool:
    """True if a binding's subject is this user, one of its groups or its service account."""
    kind, name = subject.get("kind"), subject.get("name")
    if kind == USER_KIND:
        return user.name == name
    if kind == GROUP_KIND:
        return name in user.groups
    if kind == SERVICE_ACCOUNT_KIND:
        # A RoleBinding may leave the namespace out: it means the binding's own.
        sa_namespace = subject.get("namespace") or namespace
        if not sa_namespace:
            return False
        return user.name == f"{SERVICE_ACCOUNT_USERNAME_PREFIX}{sa_namespace}:{name}"
    return False


def _subjects(binding: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """A binding's subjects, tolerating a missing or malformed list."""
    subjects = binding.get("subjects")
    return [s for s in subjects if isinstance(s, Mapping)] if isinstance(subjects, list) else []


def applies_to(user: UserInfo, binding: Mapping[str, Any],
               namespace: str) -> Mapping[str, Any] | None:
    """The first subject of ``binding`` that is this user, or None (appliesTo)."""
    for subject in _subjects(binding):
        if applies_to_user(user, subject, namespace):
            return subject
    return None


def describe_subject(subject: Mapping[str, Any], binding_namespace: str) -> str:
    """A subject as RBAC's reasons name it: ``User "alice"``, ``ServiceAccount "default/ns"``."""
    kind, name = str(subject.get("kind", "")), str(subject.get("name", ""))
    if kind == SERVICE_ACCOUNT_KIND:  # upstream prints name/namespace, in that order
        return f"{kind} {go_quote(name + '/' + (subject.get('namespace') or binding_namespace))}"
    return f"{kind} {go_quote(name)}"


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    """An object's metadata, or an empty mapping."""
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def _role_ref(binding: Mapping[str, Any]) -> Mapping[str, Any]:
    """A binding's roleRef, or an empty mapping."""
    ref = binding.get("roleRef")
    return ref if isinstance(ref, Mapping) else {}


def describe_source(binding: Mapping[str, Any], subject: Mapping[str, Any]) -> str:
    """Which binding granted a rule: ``ClusterRoleBinding "x" of ClusterRole "y" to User "z"``."""
    meta, ref = _meta(binding), _role_ref(binding)
    namespace = meta.get("namespace") or ""
    role = f"{ref.get('kind', '')} {go_quote(str(ref.get('name', '')))}"
    if namespace:
        name = go_quote(f"{meta.get('name', '')}/{namespace}")
        return f"RoleBinding {name} of {role} to {describe_subject(subject, namespace)}"
    name = go_quote(str(meta.get("name", "")))
    return f"ClusterRoleBinding {name} of {role} to {describe_subject(subject, '')}"


# -- aggregated ClusterRoles (pkg/controller/clusterroleaggregation) ----------------------


def _rules(role: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """A role's rules, tolerating a missing or malformed list."""
    rules = role.get("rules")
    return [r for r in rules if isinstance(r, Mapping)] if isinstance(rules, list) else []


def aggregate_rules(cluster_role: Mapping[str, Any],
                    cluster_roles: Sequence[Mapping[str, Any]],
                    _seen: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    """The rules an aggregated ClusterRole has: those of every ClusterRole its selectors match.

    As the clusterrole-aggregation controller computes them: selector by selector,
    matching roles sorted by name, the role itself skipped, duplicates dropped. A
    matched role that aggregates in turn (``edit`` inside ``admin``) contributes its
    own aggregated rules, as it would once the controller had filled it in. A role
    without an ``aggregationRule`` keeps its own rules.
    """
    rule_spec = cluster_role.get("aggregationRule")
    name = str(_meta(cluster_role).get("name", ""))
    if not isinstance(rule_spec, Mapping):
        return [dict(r) for r in _rules(cluster_role)]
    seen = _seen | {name}
    selectors = rule_spec.get("clusterRoleSelectors")
    rules: list[dict[str, Any]] = []
    for selector in selectors if isinstance(selectors, list) else []:
        try:
            match = LabelSelector.from_dict(selector)
        except SelectorError:
            continue
        matched = sorted((r for r in cluster_roles if match.matches(_meta(r).get("labels"))),
                         key=lambda r: str(_meta(r).get("name", "")))
        for other in matched:
            other_name = str(_meta(other).get("name", ""))
            if other_name == name or other_name in seen:
                continue
            for rule in aggregate_rules(other, cluster_roles, seen):
                if rule not in rules:
                    rules.append(rule)
    return rules


# -- the authorizer (plugin/pkg/auth/authorizer/rbac/rbac.go) -----------------------------

class BindingDescriber:
    """The binding that granted a rule, put in words only when printed.

    Upstream's visitor gets a fmt.Stringer for the same reason: most rules
    visited do not allow the request, and their source is never shown.
    """

    __slots__ = ("binding", "subject")

    def __init__(self, binding: Mapping[str, Any], subject: Mapping[str, Any]) -> None:
        self.binding, self.subject = binding, subject

    def __str__(self) -> str:
        return describe_source(self.binding, self.subject)


Source = Callable[[str], list[dict]]
Visit = tuple[BindingDescriber | str, Mapping[str, Any] | None, str | None]  # (source, rule, error)


class RBACAuthorizer:
    """Roles, ClusterRoles and their bindings, read from ``source`` on every decision."""

    mode = "RBAC"  # its name in --authorization-mode

    def __init__(self, source: Source) -> None:
        self.source = source

    def _cluster_roles(self) -> list[dict]:
        """Every ClusterRole, as the source holds them now."""
        return [r for r in self.source(CLUSTER_ROLES) if isinstance(r, Mapping)]

    def role_reference_rules(self, role_ref: Mapping[str, Any], namespace: str,
                             cluster_roles: list[dict] | None = None) -> list[Mapping[str, Any]]:
        """The rules a binding's roleRef points at; raises LookupError (GetRoleReferenceRules)."""
        kind, name = role_ref.get("kind"), str(role_ref.get("name", ""))
        if kind == "Role":
            for role in self.source(ROLES):
                meta = _meta(role)
                if meta.get("namespace") == namespace and meta.get("name") == name:
                    return _rules(role)
            # the lister's NotFound: errors.NewNotFound(rbacv1.Resource("role"), name)
            raise LookupError(f"role.{GROUP_NAME} {go_quote(name)} not found")
        if kind == "ClusterRole":
            roles = self._cluster_roles() if cluster_roles is None else cluster_roles
            for role in roles:
                if _meta(role).get("name") == name:
                    if isinstance(role.get("aggregationRule"), Mapping):
                        return aggregate_rules(role, roles)
                    return _rules(role)
            raise LookupError(f"clusterrole.{GROUP_NAME} {go_quote(name)} not found")
        raise LookupError(f"unsupported role reference kind: {go_quote(str(kind or ''))}")

    def visit_rules_for(self, user: UserInfo, namespace: str) -> Iterator[Visit]:
        """Every rule that applies to ``user`` in ``namespace``, with its source (VisitRulesFor).

        ClusterRoleBindings first, then the RoleBindings of ``namespace``; a
        roleRef that cannot be resolved yields its error instead of rules.
        """
        cluster_roles = self._cluster_roles()
        for binding in self.source(CLUSTER_ROLE_BINDINGS):
            subject = applies_to(user, binding, "")
            if subject is None:
                continue
            try:
                rules = self.role_reference_rules(_role_ref(binding), "", cluster_roles)
            except LookupError as err:
                yield "", None, str(err)
                continue
            source = BindingDescriber(binding, subject)
            for rule in rules:
                yield source, rule, None
        if not namespace:
            return
        for binding in self.source(ROLE_BINDINGS):
            if _meta(binding).get("namespace") != namespace:
                continue
            subject = applies_to(user, binding, namespace)
            if subject is None:
                continue
            try:
                rules = self.role_reference_rules(_role_ref(binding), namespace, cluster_roles)
            except LookupError as err:
                yield "", None, str(err)
                continue
            source = BindingDescriber(binding, subject)
            for rule in rules:
                yield source, rule, None

    def rules_for(self, user: UserInfo, namespace: str = "") -> list[Mapping[str, Any]]:
        """Every rule ``user`` holds in ``namespace`` (RulesFor, as SelfSubjectRulesReview)."""
        return [rule for _, rule, _ in self.visit_rules_for(user, namespace) if rule is not None]

    def authorize(self, attrs: Attributes) -> Decision:
        """Allowed, with the binding that allowed it; else denied (RBACAuthorizer.Authorize).

        A denial's reason is empty, or ``RBAC: <errors>`` when a binding named a
        role that does not exist -- the text a Forbidden message ends with.
        """
        errors: list[str] = []
        for source, rule, err in self.visit_rules_for(attrs.user, attrs.namespace):
            if rule is not None and rule_allows(attrs, rule):
                return Decision(True, f"RBAC: allowed by {source}")
            if err is not None:
                errors.append(err)
        return Decision(False, f"RBAC: {aggregate(errors)}" if errors else "")


# -- what the API server does with a denial ------------------------------------------------


def forbidden(attrs: Attributes, reason: str = "") -> Forbidden:
    """The 403 for a denied request, worded as responsewriters.Forbidden words it.

    ``pods "web" is forbidden: User "alice" cannot delete resource "pods" in API
    group "" in the namespace "default"``; ``: <reason>`` follows when the
    authorizer gave one.
    """
    if not attrs.resource_request:
        err = forbidden_reason(attrs.user.name, attrs.verb, "", path=attrs.path)
        return Forbidden("", "", f"{err}: {reason}" if reason else err)
    return Forbidden.for_request(attrs.user.name, attrs.verb, attrs.resource, group=attrs.group,
                                 namespace=attrs.namespace, name=attrs.name,
                                 subresource=attrs.subresource, why=reason)


# The verbs whose field selector the authorizer sees (filters/authorization.go).
SELECTOR_VERBS = ("list", "watch", "deletecollection")


def field_selector_terms(verb: str, text: str) -> tuple[tuple[str, str, str], ...]:
    """The field selector an authorizer sees: its terms, or none when it does not parse.

    With AuthorizeWithSelectors (beta and on in v1.32) the authorization filter
    parses ``fieldSelector`` for list, watch and deletecollection; a selector
    that does not parse gives no terms (the handler answers 400 for it later).
    """
    if not text or verb not in SELECTOR_VERBS or not FEATURE_GATES["AuthorizeWithSelectors"]:
        return ()
    try:
        return FieldSelector.parse(text).terms
    except SelectorError:
        return ()


def attributes_for(user: UserInfo, verb: str, resource: str = "", *, namespace: str | None = None,
                   name: str | None = None, group: str = "", subresource: str | None = None,
                   path: str = "", field_selector: str = "") -> Attributes:
    """The Attributes of a request, as the API server's RequestInfo derives them.

    A request on a namespace object (``/api/v1/namespaces/dev``) happens *in* that
    namespace, so a RoleBinding there can grant ``get namespaces`` on it. A list
    or watch whose field selector pins ``metadata.name`` (a valid name) is a
    request *for that object* (requestinfo.go): an informer on one object asks
    as a ``get`` would, by name. No resource means a non-resource request for
    ``path``.
    """
    if not resource:
        return Attributes(user, verb, path=path, resource_request=False)
    ns = namespace or ""
    if resource == "namespaces" and name and not ns:
        ns = name
    terms = field_selector_terms(verb, field_selector)
    if not name and verb in ("list", "watch") and terms:
        pinned = FieldSelector(terms).requires_exact_match("metadata.name")
        if pinned and not is_path_segment_name(pinned):
            name = pinned
    return Attributes(user, verb, resource, subresource or "", ns, name or "", group,
                      field_selector=terms)


def can_i(authorizer: RBACAuthorizer, user: UserInfo, verb: str, resource: str,
          namespace: str = "", group: str = "", subresource: str = "", name: str = "",
          *, authenticated: bool = True) -> bool:
    """Whether ``user`` may ``verb`` the ``resource`` (``kubectl auth can-i``).

    ``resource`` may carry its subresource (``pods/log``) and group
    (``deployments.apps``) as kubectl spells them. A path (``/healthz``) asks
    about a non-resource URL. The user counts as authenticated (group
    ``system:authenticated``, as the authentication stage adds it) unless
    ``authenticated`` is False or the user is ``system:anonymous``.
    """
    if authenticated and user.name != ANONYMOUS:
        user = user.with_group(ALL_AUTHENTICATED)
    if resource.startswith("/"):
        return authorizer.authorize(Attributes(user, verb, path=resource,
                                               resource_request=False)).allowed
    if "/" in resource and not subresource:
        resource, subresource = resource.split("/", 1)
    if "." in resource and not group:
        resource, group = resource.split(".", 1)
    attrs = attributes_for(user, verb, resource, namespace=namespace or None, name=name or None,
                           group=group, subresource=subresource or None)
    return authorizer.authorize(attrs).allowed


def static_source(objects: Sequence[Mapping[str, Any]]) -> Source:
    """A source over a fixed list of RBAC objects, sorted out by kind (for tests and lessons)."""
    by_resource = {ROLES: "Role", ROLE_BINDINGS: "RoleBinding", CLUSTER_ROLES: "ClusterRole",
                   CLUSTER_ROLE_BINDINGS: "ClusterRoleBinding"}

    def source(resource: str) -> list[dict]:
        kind = by_resource.get(resource)
        return [dict(o) for o in objects if o.get("kind") == kind]

    return source
