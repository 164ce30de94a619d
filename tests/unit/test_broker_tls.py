"""Over ``amqps://`` the one-shot commands' kombu connections check the broker certificate's name
against the host they dial, as ``hub run``'s pika connection does. Seen from a TLS server of the
test's own: a certificate for another name is refused in the handshake, and the next host is tried."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ec import (
    SECP256R1,
    EllipticCurvePrivateKey,
    generate_private_key,
)
from cryptography.x509.oid import NameOID

from hub.bus.transport import Transport
from hub.errors import HubError


def _certificate(
    subject: str, issuer: tuple[x509.Name, EllipticCurvePrivateKey] | None, names: list[x509.GeneralName]
) -> tuple[x509.Certificate, EllipticCurvePrivateKey]:
    key = generate_private_key(SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    issuer_name, signing_key = issuer or (name, key)
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
    )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(signing_key, hashes.SHA256()), key


class TlsServer:
    """Accepts TLS connections on 127.0.0.1 with one certificate and records each handshake's result."""

    def __init__(self, folder: Path, ca: tuple[x509.Certificate, EllipticCurvePrivateKey], names: list[str]):
        cert, key = _certificate("broker", (ca[0].subject, ca[1]), [_general(name) for name in names])
        chain, key_file = folder / f"{names[0]}-{id(self)}.pem", folder / f"{names[0]}-{id(self)}.key"
        chain.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._context.load_cert_chain(chain, key_file)
        self._socket = socket.create_server(("127.0.0.1", 0))
        self._socket.settimeout(10)
        self.port: int = self._socket.getsockname()[1]
        self.handshakes: list[str] = []
        self._recorded = threading.Condition()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                raw, _ = self._socket.accept()
            except OSError:
                return
            try:
                with self._context.wrap_socket(raw, server_side=True) as tls:
                    self._record("ok")
                    tls.close()  # no AMQP here: the client's connect fails after the handshake
            except (ssl.SSLError, OSError) as error:
                self._record(type(error).__name__)

    def _record(self, result: str) -> None:
        with self._recorded:
            self.handshakes.append(result)
            self._recorded.notify_all()

    def first_handshake(self) -> str:
        """The first connection's result, once the server has judged it."""
        with self._recorded:
            assert self._recorded.wait_for(lambda: bool(self.handshakes), timeout=10), "nobody connected"
            return self.handshakes[0]

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._socket.shutdown(socket.SHUT_RDWR)  # wakes the accept() waiting in the thread
        self._socket.close()
        self._thread.join(timeout=5)


def _general(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


@pytest.fixture
def trusted_ca(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[x509.Certificate, EllipticCurvePrivateKey]:
    """A CA of the test's own, the only one the client trusts (SSL_CERT_FILE)."""
    ca = _certificate("test CA", None, [])
    (tmp_path / "ca.pem").write_bytes(ca[0].public_bytes(serialization.Encoding.PEM))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    return ca


@pytest.fixture
def servers(
    tmp_path: Path, trusted_ca: tuple[x509.Certificate, EllipticCurvePrivateKey]
) -> Iterator[list[TlsServer]]:
    made = [
        TlsServer(tmp_path, trusted_ca, ["broker.example"]),
        TlsServer(tmp_path, trusted_ca, ["127.0.0.1"]),
    ]
    yield made
    for server in made:
        server.close()


def connect(*ports: int) -> None:
    hosts = ",".join(f"127.0.0.1:{port}" for port in ports)
    with pytest.raises(HubError):  # the servers speak no AMQP: every connect fails in the end
        Transport(f"amqps://hub:secret@{hosts}/").require_queues(["hub.workers"])


@pytest.mark.timeout(30)
def test_a_certificate_for_another_name_is_refused_in_the_handshake(servers: list[TlsServer]) -> None:
    wrong_name, _ = servers
    connect(wrong_name.port)
    assert wrong_name.first_handshake() != "ok"


@pytest.mark.timeout(30)
def test_a_certificate_for_the_host_dialled_completes_the_handshake(servers: list[TlsServer]) -> None:
    _, right_name = servers
    connect(right_name.port)
    assert right_name.first_handshake() == "ok"


@pytest.mark.timeout(30)
def test_a_host_whose_certificate_names_another_is_passed_over_for_the_next(servers: list[TlsServer]) -> None:
    wrong_name, right_name = servers
    connect(wrong_name.port, right_name.port)
    assert wrong_name.first_handshake() != "ok"
    assert right_name.first_handshake() == "ok"
