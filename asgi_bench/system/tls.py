"""A throwaway self-signed certificate for ``--tls``, made at run time, never committed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import trustme
from cryptography.hazmat.primitives import serialization


@dataclass(frozen=True)
class CertPair:
    certfile: Path
    keyfile: Path


def make_cert(directory: Path) -> CertPair:
    """Write a certificate for 127.0.0.1 and localhost, and its key in PKCS#8 (granian
    accepts nothing else)."""
    directory.mkdir(parents=True, exist_ok=True)
    leaf = trustme.CA().issue_cert("127.0.0.1", "localhost")
    key = serialization.load_pem_private_key(leaf.private_key_pem.bytes(), password=None)
    pkcs8 = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    certfile, keyfile = directory / "cert.pem", directory / "key.pem"
    certfile.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    keyfile.write_bytes(pkcs8)
    keyfile.chmod(0o600)
    return CertPair(certfile, keyfile)
