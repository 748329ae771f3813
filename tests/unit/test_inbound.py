"""The receiving edge refuses what a party may not accept, with typed errors."""

from __future__ import annotations

import msgspec
import pytest

from tests.factories import KEYS, KEYSET, envelope, trilateral
from warnlink.errors import DecodeError, LabelError, OversizedMessage
from warnlink.model import encode
from warnlink.security.signing import countersign, sign
from warnlink.sharing.inbound import accept


def _rule(data: bytes, *, party: str, sender: str) -> str:
    with pytest.raises(LabelError) as info:
        accept(data, party=party, sender=sender, federation=trilateral(), keyset=KEYSET)
    return info.value.rule


def test_accepts_a_released_message_from_a_link_peer() -> None:
    original = envelope(originator="USA", rel_to=("JPN", "ROK"))
    assert (
        accept(encode(original), party="JPN", sender="USA", federation=trilateral(), keyset=KEYSET)
        == original
    )


def test_accepts_relayed_message_of_another_originator() -> None:
    original = envelope(originator="ROK", rel_to=("JPN", "USA"), relayed_by="USA")
    assert (
        accept(encode(original), party="JPN", sender="USA", federation=trilateral(), keyset=KEYSET)
        == original
    )


def test_not_released_to_the_receiver() -> None:
    data = encode(envelope(originator="USA", rel_to=("ROK",)))
    assert _rule(data, party="JPN", sender="USA") == "not_released"


def test_withheld_field_present() -> None:
    data = encode(
        envelope(rel_to=("JPN", "USA"), field_rel_to={"sensor": ("USA",)}, relayed_by="USA")
    )
    assert _rule(data, party="JPN", sender="USA") == "withheld_field"


def test_sender_without_a_link() -> None:
    data = encode(envelope(originator="ROK", rel_to=("JPN",)))
    assert _rule(data, party="JPN", sender="ROK") == "no_link"


def test_peer_cannot_pass_on_another_partys_message() -> None:
    data = encode(envelope(originator="JPN", rel_to=("USA",)))
    assert _rule(data, party="USA", sender="ROK") == "wrong_sender"


def test_only_a_relay_may_issue_products() -> None:
    forged = msgspec.structs.replace(envelope(originator="USA", rel_to=("JPN",)), producer="ROK")
    assert _rule(encode(forged), party="JPN", sender="USA") == "wrong_producer"


def test_unknown_originator() -> None:
    data = encode(envelope(originator="PRK", rel_to=("JPN",)))
    assert _rule(data, party="JPN", sender="USA") == "unknown_party"


def test_garbage_and_oversized() -> None:
    with pytest.raises(DecodeError):
        accept(b"\xc1", party="JPN", sender="USA", federation=trilateral(), keyset=KEYSET)
    with pytest.raises(OversizedMessage):
        accept(b"\x00" * 70_000, party="JPN", sender="USA", federation=trilateral(), keyset=KEYSET)


def test_a_relay_issued_report_with_a_changed_position_is_refused() -> None:
    """Issue 17, finding 2: a relay re-issues ROK's track as its own product with
    another position; JPN must not take it as ROK's report."""
    original = envelope(originator="ROK", rel_to=("JPN", "USA"))
    rewritten = msgspec.structs.replace(
        original,
        payload=msgspec.structs.replace(original.payload, pos=(0.0, 0.0, 6_400_000.0)),
        producer="USA",
        derived_from=original.msg_id,
    )
    forged = countersign(sign(rewritten, KEYS["USA"].own), KEYS["USA"].own)
    assert _rule(encode(forged), party="JPN", sender="USA") == "relay_rewrite"
