"""Credentials of a served cluster: unpredictable tokens, a kubeconfig that never writes through
a symlink, the Bearer scheme required, and the TLS certificate's fields (issue 11)."""

from __future__ import annotations

import http.client
import ipaddress
import os
import random
import ssl
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kubelearn.apiserver import authn
from kubelearn.apiserver.kubeconfig import write_kubeconfig
from kubelearn.apiserver.server import LOOPBACK_USER
from kubelearn.apiserver.tls import NOT_AFTER, NOT_BEFORE, cluster_ca, write_tls_files
from kubelearn.cluster import Cluster

PODS = "/api/v1/namespaces/default/pods"


@pytest.fixture(scope="module")
def served():
    server = Cluster(seed=0).serve(quiet=True, speed=0)
    yield server
    server.stop()


def seeded_tokens(seed: int, stream: str, count: int = 64) -> set[str]:
    """The first ``count`` tokens the seeded generator ``stream`` would have made."""
    rng = random.Random(f"{seed}:{stream}")
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return {"".join(rng.choice(alphabet) for _ in range(authn.TOKEN_LENGTH))
            for _ in range(count)}


# -- tokens come from secrets, not from the seed --------------------------------------------


def test_two_served_clusters_with_one_seed_print_different_admin_tokens():
    first = Cluster(seed=0).serve(quiet=True, speed=0)
    try:
        second = Cluster(seed=0).serve(quiet=True, speed=0)
        try:
            assert first.token != second.token
            assert len(first.token) == authn.TOKEN_LENGTH
        finally:
            second.stop()
    finally:
        first.stop()


def test_two_clusters_with_one_seed_give_their_components_different_tokens():
    a, b = Cluster(seed=5), Cluster(seed=5)
    assert set(a.tokens) == set(b.tokens)
    for name in a.tokens:
        assert a.tokens[name] != b.tokens[name], name
    assert a.client("alice").token != b.client("alice").token
    loopback = (a.authenticator.token_for(LOOPBACK_USER), b.authenticator.token_for(LOOPBACK_USER))
    assert None not in loopback and loopback[0] != loopback[1]


def test_a_served_clusters_tokens_are_not_derived_from_the_seed(served):
    cluster = served.cluster
    tokens = {*cluster.tokens.values(), served.token, cluster.client("alice").token,
              served.httpd.token_for(authn.UserInfo("jane", ("dev",))),
              cluster.authenticator.token_for(LOOPBACK_USER)}
    derivable = set()
    for stream in ("tokens", "kubeconfig", "apiserver/loopback", "impersonation/0"):
        derivable |= seeded_tokens(cluster.sim.seed, stream)
    assert tokens and not tokens & derivable


def test_impersonation_tokens_differ_between_servers_and_are_kept(served):
    other = Cluster(seed=0).serve(quiet=True, speed=0)
    try:
        jane = authn.UserInfo("jane", ("dev",))
        assert served.httpd.token_for(jane) != other.httpd.token_for(jane)
        assert served.httpd.token_for(jane) == served.httpd.token_for(jane)
        assert served.cluster.authenticator.authenticate(served.httpd.token_for(jane)).name == \
            "jane"
    finally:
        other.stop()


def test_issue_needs_no_generator_and_never_repeats():
    auth = authn.TokenAuthenticator()
    tokens = {auth.issue(authn.scheduler()) for _ in range(200)}
    assert len(tokens) == 200 == len(auth)
    assert all(len(t) == authn.TOKEN_LENGTH for t in tokens)


# -- the kubeconfig: a new file, atomically, 0600, never through a symlink ------------------


def test_a_symlink_at_the_kubeconfig_path_is_replaced_and_its_target_untouched(tmp_path: Path):
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    victim.chmod(0o644)
    link = tmp_path / "kubeconfig"
    link.symlink_to(victim)
    written = write_kubeconfig(link, "https://127.0.0.1:1", "secret-token")
    assert victim.read_text() == "precious\n"
    assert stat.S_IMODE(victim.stat().st_mode) == 0o644
    assert not link.is_symlink() and "secret-token" in link.read_text()
    assert written == link
    assert stat.S_IMODE(os.lstat(link).st_mode) == 0o600


def test_a_dangling_symlink_is_not_followed_either(tmp_path: Path):
    target = tmp_path / "elsewhere"
    link = tmp_path / "kubeconfig"
    link.symlink_to(target)
    write_kubeconfig(link, "https://127.0.0.1:1", "t")
    assert not target.exists() and not link.is_symlink()


def test_an_existing_kubeconfig_becomes_0600_and_no_temporary_file_is_left(tmp_path: Path):
    path = tmp_path / "config"
    path.write_text("old")
    path.chmod(0o644)
    write_kubeconfig(path, "https://127.0.0.1:1", "t")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "old" not in path.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config"]


def test_a_kubeconfig_that_cannot_be_written_is_a_clear_cli_error(tmp_path: Path):
    directory = tmp_path / "a-directory"
    directory.mkdir()
    done = subprocess.run([sys.executable, "-m", "kubelearn", "serve", "--nodes", "0",
                           "--kubeconfig", str(directory)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith(f"error: cannot write the kubeconfig {directory}: "), \
        done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-directory"]


# -- the Authorization header: "Bearer <token>", as bearertoken.go reads it ------------------


def raw_get(server, path: str, authorization: str | None) -> int:
    """GET ``path`` over HTTPS with exactly this Authorization header; the status."""
    host, port = server.httpd.server_address[:2]
    context = ssl.create_default_context(cafile=str(server.ca_path))
    conn = http.client.HTTPSConnection(host, port, context=context, timeout=10)
    try:
        conn.putrequest("GET", path)
        if authorization is not None:
            conn.putheader("Authorization", authorization)
        conn.endheaders()
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


@pytest.mark.parametrize(("header", "status"), [
    ("Bearer {token}", 200),
    ("bearer {token}", 200),  # the scheme is case-insensitive
    ("BEARER {token}", 200),
    ("  Bearer {token}  ", 200),  # the header is trimmed first
    ("Bearer {token} trailing words", 200),  # SplitN(auth, " ", 3): the token is parts[1]
    ("{token}", 401),  # no scheme: no credentials at all
    ("Token {token}", 401),
    ("Basic {token}", 401),
    ("Bearer  {token}", 401),  # two spaces: parts[1] is empty, an empty token is not valid
    ("Bearer\t{token}", 401),  # the separator is one space, not any whitespace
    ("Bearer", 401),
    ("Bearer ", 401),
    ("Bearer{token}", 401),
])
def test_only_a_bearer_token_authenticates(served, header, status):
    assert raw_get(served, PODS, header.format(token=served.token)) == status


def test_a_header_without_the_scheme_is_no_credentials_not_a_bad_token():
    # With anonymous auth on, a header bearertoken.go does not read makes the request
    # anonymous (then RBAC forbids it); a wrong bearer token is still a 401.
    server = Cluster(seed=0).serve(quiet=True, speed=0)
    try:
        server.cluster.authenticator.anonymous = True
        assert raw_get(server, PODS, server.token) == 403
        assert raw_get(server, PODS, "Bearer  " + server.token) == 403
        assert raw_get(server, PODS, "Bearer not-a-token") == 401
        assert raw_get(server, PODS, "Bearer " + server.token) == 200
    finally:
        server.stop()


# -- the certificate ---------------------------------------------------------------------------


def test_the_ca_is_kubeadms_shape_and_one_per_process():
    ca = cluster_ca()
    cert = ca.certificate
    assert cluster_ca() is ca and Cluster(seed=1).ca is ca  # one key per process, shared
    assert ca.pem == cert.public_bytes(serialization.Encoding.PEM)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubernetes")])
    assert cert.subject == cert.issuer == name
    cert.verify_directly_issued_by(cert)  # self-signed
    assert cert.version == x509.Version.v3 and cert.serial_number.bit_length() == 63
    assert cert.not_valid_before_utc.strftime("%y%m%d%H%M%SZ") == NOT_BEFORE
    assert cert.not_valid_after_utc.strftime("%y%m%d%H%M%SZ") == NOT_AFTER
    basic = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert basic.critical and basic.value.ca
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert (usage.value.digital_signature, usage.value.key_encipherment,
            usage.value.key_cert_sign) == (True, True, True)
    assert not (usage.value.content_commitment or usage.value.data_encipherment
                or usage.value.key_agreement or usage.value.crl_sign)


def test_the_serving_certificate_has_the_fields_kubectl_needs(tmp_path: Path):
    files = write_tls_files(tmp_path, ["127.0.0.1", "localhost", "::1", "kubelearn.local"])
    ca = cluster_ca()
    assert files.ca_pem == ca.pem == files.ca_path.read_bytes()
    cert = x509.load_pem_x509_certificate(files.cert_path.read_bytes())
    assert stat.S_IMODE(files.key_path.stat().st_mode) == 0o600
    assert cert.subject == x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                                         "kube-apiserver")])
    assert cert.issuer == ca.certificate.subject
    cert.verify_directly_issued_by(ca.certificate)  # signed by the cluster's CA
    assert cert.version == x509.Version.v3 and cert.serial_number > 0
    assert cert.not_valid_before_utc.strftime("%y%m%d%H%M%SZ") == NOT_BEFORE
    assert cert.not_valid_after_utc.strftime("%y%m%d%H%M%SZ") == NOT_AFTER
    extensions = cert.extensions
    assert not extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    usage = extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and usage.value.key_encipherment
    assert not usage.value.key_cert_sign
    extended = extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert list(extended.value) == [ExtendedKeyUsageOID.SERVER_AUTH]
    san = extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost", "kubelearn.local"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1"),
                                                        ipaddress.ip_address("::1")]


def test_each_certificate_has_its_own_serial_and_loads_into_ssl(tmp_path: Path):
    first = write_tls_files(tmp_path, ["127.0.0.1"])
    serial = x509.load_pem_x509_certificate(first.cert_path.read_bytes()).serial_number
    (tmp_path / "second").mkdir()
    second = write_tls_files(tmp_path / "second", ["127.0.0.1"])
    assert x509.load_pem_x509_certificate(second.cert_path.read_bytes()).serial_number != serial
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(second.cert_path, second.key_path)
