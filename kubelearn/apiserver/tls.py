"""TLS for the served API server: a self-signed certificate, made in pure Python.

kubectl sends its bearer token only over HTTPS: client-go's kubeconfig loader
reads a user's credentials only when the server URL is ``https://``
(clientcmd ``DirectClientConfig.ClientConfig``: "only try to read the auth
information if we are secure"). So the API server speaks TLS, as
kube-apiserver always does, with a certificate made here:

- :func:`rsa_key` -- an RSA key pair (Miller-Rabin primes, e = 65537);
- :func:`self_signed_certificate` -- an X.509 v3 certificate for the given host
  names and IP addresses, signed with its own key (sha256WithRSAEncryption),
  usable both as the server certificate and as the CA the kubeconfig trusts;
- :func:`pem` -- PEM armour; :func:`write_tls_files` writes ``tls.crt`` and
  ``tls.key`` (mode 0600) for :class:`ssl.SSLContext`.

The DER encoding is the small subset of ASN.1 a certificate needs (RFC 5280).
Keys come from :mod:`secrets`: a TLS key must be unpredictable, so unlike
everything in the simulation it is not derived from the seed. One key is made
per process (about half a second) and reused by every server.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import os
import secrets
import threading
from pathlib import Path
from typing import NamedTuple

RSA_BITS = 2048  # the minimum current TLS stacks accept for RSA
PUBLIC_EXPONENT = 65537
# A fixed validity window: no wall clock is read to make the certificate.
NOT_BEFORE = "000101000000Z"  # 2000-01-01, UTCTime
NOT_AFTER = "491231235959Z"  # 2049-12-31, the last UTCTime year


class RSAKey(NamedTuple):
    """An RSA private key with its CRT parameters (PKCS #1 RSAPrivateKey)."""

    n: int
    e: int
    d: int
    p: int
    q: int

    def sign(self, message: bytes) -> bytes:
        """An RSASSA-PKCS1-v1_5 signature of ``message`` with SHA-256 (RFC 8017)."""
        # DigestInfo prefix of SHA-256 (RFC 8017 section 9.2, note 1).
        digest_info = bytes.fromhex("3031300d060960864801650304020105000420")
        t = digest_info + hashlib.sha256(message).digest()
        size = (self.n.bit_length() + 7) // 8
        encoded = b"\x00\x01" + b"\xff" * (size - len(t) - 3) + b"\x00" + t
        m = int.from_bytes(encoded, "big")
        # Chinese remainder theorem: two half-size exponentiations instead of one.
        s1, s2 = pow(m, self.d % (self.p - 1), self.p), pow(m, self.d % (self.q - 1), self.q)
        h = (pow(self.q, -1, self.p) * (s1 - s2)) % self.p
        return (s2 + h * self.q).to_bytes(size, "big")


_SMALL_PRIMES = [p for p in range(3, 2000) if all(p % f for f in range(2, int(p ** 0.5) + 1))]


def is_probable_prime(n: int, rounds: int = 40) -> bool:
    """Miller-Rabin: False if ``n`` is composite, True if prime with overwhelming odds."""
    if n < 2:
        return False
    for p in _SMALL_PRIMES:
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for _ in range(rounds):
        x = pow(secrets.randbelow(n - 3) + 2, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(bits: int) -> int:
    """A random prime of exactly ``bits`` bits, the top two set (so p*q has 2*bits bits)."""
    while True:
        candidate = secrets.randbits(bits) | (3 << (bits - 2)) | 1
        if is_probable_prime(candidate) and (candidate - 1) % PUBLIC_EXPONENT:
            return candidate


def rsa_key(bits: int = RSA_BITS) -> RSAKey:
    """A new RSA key pair of ``bits`` bits."""
    while True:
        p, q = _prime(bits // 2), _prime(bits // 2)
        if p != q:
            break
    d = pow(PUBLIC_EXPONENT, -1, (p - 1) * (q - 1))
    return RSAKey(p * q, PUBLIC_EXPONENT, d, max(p, q), min(p, q))


# -- DER (ITU-T X.690), just what a certificate needs ------------------------------


def _der(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return bytes([tag, size]) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + content


def _integer(value: int) -> bytes:
    return _der(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))  # sign bit clear


def _sequence(*items: bytes) -> bytes:
    return _der(0x30, b"".join(items))


def _oid(dotted: str) -> bytes:
    first, second, *rest = (int(x) for x in dotted.split("."))
    out = bytearray([40 * first + second])
    for arc in rest:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out.extend(reversed(chunk))
    return _der(0x06, bytes(out))


def _bit_string(data: bytes, unused: int = 0) -> bytes:
    return _der(0x03, bytes([unused]) + data)


NULL = b"\x05\x00"
SHA256_WITH_RSA = _sequence(_oid("1.2.840.113549.1.1.11"), NULL)
RSA_ENCRYPTION = _sequence(_oid("1.2.840.113549.1.1.1"), NULL)


def _name(common_name: str) -> bytes:
    """An X.501 Name holding one CN."""
    attribute = _sequence(_oid("2.5.4.3"), _der(0x0C, common_name.encode()))
    return _sequence(_der(0x31, attribute))


def _extension(oid: str, value: bytes, critical: bool = False) -> bytes:
    flag = b"\x01\x01\xff" if critical else b""  # DER leaves out the default FALSE
    return _sequence(_oid(oid), flag, _der(0x04, value))


def _subject_alt_names(hosts: list[str]) -> bytes:
    names = []
    for host in hosts:
        try:
            names.append(_der(0x87, ipaddress.ip_address(host).packed))  # [7] iPAddress
        except ValueError:
            names.append(_der(0x82, host.encode("idna")))  # [2] dNSName
    return _sequence(*names)


def self_signed_certificate(key: RSAKey, hosts: list[str], common_name: str = "kubelearn",
                            ) -> bytes:
    """A DER X.509 v3 certificate for ``hosts``, its own CA, signed by ``key``."""
    public_key = _sequence(_integer(key.n), _integer(key.e))
    extensions = _sequence(
        _extension("2.5.29.19", _sequence(b"\x01\x01\xff"), critical=True),  # CA:TRUE
        # keyUsage: digitalSignature, keyEncipherment, keyCertSign (bits 0, 2, 5)
        _extension("2.5.29.15", _bit_string(b"\xa4", unused=2), critical=True),
        _extension("2.5.29.37", _sequence(_oid("1.3.6.1.5.5.7.3.1"))),  # serverAuth
        _extension("2.5.29.17", _subject_alt_names(hosts)),
    )
    tbs = _sequence(
        _der(0xA0, _integer(2)),  # [0] version v3
        _integer(secrets.randbits(63) | 1),  # serial number, positive
        SHA256_WITH_RSA,
        _name(common_name),  # issuer: itself
        _sequence(_der(0x17, NOT_BEFORE.encode()), _der(0x17, NOT_AFTER.encode())),
        _name(common_name),
        _sequence(RSA_ENCRYPTION, _bit_string(public_key)),
        _der(0xA3, extensions),  # [3] extensions
    )
    return _sequence(tbs, SHA256_WITH_RSA, _bit_string(key.sign(tbs)))


def private_key_der(key: RSAKey) -> bytes:
    """The key as a PKCS #1 RSAPrivateKey."""
    return _sequence(*(_integer(v) for v in (
        0, key.n, key.e, key.d, key.p, key.q, key.d % (key.p - 1), key.d % (key.q - 1),
        pow(key.q, -1, key.p))))


def pem(der: bytes, label: str) -> bytes:
    """PEM armour: ``-----BEGIN <label>-----``, base64 in lines of 64."""
    text = base64.b64encode(der).decode()
    lines = [text[i:i + 64] for i in range(0, len(text), 64)]
    return ("\n".join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----"])
            + "\n").encode()


_key: RSAKey | None = None
_key_lock = threading.Lock()


def process_key() -> RSAKey:
    """This process's serving key, made on first use."""
    global _key
    with _key_lock:
        if _key is None:
            _key = rsa_key()
        return _key


class TLSFiles(NamedTuple):
    """Where a server's certificate and key are, and the certificate's PEM (the CA)."""

    cert_path: Path
    key_path: Path
    ca_pem: bytes


def write_tls_files(directory: str | os.PathLike[str], hosts: list[str]) -> TLSFiles:
    """Write ``tls.crt`` and ``tls.key`` (0600) for ``hosts`` into ``directory``."""
    key = process_key()
    cert = pem(self_signed_certificate(key, hosts), "CERTIFICATE")
    directory = Path(directory)
    cert_path, key_path = directory / "tls.crt", directory / "tls.key"
    cert_path.write_bytes(cert)
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem(private_key_der(key), "RSA PRIVATE KEY"))
    return TLSFiles(cert_path, key_path, cert)
