"""Key stores: where a party's signing key and the trusted key set are kept.

`KeyStore` is the interface every node reads its keys through. Two implementations
pass one conformance test (tests/unit/test_keystore.py):

- `DirectoryKeyStore`: a folder made by `warnlink keys init`: each party's private key
  in a PEM (PKCS#8) file only its owner can read (mode 0o600), and one public key set
  (``keyset.json``: party -> raw Ed25519 public key in base64) that every party trusts.
  In a real deployment each party's folder holds its own key and the key set only.
- `MemoryKeyStore`: keys held in memory (tests, benchmarks, embedded runs).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Final, Protocol

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from warnlink.errors import ConfigError
from warnlink.security.signing import KeySet, PartyKey, PartyKeys
from warnlink.transport.private import private_file, private_folder

KEYSET_FILE: Final = "keyset.json"
#: The folder, inside a demo or deployment data folder, that `init_keys` fills.
KEYS_DIR: Final = "keys"


class KeyStore(Protocol):
    """Where one or more parties' keys are kept."""

    def keyset(self) -> KeySet:
        """The public keys every party trusts."""
        ...

    def party_keys(self, party: str) -> PartyKeys:
        """`party`'s own signing key and the trusted key set.

        Raises:
            ConfigError: the store holds no key for `party`, or it does not match the key set.
        """
        ...


class MemoryKeyStore:
    """Keys in memory; `generate` makes fresh random ones."""

    def __init__(self, keys: Iterable[PartyKey]) -> None:
        self._keys = {k.party: k for k in keys}
        self._keyset = KeySet.of(self._keys.values())

    @classmethod
    def generate(cls, parties: Iterable[str]) -> MemoryKeyStore:
        return cls(PartyKey.generate(p) for p in parties)

    def keyset(self) -> KeySet:
        return self._keyset

    def party_keys(self, party: str) -> PartyKeys:
        key = self._keys.get(party)
        if key is None:
            raise ConfigError(f"no signing key for {party} in this key store")
        return PartyKeys(key, self._keyset)


class DirectoryKeyStore:
    """Keys in a folder made by `init_keys` (``warnlink keys init``)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def keyset(self) -> KeySet:
        return load_keyset(self.folder)

    def party_keys(self, party: str) -> PartyKeys:
        return load_party_keys(self.folder, party)


def private_key_path(folder: Path, party: str) -> Path:
    return folder / f"{party}.key"


def init_keys(folder: Path, parties: Iterable[str], *, demo_seed: int | None = None) -> KeySet:
    """Create a signing key per party in `folder` (mode 0o600) and the public key set.

    Refuses to overwrite an existing key file. Keys are random unless `demo_seed` is
    given: then each key follows from the seed and the party's code, so that a demo
    run, audit hashes included, is reproducible. Such keys are public knowledge and
    only for the demo; ``warnlink keys init`` and ``warnlink up`` never make them.
    """
    private_folder(folder)
    keys = [PartyKey.generate(p) if demo_seed is None else _demo_key(p, demo_seed) for p in parties]
    for path in [private_key_path(folder, k.party) for k in keys] + [folder / KEYSET_FILE]:
        if path.exists():
            raise ConfigError("a key file already exists; refusing to overwrite it", path=str(path))
    for key in keys:
        path = private_key_path(folder, key.party)
        pem = key.private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError as exc:
            raise ConfigError(
                "a key already exists; refusing to overwrite it", path=str(path)
            ) from exc
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
    keyset = KeySet.of(keys)
    private_file(folder / KEYSET_FILE).write_text(keyset.to_json(), encoding="utf-8")
    return keyset


def _demo_key(party: str, seed: int) -> PartyKey:
    secret = hashlib.sha256(f"warnlink-demo-key/{seed}/{party}".encode()).digest()
    return PartyKey(party, Ed25519PrivateKey.from_private_bytes(secret))


def load_keyset(folder: Path) -> KeySet:
    """The key set in a folder made by `init_keys`."""
    return read_keyset(folder / KEYSET_FILE)


def read_keyset(path: Path) -> KeySet:
    """A public key set file (``keyset.json``).

    Raises:
        ConfigError: it cannot be read or is not a key set.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read key set: {exc}", path=str(path)) from exc
    return KeySet.from_json(text, path=str(path))


def load_party_key(folder: Path, party: str) -> PartyKey:
    path = private_key_path(folder, party)
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigError(f"cannot load {party}'s signing key: {exc}", path=str(path)) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"{party}'s key is not an Ed25519 key", path=str(path))
    return PartyKey(party, key)


def load_party_keys(folder: Path, party: str) -> PartyKeys:
    """A party's own key and the trusted key set, from a `init_keys` folder."""
    own = load_party_key(folder, party)
    keyset = load_keyset(folder)
    if (
        keyset.public_key(party).public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        != own.public_raw()
    ):
        raise ConfigError(f"{party}'s key does not match the key set", path=str(folder))
    return PartyKeys(own, keyset)
