"""Helpers of the delivery tests: certificates, the SMTP sink process, a project ready to send."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import select
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

HERE = Path(__file__).resolve().parent
SINK = HERE / "smtp_sink.py"
WEEK = "2026-W47"  # the sample posts' week, "last" at the tests' fixed now
USER, PASSWORD = "news@example.org", "s3cret-Pa55"


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def make_certs(folder: Path) -> tuple[Path, Path, Path]:
    """A test CA and a certificate for 127.0.0.1/localhost signed by it: ``(ca.pem, cert.pem, key.pem)``."""
    folder.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key, key = _key(), _key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "newsletter test CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=7))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    leaf = (
        x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=7))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    paths = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(_pem(key))
    return paths


def make_dkim_key(path: Path) -> bytes:
    """Write a 2048-bit RSA key (mode 0600) for DKIM; return the DNS TXT record's value."""
    key = _key()
    path.write_bytes(_pem(key))
    path.chmod(0o600)
    public = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    import base64

    return b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


@dataclass
class Sink:
    """A running sink process."""

    port: int
    log: Path
    store: Path | None
    process: subprocess.Popen

    def received(self) -> list[dict]:
        """Every accepted message, in order."""
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]

    def cpu_seconds(self) -> float:
        """CPU time the sink process has used so far (Linux /proc)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def recipients(self) -> list[str]:
        """The recipient of every accepted message (one each)."""
        return [r for record in self.received() for r in record["rcpt"]]


@contextmanager
def sink(
    folder: Path, security: str = "none", auth: bool = False, store: bool = False, port: int = 0
) -> Iterator[Sink]:
    """Start tests/smtp_sink.py as its own process; stop it afterwards."""
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "received.jsonl"
    args = [sys.executable, str(SINK), "--log", str(log), "--security", security, "--port", str(port)]
    if store:
        (folder / "store").mkdir(exist_ok=True)
        args += ["--store", str(folder / "store")]
    if security != "none":
        _, cert, key = make_certs(folder / "tls") if not (folder / "tls").exists() else _existing(folder / "tls")
        args += ["--cert", str(cert), "--key", str(key)]
    if auth:
        args += ["--auth", f"{USER}:{PASSWORD}"]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([process.stdout], [], [], 30)
        line = process.stdout.readline() if ready else ""
        if not line.startswith("READY "):
            raise RuntimeError(f"the SMTP sink did not start: {line!r}")
        yield Sink(int(line.split()[1]), log, folder / "store" if store else None, process)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _existing(folder: Path) -> tuple[Path, Path, Path]:
    return folder / "ca.pem", folder / "cert.pem", folder / "key.pem"


def configure(project: Path, port: int, *, security: str = "none", username: str = "", ca_file: str = "",
              connections: int = 1, rate: int = 1000, dkim: bool = False, retry_delay: int = 1,
              attempts: int = 4, host: str = "127.0.0.1") -> None:  # fmt: skip
    """Add [smtp] (and [dkim]) to the project's settings, a secret, and build the week's digest."""
    lines = [
        "", "[smtp]", f'host = "{host}"', f"port = {port}", f'security = "{security}"',
        f"connections = {connections}", f"rate = {rate}", f"retry_delay = {retry_delay}", f"attempts = {attempts}",
        "timeout = 10",
    ]  # fmt: skip
    if username:
        lines.append(f'username = "{username}"')
    if ca_file:
        lines.append(f'ca_file = "{ca_file}"')
    if dkim:
        lines += ["", "[dkim]", 'domain = "northbridge-care.example.org"', 'selector = "news"', 'key_file = "dkim.key"']
    with (project / "newsletter.toml").open("a", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    secret = project / ".newsletter-secret"
    if not secret.exists():
        secret.write_text("test-secret-" + "x" * 32)
        secret.chmod(0o600)


def run_cli(project: Path, *args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """``newsletter ARGS -C project`` in a subprocess (the real entry point, exit codes and all)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "newsletter", *args, "-C", str(project)],
        capture_output=True, text=True, env=full_env, timeout=timeout,
    )  # fmt: skip


def add_subscribers(project: Path, addresses: list[str]) -> None:
    """Put addresses into the project's database through the store."""
    from newsletter.delivery.db import connect
    from newsletter.delivery.subscribers import Subscriber, SubscriberStore, normalize_email

    with connect(project) as db:
        SubscriberStore(db).add_many([Subscriber(normalize_email(a), f"Reader {i}") for i, a in enumerate(addresses)])
