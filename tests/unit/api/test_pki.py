"""The development CA and device certificates (CN = device id)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from api.mqtt.pki import PkiError, ensure_dev_pki, issue_client_cert


def _cn(cert: x509.Certificate) -> str:
    return str(cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def test_dev_pki_is_made_once(tmp_path: Path) -> None:
    first = ensure_dev_pki(tmp_path)
    ca = first.ca_cert.read_bytes()
    second = ensure_dev_pki(tmp_path)
    assert second.ca_cert.read_bytes() == ca
    assert oct(first.ca_key.stat().st_mode & 0o777) == "0o600"
    server = x509.load_pem_x509_certificate(first.server_cert.read_bytes())
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in names.get_values_for_type(x509.DNSName)


def test_client_certificate_names_the_device_and_chains_to_the_ca(tmp_path: Path) -> None:
    pki = ensure_dev_pki(tmp_path)
    issued = issue_client_cert("pk-dongzhan-00001", pki.ca_cert, pki.ca_key, days=30)
    cert = x509.load_pem_x509_certificate(issued.cert_pem.encode())
    ca = x509.load_pem_x509_certificate(pki.ca_cert.read_bytes())
    assert _cn(cert) == "pk-dongzhan-00001"
    cert.verify_directly_issued_by(ca)
    assert issued.key_pem is not None


def test_a_devices_own_csr_keeps_its_key_private(tmp_path: Path) -> None:
    pki = ensure_dev_pki(tmp_path)
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "whatever")]))
        .sign(key, hashes.SHA256())
    )
    pem = csr.public_bytes(serialization.Encoding.PEM).decode()
    issued = issue_client_cert("pk-x-00001", pki.ca_cert, pki.ca_key, days=30, csr_pem=pem)
    cert = x509.load_pem_x509_certificate(issued.cert_pem.encode())
    assert issued.key_pem is None
    assert _cn(cert) == "pk-x-00001"  # the CN is the registry's, not what the CSR asked for
    with pytest.raises(PkiError, match="certificate signing request"):
        issue_client_cert("pk-x-00001", pki.ca_cert, pki.ca_key, days=1, csr_pem="garbage")
