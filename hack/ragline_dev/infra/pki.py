"""Certificates for the local control plane: one CA, a serving cert, client certs, an SA key.

Generated once per stack directory and reused on restart, so kubeconfigs stay valid.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY = dt.timedelta(days=365)
SERVICE_IP = "10.0.0.1"  # first address of --service-cluster-ip-range: the `kubernetes` Service

Key = ec.EllipticCurvePrivateKey


def _key() -> Key:
    return ec.generate_private_key(ec.SECP256R1())


def _write_key(key: Key, path: Path) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def _write_cert(cert: x509.Certificate, path: Path) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _name(common_name: str, organization: str | None = None) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(attributes)


@dataclass(frozen=True)
class Pki:
    """Paths of the generated files in ``root``."""

    root: Path

    @property
    def ca_cert(self) -> Path:
        """The CA every component trusts."""
        return self.root / "ca.crt"

    def cert(self, name: str) -> Path:
        """A certificate by name."""
        return self.root / f"{name}.crt"

    def key(self, name: str) -> Path:
        """A private key by name."""
        return self.root / f"{name}.key"

    @property
    def sa_key(self) -> Path:
        """The service-account signing key (its public half is ``sa.pub``)."""
        return self.root / "sa.key"

    @property
    def sa_pub(self) -> Path:
        """The service-account verification key."""
        return self.root / "sa.pub"


# Client identities: (file name, CN, O). system:masters makes the admin a cluster-admin.
CLIENTS = (
    ("admin", "ragline-admin", "system:masters"),
    ("controller-manager", "system:kube-controller-manager", None),
    ("scheduler", "system:kube-scheduler", None),
    ("kwok", "ragline-kwok", "system:masters"),
)


def ensure_pki(root: Path) -> Pki:
    """Create the CA, certificates and SA key unless ``root`` has them already."""
    pki = Pki(root)
    if pki.sa_pub.exists():
        return pki
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o700)
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)

    ca_key = _key()
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("ragline-local-ca"))
        .issuer_name(_name("ragline-local-ca"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write_key(ca_key, pki.key("ca"))
    _write_cert(ca, pki.ca_cert)

    def issue(name: str, subject: x509.Name, *, server: bool) -> None:
        key = _key()
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + VALIDITY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
        )
        if server:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(
                    [
                        x509.DNSName("localhost"),
                        x509.DNSName("kubernetes"),
                        x509.DNSName("kubernetes.default"),
                        x509.DNSName("kubernetes.default.svc"),
                        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                        x509.IPAddress(ipaddress.ip_address(SERVICE_IP)),
                    ]
                ),
                critical=False,
            )
        _write_key(key, pki.key(name))
        _write_cert(builder.sign(ca_key, hashes.SHA256()), pki.cert(name))

    issue("apiserver", _name("kube-apiserver"), server=True)
    for name, common_name, organization in CLIENTS:
        issue(name, _name(common_name, organization), server=False)

    sa_key = _key()
    _write_key(sa_key, pki.sa_key)
    # Written last: its presence marks the set as complete.
    pki.sa_pub.write_bytes(
        sa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return pki
