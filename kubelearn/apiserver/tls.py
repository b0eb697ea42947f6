"""TLS for the cluster: its certificate authority and the API server's serving certificate.

kubectl sends its bearer token only over HTTPS: client-go's kubeconfig loader
reads a user's credentials only when the server URL is ``https://``
(clientcmd ``DirectClientConfig.ClientConfig``: "only try to read the auth
information if we are secure"). So the API server speaks TLS, as
kube-apiserver always does, with certificates made here, laid out as kubeadm
lays out ``/etc/kubernetes/pki``:

- :func:`cluster_ca` -- the cluster's CA (``ca.crt``, common name
  ``kubernetes``): a self-signed X.509 v3 CA certificate. Clients trust it: the
  kubeconfig carries it as ``certificate-authority-data``, and the
  root-ca-cert-publisher puts it in every namespace's ``kube-root-ca.crt``
  ConfigMap (:mod:`kubelearn.controllers.rootcacertpublisher`), for pods to
  check the API server they reach at ``kubernetes.default.svc``;
- :func:`serving_certificate` -- the API server's certificate
  (``apiserver.crt``, common name ``kube-apiserver``) for the host names and
  addresses it is served at, signed by the CA;
- :func:`write_tls_files` writes ``tls.crt`` and ``tls.key`` (mode 0600) for
  :class:`ssl.SSLContext`, and ``ca.crt``.

Keys are RSA 2048 (e = 65537), upstream's and kubeadm's default, made with
``cryptography``; SHA-256 signatures. Keys and serial numbers come from the
operating system's generator: a key must be unpredictable, so unlike
everything in the simulation it is not derived from the seed. Each key costs
about a tenth of a second, so a process makes one CA (and one serving key)
and every cluster in it shares them: two clusters of one seed store the same
``kube-root-ca.crt``, and its size never varies (the serial is always 63 bits).
The validity window is fixed, so no wall clock is read.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import secrets
import threading
from pathlib import Path
from typing import NamedTuple

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

RSA_BITS = 2048  # rsa.GenerateKey(cryptorand.Reader, 2048), client-go util/cert/cert.go
PUBLIC_EXPONENT = 65537
COMMON_NAME = "kube-apiserver"  # kubeadm's apiserver.crt
CA_COMMON_NAME = "kubernetes"  # kubeadm's ca.crt
# A fixed validity window: no wall clock is read to make the certificate.
NOT_BEFORE = "000101000000Z"  # 2000-01-01, UTCTime
NOT_AFTER = "491231235959Z"  # 2049-12-31, the last UTCTime year
_UTCTIME = "%y%m%d%H%M%SZ"


def _utc(utctime: str) -> datetime.datetime:
    return datetime.datetime.strptime(utctime, _UTCTIME).replace(tzinfo=datetime.timezone.utc)


def private_key() -> rsa.RSAPrivateKey:
    """A new RSA key of :data:`RSA_BITS` bits."""
    return rsa.generate_private_key(public_exponent=PUBLIC_EXPONENT, key_size=RSA_BITS)


def _subject_alt_names(hosts: list[str]) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return x509.SubjectAlternativeName(names)


class CertificateAuthority(NamedTuple):
    """A CA: its key, its certificate, and the certificate as PEM (what clients trust)."""

    key: rsa.RSAPrivateKey
    certificate: x509.Certificate
    pem: bytes


def _serial() -> int:
    """A positive 63-bit serial, as Go's big.Int serials, with its top bit set (a fixed size)."""
    return secrets.randbits(62) | 1 << 62


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    """digitalSignature and keyEncipherment (RSA's), and keyCertSign for a CA."""
    return x509.KeyUsage(digital_signature=True, key_encipherment=True,
                         key_cert_sign=cert_sign, content_commitment=False,
                         data_encipherment=False, key_agreement=False, crl_sign=False,
                         encipher_only=False, decipher_only=False)


def ca_certificate(key: rsa.RSAPrivateKey, common_name: str = CA_COMMON_NAME
                   ) -> x509.Certificate:
    """A self-signed CA certificate for ``key`` (kubeadm's pkiutil.NewSelfSignedCACert)."""
    name = _name(common_name)
    return (x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)  # itself
            .public_key(key.public_key())
            .serial_number(_serial())
            .not_valid_before(_utc(NOT_BEFORE))
            .not_valid_after(_utc(NOT_AFTER))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(_key_usage(cert_sign=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .sign(key, hashes.SHA256()))


def serving_certificate(ca: CertificateAuthority, key: rsa.RSAPrivateKey, hosts: list[str],
                        common_name: str = COMMON_NAME) -> x509.Certificate:
    """A server certificate for ``hosts`` (DNS names or IP addresses), signed by ``ca``."""
    return (x509.CertificateBuilder()
            .subject_name(_name(common_name))
            .issuer_name(ca.certificate.subject)
            .public_key(key.public_key())
            .serial_number(_serial())
            .not_valid_before(_utc(NOT_BEFORE))
            .not_valid_after(_utc(NOT_AFTER))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(cert_sign=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca.key.public_key()), critical=False)
            .add_extension(_subject_alt_names(hosts), critical=False)
            .sign(ca.key, hashes.SHA256()))


_key: rsa.RSAPrivateKey | None = None
_ca: CertificateAuthority | None = None
_lock = threading.Lock()


def process_key() -> rsa.RSAPrivateKey:
    """This process's serving key, made on first use."""
    global _key
    with _lock:
        if _key is None:
            _key = private_key()
        return _key


def cluster_ca() -> CertificateAuthority:
    """This process's cluster CA (key and certificate), made on first use."""
    global _ca
    with _lock:
        if _ca is None:
            key = private_key()
            cert = ca_certificate(key)
            _ca = CertificateAuthority(key, cert, cert.public_bytes(serialization.Encoding.PEM))
        return _ca


class TLSFiles(NamedTuple):
    """Where a server's certificate, key and CA are, and the CA's PEM (what clients trust)."""

    cert_path: Path
    key_path: Path
    ca_path: Path
    ca_pem: bytes


def write_tls_files(directory: str | os.PathLike[str], hosts: list[str],
                    ca: CertificateAuthority | None = None) -> TLSFiles:
    """Write ``tls.crt`` (for ``hosts``, signed by ``ca``: the process's CA unless given),
    ``tls.key`` (0600) and ``ca.crt`` into ``directory``."""
    ca = ca or cluster_ca()
    key = process_key()
    cert = serving_certificate(ca, key, hosts).public_bytes(serialization.Encoding.PEM)
    directory = Path(directory)
    cert_path, key_path, ca_path = directory / "tls.crt", directory / "tls.key", \
        directory / "ca.crt"
    cert_path.write_bytes(cert)
    ca_path.write_bytes(ca.pem)
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.TraditionalOpenSSL,
                                    serialization.NoEncryption()))
    return TLSFiles(cert_path, key_path, ca_path, ca.pem)
