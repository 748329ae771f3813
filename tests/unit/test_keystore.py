"""Key stores: one conformance test for every store, and the folder layout."""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.factories import KEYSET, TRILATERAL, envelope, trilateral
from warnlink.cli import main
from warnlink.errors import ConfigError, SignatureError
from warnlink.security.keystore import (
    DirectoryKeyStore,
    KeyStore,
    MemoryKeyStore,
    init_keys,
    load_keyset,
    load_party_keys,
)
from warnlink.security.signing import sign, verify

PARTIES = ("JPN", "ROK", "USA")


def _directory(tmp_path: Path) -> KeyStore:
    init_keys(tmp_path / "keys", PARTIES)
    return DirectoryKeyStore(tmp_path / "keys")


def _memory(tmp_path: Path) -> KeyStore:
    return MemoryKeyStore.generate(PARTIES)


STORES = {"directory": _directory, "memory": _memory}


@pytest.mark.parametrize("make", STORES.values(), ids=list(STORES))
def test_key_store_conformance(make: Callable[[Path], KeyStore], tmp_path: Path) -> None:
    store = make(tmp_path)
    keyset = store.keyset()
    assert keyset.parties == PARTIES
    for party in PARTIES:
        keys = store.party_keys(party)
        assert keys.party == party
        assert keys.keyset.public_raw(party) == keyset.public_raw(party)
        made = sign(envelope(originator=party, rel_to=("USA",)), keys.own)
        verify(made, keyset)
        with pytest.raises(SignatureError):
            verify(made, KEYSET)  # another federation's keys
    with pytest.raises(ConfigError):
        store.party_keys("CHN")


def test_keys_on_disk(tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    keyset = init_keys(folder, trilateral().parties)
    assert keyset.parties == ("JPN", "ROK", "USA")
    for party in keyset.parties:
        mode = stat.S_IMODE((folder / f"{party}.key").stat().st_mode)
        assert mode == 0o600
    assert load_keyset(folder).parties == keyset.parties
    rok = load_party_keys(folder, "ROK")
    made = sign(envelope(originator="ROK", rel_to=("USA",)), rok.own)
    verify(made, load_keyset(folder))
    with pytest.raises(SignatureError):
        verify(made, KEYSET)  # another federation's keys
    with pytest.raises(ConfigError, match="already exists"):
        init_keys(folder, ["ROK"])


def test_mismatched_key_file_is_a_config_error(tmp_path: Path) -> None:
    init_keys(tmp_path / "a", ["ROK"])
    init_keys(tmp_path / "b", ["ROK"])
    (tmp_path / "a" / "ROK.key").replace(tmp_path / "b" / "ROK.key")
    with pytest.raises(ConfigError, match="does not match"):
        load_party_keys(tmp_path / "b", "ROK")


def test_keys_init_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "init", str(tmp_path / "k"), "--config", str(TRILATERAL)]) == 0
    assert "keyset.json" in capsys.readouterr().out
    keys = load_party_keys(tmp_path / "k", "JPN")
    assert keys.keyset.parties == ("JPN", "ROK", "USA")
    assert main(["keys", "init", str(tmp_path / "k")]) == 2


def test_demo_keys_follow_the_seed_and_others_are_random(tmp_path: Path) -> None:
    one = init_keys(tmp_path / "a", ["ROK"], demo_seed=1)
    again = init_keys(tmp_path / "b", ["ROK"], demo_seed=1)
    other_seed = init_keys(tmp_path / "c", ["ROK"], demo_seed=2)
    random_1 = init_keys(tmp_path / "d", ["ROK"])
    random_2 = init_keys(tmp_path / "e", ["ROK"])
    assert one.public_raw("ROK") == again.public_raw("ROK")
    assert one.public_raw("ROK") != other_seed.public_raw("ROK")
    assert random_1.public_raw("ROK") != random_2.public_raw("ROK")
