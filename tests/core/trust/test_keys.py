import os
import stat

import pytest
from cryptography import x509

from gan_explorer.core.errors import ConfigError, OutputError
from gan_explorer.core.trust.keys import CERT_ENV, KEY_ENV, signing_identity, trust_dir


def test_the_key_is_made_on_first_use_readable_by_the_user_only(own_data_folder):
    identity = signing_identity()
    folder = trust_dir()
    assert folder.parent == own_data_folder and identity.source == "local"
    for name in ("signer.key", "signer.pem", "ca.pem"):
        assert stat.S_IMODE(os.stat(folder / name).st_mode) == 0o600, name
    assert stat.S_IMODE(os.stat(folder).st_mode) & 0o077 == 0
    assert signing_identity().fingerprint == identity.fingerprint  # kept, not made again


def test_the_leaf_has_the_key_identifiers_c2pa_requires():
    chain = x509.load_pem_x509_certificates(signing_identity().cert_chain_pem)
    leaf, ca = chain
    assert leaf.issuer == ca.subject
    aki = leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    assert leaf.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_a_link_where_the_key_goes_is_refused_and_its_target_kept(users_file):
    folder = trust_dir()
    folder.mkdir(parents=True)
    (folder / "signer.key").symlink_to(users_file)
    with pytest.raises(OutputError, match="not a regular file"):
        signing_identity()
    assert users_file.read_bytes() == b"the user's thesis\n"


def test_a_configured_certificate_needs_both_files(monkeypatch, tmp_path):
    monkeypatch.setenv(CERT_ENV, str(tmp_path / "mine.pem"))
    with pytest.raises(ConfigError, match=KEY_ENV):
        signing_identity()
    monkeypatch.setenv(KEY_ENV, str(tmp_path / "mine.key"))
    with pytest.raises(ConfigError, match="mine.pem: cannot read"):
        signing_identity()
