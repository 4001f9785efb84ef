"""A development certificate authority for the broker's TLS listeners and device certificates.

``ensure_dev_pki`` makes, once, under a directory: a CA (``ca.crt``/``ca.key``), a server
certificate for the broker (``server.crt``/``server.key``, for localhost and 127.0.0.1).
``issue_client_cert`` signs a device certificate whose CN is the device id: on the listener
with ``require_certificate true`` and ``use_identity_as_username true`` the CN becomes the MQTT
username, so the device's ACL block applies to it. Production uses the city's own CA; see
docs/architecture.md ("Broker TLS").
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_CURVE = ec.SECP256R1()


@dataclass(frozen=True, slots=True)
class DevPki:
    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path


@dataclass(frozen=True, slots=True)
class IssuedCert:
    cert_pem: str
    key_pem: str | None  # None when the device sent its own CSR
    ca_pem: str
    not_after: datetime


class PkiError(ValueError):
    pass


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Tianqu City Cockpit (development)"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def ensure_dev_pki(directory: Path, hosts: tuple[str, ...] = ("localhost", "127.0.0.1")) -> DevPki:
    """Create the CA and the broker's server certificate unless they already exist."""
    directory.mkdir(parents=True, exist_ok=True)
    pki = DevPki(
        directory / "ca.crt",
        directory / "ca.key",
        directory / "server.crt",
        directory / "server.key",
    )
    now = datetime.now(UTC)
    if not (pki.ca_cert.exists() and pki.ca_key.exists()):
        ca_key = ec.generate_private_key(_CURVE)
        ca_cert = (
            x509.CertificateBuilder()
            .subject_name(_name("Tianqu development CA"))
            .issuer_name(_name("Tianqu development CA"))
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True, key_cert_sign=True, crl_sign=True,
                    content_commitment=False, key_encipherment=False, data_encipherment=False,
                    key_agreement=False, encipher_only=False, decipher_only=False,
                ),
                critical=True,
            )
            .sign(ca_key, hashes.SHA256())
        )  # fmt: skip
        _write_private(pki.ca_key, _key_pem(ca_key))
        pki.ca_cert.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
        pki.server_cert.unlink(missing_ok=True)
    if not (pki.server_cert.exists() and pki.server_key.exists()):
        ca_cert, ca_key = load_ca(pki.ca_cert, pki.ca_key)
        key = ec.generate_private_key(_CURVE)
        names: list[x509.GeneralName] = []
        for host in hosts:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        cert = (
            _leaf(hosts[0], key.public_key(), ca_cert, now, 825)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        _write_private(pki.server_key, _key_pem(key))
        pki.server_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return pki


def load_ca(cert_path: Path, key_path: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise PkiError(f"{key_path} is not an EC private key")
    return cert, key


def _leaf(
    common_name: str,
    public_key: ec.EllipticCurvePublicKey,
    ca_cert: x509.Certificate,
    now: datetime,
    days: int,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca_cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    )


def issue_client_cert(
    device_id: str, ca_cert_path: Path, ca_key_path: Path, *, days: int, csr_pem: str | None = None
) -> IssuedCert:
    """A client certificate with CN = ``device_id``, from the device's CSR or a new key."""
    ca_cert, ca_key = load_ca(ca_cert_path, ca_key_path)
    key_pem: str | None = None
    if csr_pem is None:
        key = ec.generate_private_key(_CURVE)
        public_key = key.public_key()
        key_pem = _key_pem(key).decode()
    else:
        try:
            csr = x509.load_pem_x509_csr(csr_pem.encode())
        except ValueError as exc:
            raise PkiError(f"not a PEM certificate signing request: {exc}") from None
        if not csr.is_signature_valid:
            raise PkiError("the CSR's signature does not match its key")
        csr_key = csr.public_key()
        if not isinstance(csr_key, ec.EllipticCurvePublicKey):
            raise PkiError("only EC (P-256) keys are accepted")
        public_key = csr_key
    now = datetime.now(UTC)
    cert = (
        _leaf(device_id, public_key, ca_cert, now, days)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return IssuedCert(
        cert.public_bytes(serialization.Encoding.PEM).decode(),
        key_pem,
        ca_cert.public_bytes(serialization.Encoding.PEM).decode(),
        cert.not_valid_after_utc,
    )
