"""The one connection helper against a Temporal that speaks TLS. The dev server cannot serve
TLS itself (`temporal server start-dev` has no TLS flags), so a TLS terminator made here, with a
self-signed CA, sits in front of it and, like Temporal Cloud or an mTLS cluster, refuses a
client without the right certificate."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import SecretStr
from temporalio.testing import WorkflowEnvironment

from scripts.devstack.servers import free_port
from settings import Settings
from temporal_client import connect, tls_config


@dataclass
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _issue(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
    ca: bool = False,
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    issuer_name, issuer_key = issuer or (_name(subject), key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A CA, and a server and a client certificate it signed, as PEM files."""
    folder = tmp_path_factory.mktemp("pki")

    def write(name: str, data: bytes) -> Path:
        (folder / name).write_bytes(data)
        return folder / name

    def pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
        return key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _issue("chaser test CA", ca_key, None, ca=True)
    server_key, client_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    server = _issue("localhost", server_key, (ca.subject, ca_key))
    client = _issue("chaser worker", client_key, (ca.subject, ca_key))
    pem = serialization.Encoding.PEM
    return Pki(
        ca=write("ca.pem", ca.public_bytes(pem)),
        server_cert=write("server.pem", server.public_bytes(pem)),
        server_key=write("server.key", pem_key(server_key)),
        client_cert=write("client.pem", client.public_bytes(pem)),
        client_key=write("client.key", pem_key(client_key)),
    )


@asynccontextmanager
async def tls_terminator(pki: Pki, upstream: str, client_cert: bool) -> AsyncIterator[str]:
    """TLS (HTTP/2 by ALPN, as gRPC asks) on a free port, plain bytes to `upstream`; with
    `client_cert`, a client without a certificate signed by the CA is refused."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pki.server_cert, pki.server_key)
    context.set_alpn_protocols(["h2"])
    if client_cert:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(pki.ca)
    host, port = upstream.rsplit(":", 1)

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    async def forward(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(host, int(port))
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    listen = free_port()
    server = await asyncio.start_server(forward, "127.0.0.1", listen, ssl=context)
    async with server:
        yield f"localhost:{listen}"


def _settings(address: str, **tls: object) -> Settings:
    return Settings.model_validate({"temporal_address": address, **tls})


async def test_mtls_with_the_client_certificate_and_the_ca(
    pki: Pki, dev_env: WorkflowEnvironment
) -> None:
    upstream = dev_env.client.service_client.config.target_host
    async with tls_terminator(pki, upstream, client_cert=True) as address:
        settings = _settings(
            address,
            temporal_tls_cert=pki.client_cert,
            temporal_tls_key=pki.client_key,
            temporal_tls_ca=pki.ca,
        )
        client = await connect(settings)
        assert await client.service_client.check_health()
        assert (await client.count_workflows()).count >= 0

        # Each part counts: without the client certificate the server refuses the client;
        # without the CA the client does not trust the server.
        no_certificate = settings.model_copy(
            update={"temporal_tls_cert": None, "temporal_tls_key": None}
        )
        no_ca = settings.model_copy(update={"temporal_tls_ca": None})
        for refused in (no_certificate, no_ca):
            with pytest.raises(RuntimeError, match="connect"):
                await connect(refused)


async def test_an_api_key_turns_tls_on_and_goes_with_every_call(
    pki: Pki, dev_env: WorkflowEnvironment
) -> None:
    upstream = dev_env.client.service_client.config.target_host
    async with tls_terminator(pki, upstream, client_cert=False) as address:
        settings = _settings(address, temporal_api_key="cloud-key", temporal_tls_ca=pki.ca)
        client = await connect(settings)
        assert client.api_key == "cloud-key"
        assert await client.service_client.check_health()
    assert tls_config(_settings("x:7233", temporal_api_key=SecretStr("k"))) is True
    assert tls_config(_settings("x:7233")) is False


def test_a_certificate_needs_its_key() -> None:
    with pytest.raises(ValueError, match="TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together"):
        tls_config(_settings("x:7233", temporal_tls_cert=Path("/dev/null")))
