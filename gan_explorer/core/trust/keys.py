"""The key and certificate that sign Content Credentials.

On first use the app makes a local certificate authority and an ES256 (P-256) signing leaf under
it, in the user's data folder (core/paths.py): `trust/ca.pem`, `trust/signer.pem` (the leaf then
the CA, the chain C2PA embeds) and `trust/signer.key`, created readable by the user only (0600)
and never through a link. The C2PA library refuses a leaf without subject and authority key
identifiers, or without the emailProtection / documentSigning extended key usage, so the leaf has
them. A user who owns a real certificate configures it instead: $GAN_EXPLORER_SIGN_CERT (PEM chain)
and $GAN_EXPLORER_SIGN_KEY (PEM private key), both or neither.

A local CA is in no trust list: a verifier reports the signature valid (the file is unchanged since
it was signed) and the signer unknown to it; `verify` also says whether it is this computer's key.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from gan_explorer.core.errors import ConfigError, OutputError, escape_text
from gan_explorer.core.paths import default_data_dir

CERT_ENV = "GAN_EXPLORER_SIGN_CERT"  # a PEM certificate chain, leaf first, configured by the user
KEY_ENV = "GAN_EXPLORER_SIGN_KEY"    # the PEM private key of that leaf
LEAF_YEARS = 5                       # how long a generated signing certificate is valid
CA_YEARS = 20                        # how long the generated local CA is valid
# OID of the documentSigning extended key usage (RFC 9336), one of those C2PA accepts for a signer.
DOCUMENT_SIGNING_OID = "1.3.6.1.5.5.7.3.36"


@dataclass(frozen=True)
class SigningIdentity:
    """What signs: the PEM chain (leaf first), the PEM private key, and where they came from."""

    cert_chain_pem: bytes
    private_key_pem: bytes
    source: str          # "local" (generated here) or "configured" (the user's certificate)
    fingerprint: str     # sha256 of the leaf certificate (DER), hex

    @property
    def algorithm(self) -> str:
        return "es256"


def trust_dir(data_dir: str | os.PathLike | None = None) -> Path:
    return Path(data_dir or default_data_dir()) / "trust"


def signing_identity(data_dir: str | os.PathLike | None = None) -> SigningIdentity:
    """The configured certificate where $GAN_EXPLORER_SIGN_CERT / _KEY name one, else the local
    one, made on first use. ConfigError, one line, for a missing or unreadable configured file."""
    cert_file, key_file = os.environ.get(CERT_ENV), os.environ.get(KEY_ENV)
    if cert_file or key_file:
        if not (cert_file and key_file):
            raise ConfigError(f"set both {CERT_ENV} and {KEY_ENV} (a PEM certificate chain and its private key), "
                              "or neither to sign with this computer's own key")
        chain, key = _read_pem(cert_file, "certificate"), _read_pem(key_file, "private key")
        return SigningIdentity(chain, key, "configured", leaf_fingerprint(chain))
    folder = trust_dir(data_dir)
    chain_path, key_path = folder / "signer.pem", folder / "signer.key"
    if not (chain_path.is_file() and key_path.is_file()):
        _make_local_identity(folder)
    chain, key = _read_pem(chain_path, "certificate"), _read_pem(key_path, "private key")
    return SigningIdentity(chain, key, "local", leaf_fingerprint(chain))


def local_serial_number(data_dir: str | os.PathLike | None = None) -> str | None:
    """The serial number (decimal, as C2PA readers print it) of the leaf that signs here: the
    configured certificate's, else this computer's own; None before the first signature."""
    from cryptography import x509

    configured = os.environ.get(CERT_ENV)
    path = Path(configured) if configured else trust_dir(data_dir) / "signer.pem"
    try:
        return str(x509.load_pem_x509_certificate(path.read_bytes()).serial_number)
    except (OSError, ValueError):
        return None


def leaf_fingerprint(chain_pem: bytes) -> str:
    """sha256 (hex) of the first certificate of a PEM chain, in DER."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    certificate = x509.load_pem_x509_certificate(chain_pem)
    return hashlib.sha256(certificate.public_bytes(Encoding.DER)).hexdigest()


def _read_pem(path, what: str) -> bytes:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"{escape_text(os.fspath(path), 300)}: cannot read the signing {what} "
                          f"({exc.strerror or exc})") from None
    if b"-----BEGIN" not in data:
        raise ConfigError(f"{escape_text(os.fspath(path), 300)}: not a PEM {what}")
    return data


def _make_local_identity(folder: Path) -> None:
    """A P-256 local CA and a signing leaf under it, written with the key readable by the user only."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)  # clock skew
    user = os.environ.get("USER") or "user"
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "gan_explorer (local)"),
                         x509.NameAttribute(NameOID.COMMON_NAME, f"gan_explorer local CA of {user}")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=365 * CA_YEARS))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(ca_ski, critical=False)
          .sign(ca_key, hashes.SHA256()))
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf_name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "gan_explorer (local)"),
                           x509.NameAttribute(NameOID.COMMON_NAME, f"gan_explorer signer of {user}")])
    leaf = (x509.CertificateBuilder().subject_name(leaf_name).issuer_name(ca_name)
            .public_key(leaf_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=365 * LEAF_YEARS))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION,
                                                  x509.ObjectIdentifier(DOCUMENT_SIGNING_OID)]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(leaf_key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    key_pem = leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    # The key first: a chain without its key is remade, a key without its chain is overwritten.
    _write_private(folder / "signer.key", key_pem)
    _write_private(folder / "ca.pem", ca.public_bytes(pem))
    _write_private(folder / "signer.pem", leaf.public_bytes(pem) + ca.public_bytes(pem))


def _write_private(path: Path, data: bytes) -> None:
    """`data` into `path` through a 0600 temporary renamed over it: the file is never readable by
    others, not even for a moment, and a link at `path` is replaced, never followed."""
    try:
        info = os.lstat(path)
        if not stat.S_ISREG(info.st_mode):
            raise OutputError(f"{escape_text(os.fspath(path), 300)}: not a regular file; remove it so the signing "
                              "key can be made")
    except FileNotFoundError:
        pass
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
