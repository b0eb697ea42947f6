"""TLS for the served API server: a self-signed certificate, made with ``cryptography``.

kubectl sends its bearer token only over HTTPS: client-go's kubeconfig loader
reads a user's credentials only when the server URL is ``https://``
(clientcmd ``DirectClientConfig.ClientConfig``: "only try to read the auth
information if we are secure"). So the API server speaks TLS, as
kube-apiserver always does, with a certificate made here:

- :func:`private_key` -- an RSA 2048 key, e = 65537;
- :func:`self_signed_certificate` -- an X.509 v3 certificate for the given host
  names and IP addresses, signed with its own key (SHA-256), usable both as
  the server certificate and as the CA the kubeconfig trusts. client-go's
  ``cert.GenerateSelfSignedCertKey`` (what kube-apiserver makes when given no
  certificate) makes two, a CA and a serving certificate it signs; one
  certificate carries both roles here, with the union of their key usages;
- :func:`write_tls_files` writes ``tls.crt`` and ``tls.key`` (mode 0600) for
  :class:`ssl.SSLContext`.

Keys and serial numbers come from the operating system's generator: a TLS key
must be unpredictable, so unlike everything in the simulation it is not derived
from the seed. RSA rather than ECDSA P-256 (which kubectl and OpenSSL accept
too, and which kubeadm offers as ``encryptionAlgorithm: ECDSA-P256``): RSA 2048
is upstream's default for this certificate, and its key usages
(keyEncipherment) are RSA's; the key costs about a tenth of a second, once
per process, and is reused by every server.
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
COMMON_NAME = "kubelearn"
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


def self_signed_certificate(key: rsa.RSAPrivateKey, hosts: list[str],
                            common_name: str = COMMON_NAME) -> x509.Certificate:
    """An X.509 v3 certificate for ``hosts``, its own CA, signed by ``key``."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    usage = x509.KeyUsage(digital_signature=True, key_encipherment=True, key_cert_sign=True,
                          content_commitment=False, data_encipherment=False,
                          key_agreement=False, crl_sign=False, encipher_only=False,
                          decipher_only=False)
    return (x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)  # itself
            .public_key(key.public_key())
            .serial_number(secrets.randbits(63) | 1)  # positive, as Go's big.Int serials
            .not_valid_before(_utc(NOT_BEFORE))
            .not_valid_after(_utc(NOT_AFTER))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(usage, critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(_subject_alt_names(hosts), critical=False)
            .sign(key, hashes.SHA256()))


_key: rsa.RSAPrivateKey | None = None
_key_lock = threading.Lock()


def process_key() -> rsa.RSAPrivateKey:
    """This process's serving key, made on first use."""
    global _key
    with _key_lock:
        if _key is None:
            _key = private_key()
        return _key


class TLSFiles(NamedTuple):
    """Where a server's certificate and key are, and the certificate's PEM (the CA)."""

    cert_path: Path
    key_path: Path
    ca_pem: bytes


def write_tls_files(directory: str | os.PathLike[str], hosts: list[str]) -> TLSFiles:
    """Write ``tls.crt`` and ``tls.key`` (0600) for ``hosts`` into ``directory``."""
    key = process_key()
    cert = self_signed_certificate(key, hosts).public_bytes(serialization.Encoding.PEM)
    directory = Path(directory)
    cert_path, key_path = directory / "tls.crt", directory / "tls.key"
    cert_path.write_bytes(cert)
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.TraditionalOpenSSL,
                                    serialization.NoEncryption()))
    return TLSFiles(cert_path, key_path, cert)
