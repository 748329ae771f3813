"""Ed25519 signatures: round trip, determinism, tampering, keys on disk, the CLI."""

from __future__ import annotations

import msgspec
import pytest
from cryptography.exceptions import InvalidSignature
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.factories import KEYS, KEYSET, envelope, impact, trilateral
from warnlink.errors import ConfigError, SignatureError, UnknownSigner
from warnlink.model import SecurityLabel, decode, encode
from warnlink.security.merkle import leaf_hash
from warnlink.security.signing import (
    KeySet,
    countersign,
    ephemeral_keys,
    root_message,
    sign,
    signature_input,
    signed_bytes,
    verify,
    verify_countersig,
)
from warnlink.sharing.inbound import accept


def _refused(data: bytes, *, party: str = "JPN", sender: str = "USA") -> SignatureError:
    with pytest.raises(SignatureError) as info:
        accept(data, party=party, sender=sender, federation=trilateral(), keyset=KEYSET)
    return info.value


def test_sign_verify_round_trip_through_the_codec() -> None:
    signed = envelope(originator="USA", rel_to=("JPN", "ROK"))
    assert len(signed.sig) == 64
    for fmt in ("msgpack", "json"):
        back = decode(encode(signed, fmt), fmt)
        assert back == signed
        verify(back, KEYSET)
    relayed = countersign(envelope(originator="ROK"), KEYS["USA"].own)
    verify_countersig(decode(encode(relayed)), "USA", KEYSET)


def test_signed_bytes_are_deterministic_and_ignore_the_signatures() -> None:
    bare = envelope(originator="USA")
    again = decode(encode(bare, "json"), "json")
    assert signed_bytes(bare) == signed_bytes(again)
    relayed = countersign(bare, KEYS["USA"].own)
    assert signed_bytes(relayed) == signed_bytes(bare)
    assert signed_bytes(msgspec.structs.replace(bare, seq=2)) != signed_bytes(bare)


def test_unsigned_message_is_refused() -> None:
    unsigned = msgspec.structs.replace(envelope(originator="USA", rel_to=("JPN",)), sig=b"")
    assert _refused(encode(unsigned)).rule == "unsigned"


def test_flipped_payload_byte_is_refused() -> None:
    signed = envelope(originator="USA", rel_to=("JPN",), payload=impact(trk_id=3))
    data = bytearray(encode(signed))
    marker = encode(msgspec.structs.replace(signed, payload=impact(trk_id=4)))
    # The one byte where the two encodings differ is the payload's trk_id.
    (at,) = [i for i, (a, b) in enumerate(zip(data, marker, strict=True)) if a != b]
    data[at] ^= 0x07
    error = _refused(bytes(data))
    assert error.rule == "bad_sig"
    assert error.counter_key == "bad_signature"


@pytest.mark.parametrize(
    "label",
    [
        SecurityLabel("UNCLASSIFIED", ("JPN", "ROK")),  # widened
        SecurityLabel("SECRET", ("JPN",)),  # classification changed
        SecurityLabel("UNCLASSIFIED", ("JPN",), {}),  # field restriction stripped
    ],
)
def test_changed_or_stripped_label_is_refused(label: SecurityLabel) -> None:
    signed = envelope(
        originator="USA", rel_to=("JPN",), field_rel_to={"sensor": ("JPN",)}, payload=None
    )
    assert signed.label != label
    forged = msgspec.structs.replace(signed, label=label)
    assert _refused(encode(forged)).rule == "bad_sig"


def test_label_swapped_from_another_signed_message_is_refused() -> None:
    first = envelope(originator="USA", rel_to=("JPN",), seq=1)
    second = envelope(originator="USA", rel_to=("JPN", "ROK"), seq=2)
    swapped = msgspec.structs.replace(first, label=second.label)
    assert _refused(encode(swapped)).rule == "bad_sig"


def test_resigned_by_another_party_is_refused() -> None:
    usa = envelope(originator="USA", rel_to=("JPN",))
    by_rok = msgspec.structs.replace(usa, sig=KEYS["ROK"].own.private.sign(signature_input(usa)))
    assert _refused(encode(by_rok)).rule == "bad_sig"
    with pytest.raises(ConfigError, match="cannot sign"):
        sign(usa, KEYS["ROK"].own)


def test_relayed_message_without_countersignature_is_refused() -> None:
    rok = envelope(originator="ROK", rel_to=("JPN",))
    assert _refused(encode(rok)).rule == "no_countersig"


def test_forged_countersignature_is_refused() -> None:
    rok = envelope(originator="ROK", rel_to=("JPN",))
    by_jpn = msgspec.structs.replace(rok, countersig=countersign(rok, KEYS["JPN"].own).countersig)
    assert _refused(encode(by_jpn)).rule == "bad_countersig"
    # A genuine countersignature moved to another message of the same originator.
    other = envelope(originator="ROK", rel_to=("JPN",), seq=2)
    moved = msgspec.structs.replace(other, countersig=countersign(rok, KEYS["USA"].own).countersig)
    assert _refused(encode(moved)).rule == "bad_countersig"


def test_direct_message_with_a_countersignature_is_refused() -> None:
    usa = countersign(envelope(originator="USA", rel_to=("JPN",)), KEYS["USA"].own)
    assert _refused(encode(usa)).rule == "unexpected_countersig"


def test_unknown_signer_is_refused() -> None:
    partial = KeySet({p: KEYSET.public_raw(p) for p in ("JPN", "ROK")})
    with pytest.raises(UnknownSigner) as info:
        accept(
            encode(envelope(originator="USA", rel_to=("JPN",))),
            party="JPN",
            sender="USA",
            federation=trilateral(),
            keyset=partial,
        )
    assert info.value.counter_key == "unknown_signer"
    assert info.value.signer == "USA"


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_single_byte_change_of_the_signed_bytes_fails(data: st.DataObject) -> None:
    signed = envelope(originator="USA", rel_to=("JPN",), field_rel_to={"sensor": ("JPN",)})
    message = bytearray(signed_bytes(signed))
    public = KEYSET.public_key("USA")
    assert signature_input(signed) == root_message(leaf_hash(bytes(message)), 1)
    public.verify(signed.sig, signature_input(signed))
    at = data.draw(st.integers(0, len(message) - 1))
    message[at] ^= data.draw(st.integers(1, 255))
    with pytest.raises(InvalidSignature):
        public.verify(signed.sig, root_message(leaf_hash(bytes(message)), 1))


def test_ephemeral_keys_share_one_key_set() -> None:
    keys = ephemeral_keys(["A1", "B2"])
    assert keys["A1"].keyset is keys["B2"].keyset
