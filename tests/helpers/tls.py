"""A throw-away certificate authority and a certificate for 127.0.0.1, for TLS tests."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme


@dataclass(frozen=True)
class Certificate:
    """What a TLS test needs: the server's files, a client context that trusts them, and the
    CA's certificate (PEM) for clients that read a file (a browser's, ``curl --cacert``)."""

    certfile: Path
    keyfile: Path
    client: ssl.SSLContext
    ca_pem: Path


def issue_certificate(folder: Path) -> Certificate:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    certfile, keyfile, ca_pem = folder / "cert.pem", folder / "key.pem", folder / "ca.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(certfile))
    cert.private_key_pem.write_to_path(str(keyfile))
    ca.cert_pem.write_to_path(str(ca_pem))
    client = ssl.create_default_context()
    ca.configure_trust(client)
    return Certificate(certfile, keyfile, client, ca_pem)
