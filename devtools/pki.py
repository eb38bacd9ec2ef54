"""Certificates and keys for a local Kubernetes control plane on loopback (PEM files in one folder).

One cluster CA signs the API server's serving certificate and the client certificates; a second CA signs
the front-proxy client (the API server's request-header authentication); one key pair signs and verifies
service-account tokens. The one-node cluster (devtools/node.py) adds its node's identity, the API server's
client certificate for the kubelet, the scheduler's and CoreDNS's. Files that exist are kept, so a restarted
control plane keeps its identity.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

VALIDITY = datetime.timedelta(days=3650)
SERVICE_IP = "10.0.0.1"  # first address of the service range the API server is given
SERVER_NAMES = (
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
)
NODE_NAME = "yellow-node"  # the one-node cluster's node


@dataclass(frozen=True)
class Pair:
    cert: Path
    key: Path


@dataclass(frozen=True)
class ControlPlanePki:
    ca: Pair
    server: Pair
    admin: Pair
    controller_manager: Pair
    front_proxy_ca: Pair
    front_proxy_client: Pair
    service_account_key: Path
    service_account_pub: Path
    kubelet: Pair  # the node's identity, system:node:<name> in system:nodes (the Node authorizer's)
    apiserver_kubelet_client: Pair  # the API server to the kubelet (logs, exec)
    scheduler: Pair
    coredns: Pair  # system:coredns, bound to the role the node's set-up declares


def _name(common_name: str, organization: str | None = None) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(attributes)


def _write_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = ec.generate_private_key(ec.SECP256R1())
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    path.chmod(0o600)
    return key


def _load_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def _issue(
    pair: Pair,
    subject: x509.Name,
    issuer: Pair | None,
    *,
    ca: bool = False,
    usage: x509.ObjectIdentifier | None = None,
    sans: list[x509.GeneralName] | None = None,
) -> None:
    """Write `pair` (kept when both files exist), signed by `issuer` or self-signed when it is None."""
    if pair.cert.exists() and pair.key.exists():
        return
    key = _write_key(pair.key)
    now = datetime.datetime.now(datetime.UTC)
    issuer_name, signing_key = subject, key
    if issuer is not None:
        issuer_name = x509.load_pem_x509_certificate(issuer.cert.read_bytes()).subject
        signing_key = _load_key(issuer.key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    cert = builder.sign(signing_key, hashes.SHA256())
    pair.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def ensure_pki(folder: Path) -> ControlPlanePki:
    folder.mkdir(parents=True, exist_ok=True)

    def pair(name: str) -> Pair:
        return Pair(folder / f"{name}.crt", folder / f"{name}.key")

    pki = ControlPlanePki(
        ca=pair("ca"),
        server=pair("apiserver"),
        admin=pair("admin"),
        controller_manager=pair("controller-manager"),
        front_proxy_ca=pair("front-proxy-ca"),
        front_proxy_client=pair("front-proxy-client"),
        service_account_key=folder / "sa.key",
        service_account_pub=folder / "sa.pub",
        kubelet=pair("kubelet"),
        apiserver_kubelet_client=pair("apiserver-kubelet-client"),
        scheduler=pair("scheduler"),
        coredns=pair("coredns"),
    )
    client, server = x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH, x509.oid.ExtendedKeyUsageOID.SERVER_AUTH
    _issue(pki.ca, _name("yellow-local-ca"), None, ca=True)
    _issue(pki.front_proxy_ca, _name("yellow-local-front-proxy-ca"), None, ca=True)
    sans: list[x509.GeneralName] = [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ("127.0.0.1", SERVICE_IP)]
    sans += [x509.DNSName(name) for name in SERVER_NAMES]
    _issue(pki.server, _name("kube-apiserver"), pki.ca, usage=server, sans=sans)
    _issue(pki.admin, _name("yellow-admin", "system:masters"), pki.ca, usage=client)
    # As itself, the built-in controller-manager role cannot update Deployments without per-controller
    # service accounts (which need token signing round trips): system:masters keeps it simple.
    _issue(pki.controller_manager, _name("system:kube-controller-manager", "system:masters"), pki.ca, usage=client)
    _issue(pki.front_proxy_client, _name("front-proxy-client"), pki.front_proxy_ca, usage=client)
    _issue(pki.kubelet, _name(f"system:node:{NODE_NAME}", "system:nodes"), pki.ca, usage=client)
    _issue(pki.apiserver_kubelet_client, _name("kube-apiserver-kubelet-client", "system:masters"), pki.ca, usage=client)
    _issue(pki.scheduler, _name("system:kube-scheduler"), pki.ca, usage=client)
    _issue(pki.coredns, _name("system:coredns"), pki.ca, usage=client)
    if not pki.service_account_key.exists():
        key = _write_key(pki.service_account_key)
        pki.service_account_pub.write_bytes(
            key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        )
    return pki
