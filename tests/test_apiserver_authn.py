"""Authentication: bearer tokens to users, the component identities, 401s."""

import pytest

from kubelearn.api import StatusError, Unauthorized
from kubelearn.apiserver import authn
from kubelearn.apiserver.authn import TokenAuthenticator, UserInfo


def test_known_token_is_its_user_plus_system_authenticated():
    auth = TokenAuthenticator({"t0ken": UserInfo("alice", ("dev",), "u-1")})
    user = auth.authenticate("t0ken")
    assert user == UserInfo("alice", ("dev", "system:authenticated"), "u-1")


def test_authenticated_group_is_not_added_twice():
    auth = TokenAuthenticator()
    auth.add("x", UserInfo("bob", ("system:authenticated",)))
    assert auth.authenticate("x").groups == ("system:authenticated",)


@pytest.mark.parametrize("token", [None, "", "nope"])
def test_missing_or_unknown_token_is_401_unauthorized(token):
    auth = TokenAuthenticator({"t0ken": authn.admin()})
    with pytest.raises(Unauthorized) as info:
        auth.authenticate(token)
    err = info.value
    assert isinstance(err, StatusError)
    assert err.code == 401 and err.reason == "Unauthorized"
    # apierrors.NewUnauthorized("Unauthorized"): kubectl prints "(Unauthorized)"
    assert err.status["message"] == "Unauthorized"


def test_anonymous_auth_turns_a_missing_token_into_system_anonymous():
    auth = TokenAuthenticator(anonymous=True)
    assert auth.authenticate(None) == UserInfo("system:anonymous", ("system:unauthenticated",))
    with pytest.raises(Unauthorized):  # a wrong token is still a 401
        auth.authenticate("wrong")


def test_issue_is_random_and_accepted():
    a, b = TokenAuthenticator(), TokenAuthenticator()
    ta, tb = a.issue(authn.scheduler()), b.issue(authn.scheduler())
    assert ta != tb and len(ta) == len(tb) == authn.TOKEN_LENGTH  # from secrets, not a seed
    assert a.authenticate(ta).name == "system:kube-scheduler"
    other = a.issue(authn.kube_proxy())
    assert other != ta and a.authenticate(other).name == "system:kube-proxy"
    assert a.token_for("system:kube-proxy") == other and len(a) == 2


# bearertoken_test.go (k8s.io/apiserver pkg/authentication/request/bearertoken):
# TestAuthenticateRequestBadValue's headers and TestBearerToken's, plus the SplitN(auth, " ", 3)
# cases its code implies.
@pytest.mark.parametrize(("header", "token"), [
    (None, None),  # no header
    ("", None),
    ("Bearer", None),
    ("bear token", None),
    ("Bearer: token", None),
    ("Basic 123", None),  # "non-bearer-token"
    ("Bearer ", None),  # "empty bearer token"
    ("Bearer  123", None),  # an extra space: the token part is empty (a Warning upstream)
    ("Bearer\t123", None),  # split at " " only
    ("123", None),
    ("Bearer 123", "123"),  # "valid bearer token removing header"
    ("bearer 123", "123"),
    ("BeArEr 123", "123"),
    (" Bearer 123 ", "123"),  # strings.TrimSpace first
    ("Bearer 123 456", "123"),  # the third part is ignored
])
def test_bearer_token_reads_the_header_as_upstream(header, token):
    assert authn.bearer_token(header) == token


def test_remove_revokes_a_token():
    auth = TokenAuthenticator({"t": authn.admin()})
    auth.remove("t")
    assert "t" not in auth
    with pytest.raises(Unauthorized):
        auth.authenticate("t")


def test_empty_token_cannot_be_added():
    with pytest.raises(ValueError):
        TokenAuthenticator().add("", authn.admin())


def test_component_identities_are_upstreams():
    assert authn.admin() == UserInfo("kubernetes-admin", ("system:masters",))
    assert authn.scheduler().name == "system:kube-scheduler"
    assert authn.controller_manager().name == "system:kube-controller-manager"
    assert authn.kube_proxy().name == "system:kube-proxy"
    assert authn.node_user("node-1") == UserInfo("system:node:node-1", ("system:nodes",))
    assert authn.service_account_user("dev", "default") == UserInfo(
        "system:serviceaccount:dev:default",
        ("system:serviceaccounts", "system:serviceaccounts:dev"))
    assert authn.controller_user("replicaset-controller").name == \
        "system:serviceaccount:kube-system:replicaset-controller"


def test_split_service_account():
    assert authn.split_service_account("system:serviceaccount:dev:web") == ("dev", "web")
    assert authn.split_service_account("system:serviceaccount:dev") is None
    assert authn.split_service_account("alice") is None
