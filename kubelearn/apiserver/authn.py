"""Authentication: who is asking? Bearer tokens mapped to users and groups.

The first stage of every request. The API server reads the bearer token of a
request and looks up the identity behind it, as kube-apiserver's static token
authenticator (``--token-auth-file``) does. A missing or unknown token is
a 401 ``Unauthorized``; the request goes no further.

- :class:`UserInfo` -- a name, groups and a uid (k8s.io/apiserver
  ``user.DefaultInfo``);
- :class:`TokenAuthenticator` -- tokens to users; :meth:`~TokenAuthenticator.issue`
  makes a new token from :mod:`secrets`;
- :func:`bearer_token` -- the token of an ``Authorization: Bearer <token>`` header,
  read as k8s.io/apiserver's bearertoken authenticator reads it;
- the identities of the components, named as upstream: :func:`admin`,
  :func:`scheduler`, :func:`controller_manager`, :func:`controller_user`,
  :func:`node_user`, :func:`kube_proxy`, :func:`service_account_user`, :func:`anonymous`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from kubelearn.api import Unauthorized

# k8s.io/apiserver/pkg/authentication/user: the well-known names.
SYSTEM_PRIVILEGED_GROUP = "system:masters"
NODES_GROUP = "system:nodes"
MONITORING_GROUP = "system:monitoring"
ALL_UNAUTHENTICATED = "system:unauthenticated"
ALL_AUTHENTICATED = "system:authenticated"
ANONYMOUS = "system:anonymous"
KUBE_PROXY = "system:kube-proxy"
KUBE_CONTROLLER_MANAGER = "system:kube-controller-manager"
KUBE_SCHEDULER = "system:kube-scheduler"

# k8s.io/apiserver/pkg/authentication/serviceaccount
SERVICE_ACCOUNT_USERNAME_PREFIX = "system:serviceaccount:"
ALL_SERVICE_ACCOUNTS_GROUP = "system:serviceaccounts"
SERVICE_ACCOUNT_GROUP_PREFIX = "system:serviceaccounts:"

# kubeadm's admin.conf identity (the client certificate's CN and O). Since
# kubeadm v1.29 admin.conf carries the group kubeadm:cluster-admins and only
# super-admin.conf keeps system:masters; kubelearn's admin is the super-admin.
ADMIN_NAME = "kubernetes-admin"

# The message of apierrors.NewUnauthorized("Unauthorized"), which the API
# server's authentication filter sends (endpoints/filters/authentication.go).
UNAUTHORIZED_MESSAGE = "Unauthorized"

# A token is a password: 32 characters from 36 (about 165 bits), drawn from the operating
# system's generator. Never from the seed: anyone who knows the seed (0, unless told) could
# then compute the admin's token of a served cluster. Determinism is for the simulation.
_TOKEN_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
TOKEN_LENGTH = 32


def _random_token() -> str:
    """:data:`TOKEN_LENGTH` characters of :data:`_TOKEN_ALPHABET`, uniform, from secrets."""
    # One draw of a number below 36**32, written in base 36: unbiased, and one read of the
    # OS generator instead of 32 (secrets.choice per character is 15x slower).
    number = secrets.randbelow(len(_TOKEN_ALPHABET) ** TOKEN_LENGTH)
    digits = []
    for _ in range(TOKEN_LENGTH):
        number, digit = divmod(number, len(_TOKEN_ALPHABET))
        digits.append(_TOKEN_ALPHABET[digit])
    return "".join(digits)


@dataclass(frozen=True)
class UserInfo:
    """Who a request comes from: a user name, its groups and a uid (user.DefaultInfo)."""

    name: str
    groups: tuple[str, ...] = ()
    uid: str = ""

    def with_group(self, group: str) -> UserInfo:
        """This user with ``group`` added, if it is not there yet."""
        if group in self.groups:
            return self
        return UserInfo(self.name, (*self.groups, group), self.uid)


class TokenAuthenticator:
    """Bearer tokens to users, as the API server's static token file maps them."""

    def __init__(self, tokens: dict[str, UserInfo] | None = None, *,
                 anonymous: bool = False) -> None:
        self._tokens: dict[str, UserInfo] = dict(tokens or {})
        # token -> its user as authenticated (group.AuthenticatedGroupAdder: in
        # system:authenticated), made once per token rather than once per request
        self._authenticated = {token: user.with_group(ALL_AUTHENTICATED)
                               for token, user in self._tokens.items()}
        # --anonymous-auth: a request with no token at all becomes system:anonymous.
        # Off by default here, so a missing token is a 401 as the lesson shows.
        self.anonymous = anonymous

    def add(self, token: str, user: UserInfo) -> None:
        """Accept ``token`` as ``user`` from now on."""
        if not token:
            raise ValueError("a token must not be empty")
        self._tokens[token] = user
        self._authenticated[token] = user.with_group(ALL_AUTHENTICATED)

    def remove(self, token: str) -> None:
        """Stop accepting ``token``."""
        self._tokens.pop(token, None)
        self._authenticated.pop(token, None)

    def authenticate(self, token: str | None) -> UserInfo:
        """The user behind ``token``; raises Unauthorized (401) if there is none."""
        if not token:
            if self.anonymous:  # anonymous.NewAuthenticator
                return UserInfo(ANONYMOUS, (ALL_UNAUTHENTICATED,))
            raise Unauthorized(UNAUTHORIZED_MESSAGE)
        user = self._authenticated.get(token)
        if user is None:
            raise Unauthorized(UNAUTHORIZED_MESSAGE)
        return user

    def issue(self, user: UserInfo) -> str:
        """Make a new, unpredictable token for ``user`` (:mod:`secrets`) and accept it."""
        while True:
            token = _random_token()
            if token not in self._tokens:
                break
        self.add(token, user)
        return token

    def token_for(self, name: str) -> str | None:
        """The first token that authenticates as user ``name``, if any."""
        for token, user in self._tokens.items():
            if user.name == name:
                return token
        return None

    def __len__(self) -> int:
        return len(self._tokens)

    def __contains__(self, token: object) -> bool:
        return token in self._tokens


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization`` header, or None if it carries no bearer token.

    As request/bearertoken/bearertoken.go reads it: trim the header, split it at single
    spaces (at most three parts); the scheme is ``bearer`` in any case and the token is the
    second part, so ``Bearer <token> more`` is ``<token>``. A header in any other form
    (``<token>`` alone, ``Basic ...``, ``Bearer  <token>`` with two spaces, whose second
    part is empty) is no credentials at all: the request is anonymous if anonymous auth
    is on, else a 401. (Upstream also sends a Warning for the two-space form.)
    """
    if not header:
        return None
    parts = header.strip().split(" ", 2)
    if len(parts) < 2 or parts[0].lower() != "bearer" or not parts[1]:
        return None
    return parts[1]


# -- the identities of the cluster's components ---------------------------------------


def admin() -> UserInfo:
    """The cluster administrator: kubeadm's ``kubernetes-admin`` in ``system:masters``."""
    return UserInfo(ADMIN_NAME, (SYSTEM_PRIVILEGED_GROUP,))


def scheduler() -> UserInfo:
    """kube-scheduler: ``system:kube-scheduler``."""
    return UserInfo(KUBE_SCHEDULER)


def controller_manager() -> UserInfo:
    """kube-controller-manager's own identity: ``system:kube-controller-manager``."""
    return UserInfo(KUBE_CONTROLLER_MANAGER)


def controller_user(controller: str) -> UserInfo:
    """A controller running with its own service account, as kubeadm runs them.

    kube-controller-manager ``--use-service-account-credentials`` (kubeadm sets
    it) gives each controller the service account ``kube-system/<controller>``,
    e.g. ``replicaset-controller``, bound to ``system:controller:<controller>``.
    """
    return service_account_user("kube-system", controller)


def node_user(name: str) -> UserInfo:
    """A kubelet: ``system:node:<name>`` in group ``system:nodes``."""
    return UserInfo(f"system:node:{name}", (NODES_GROUP,))


def kube_proxy() -> UserInfo:
    """kube-proxy: ``system:kube-proxy``."""
    return UserInfo(KUBE_PROXY)


def service_account_user(namespace: str, name: str) -> UserInfo:
    """A service account: ``system:serviceaccount:<ns>:<name>`` and its two groups."""
    return UserInfo(f"{SERVICE_ACCOUNT_USERNAME_PREFIX}{namespace}:{name}",
                    (ALL_SERVICE_ACCOUNTS_GROUP, f"{SERVICE_ACCOUNT_GROUP_PREFIX}{namespace}"))


def anonymous() -> UserInfo:
    """The user of a request without credentials when anonymous auth is on."""
    return UserInfo(ANONYMOUS, (ALL_UNAUTHENTICATED,))


def split_service_account(username: str) -> tuple[str, str] | None:
    """``(namespace, name)`` of a service account user, or None (serviceaccount.SplitUsername)."""
    if not username.startswith(SERVICE_ACCOUNT_USERNAME_PREFIX):
        return None
    parts = username[len(SERVICE_ACCOUNT_USERNAME_PREFIX):].split(":")
    if len(parts) != 2 or not parts[0] or not parts[1]:
        return None
    return parts[0], parts[1]
