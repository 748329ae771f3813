"""Redactable signatures: a relay can withhold committed fields and change nothing else."""

from __future__ import annotations

import msgspec
import pytest

from tests.factories import KEYS, KEYSET, envelope, launch, trilateral
from warnlink.errors import LabelError, SignatureError
from warnlink.model import Envelope, TrackReport, decode, encode
from warnlink.security.commitments import SALT_BYTES, cleared, commitment, withhold
from warnlink.security.signing import PartyKey, countersign, sign, verify
from warnlink.sharing.inbound import accept
from warnlink.sharing.release import Outcome, decide

SENSOR_TO_USA = {"sensor": ("USA",)}


def _original() -> Envelope:
    return envelope(originator="ROK", rel_to=("JPN", "USA"), field_rel_to=SENSOR_TO_USA)


def _relayed(product: Envelope) -> bytes:
    return encode(countersign(product, KEYS["USA"].own))


def _refusal(data: bytes) -> LabelError | SignatureError:
    with pytest.raises((LabelError, SignatureError)) as info:
        accept(data, party="JPN", sender="USA", federation=trilateral(), keyset=KEYSET)
    assert isinstance(info.value, LabelError | SignatureError)
    return info.value


def test_a_redaction_is_the_originators_message_less_the_withheld_field() -> None:
    original = _original()
    decision = decide(original, "JPN")
    assert decision.outcome is Outcome.REDACTED
    product = decision.product
    assert product is not None
    got = accept(
        _relayed(product), party="JPN", sender="USA", federation=trilateral(), keyset=KEYSET
    )
    assert got.msg_id == original.msg_id
    assert got.issued_by == "ROK"
    assert got.withheld == ("sensor",)
    assert got.payload == msgspec.structs.replace(original.payload, sensor=None)
    assert "sensor" not in got.salts
    assert got.commitments == original.commitments


def test_every_committed_field_has_a_fresh_salt_per_message() -> None:
    first, second = _original(), envelope(originator="ROK", seq=2, field_rel_to=SENSOR_TO_USA)
    assert set(first.commitments) == set(TrackReport.releasable_fields)
    assert all(len(s) == SALT_BYTES for s in first.salts.values())
    assert len({*first.salts.values(), *second.salts.values()}) == 4
    assert first.commitments["sensor"] != second.commitments["sensor"]  # same value, hidden
    assert _original() == first  # derived from the issuer's secret: signing again repeats
    other_key = sign(msgspec.structs.replace(first, sig=b""), PartyKey.generate("ROK"))
    assert other_key.salts["sensor"] != first.salts["sensor"]


def test_a_changed_committed_value_is_refused() -> None:
    product = withhold(_original(), ("sensor",))
    changed = msgspec.structs.replace(
        product.payload, cov=tuple(200.0 if i in (0, 6, 11, 15, 18, 20) else 0.0 for i in range(21))
    )
    forged = msgspec.structs.replace(product, payload=changed)
    assert _refusal(_relayed(forged)).rule == "bad_commitment"


def test_a_changed_signed_value_is_refused() -> None:
    product = withhold(_original(), ("sensor",))
    assert isinstance(product.payload, TrackReport)
    moved = msgspec.structs.replace(product.payload, pos=(0.0, 0.0, 6_400_000.0))
    assert _refusal(_relayed(msgspec.structs.replace(product, payload=moved))).rule == "bad_sig"


def test_a_value_put_back_without_its_salt_is_refused() -> None:
    product = withhold(_original(), ("cov",))
    assert isinstance(product.payload, TrackReport)
    guessed = msgspec.structs.replace(product.payload, cov=_original().payload.cov)  # type: ignore[union-attr]
    assert _refusal(_relayed(msgspec.structs.replace(product, payload=guessed))).rule == (
        "bad_commitment"
    )


def test_a_withheld_field_with_its_salt_left_is_refused() -> None:
    original = _original()
    leaky = msgspec.structs.replace(
        original, payload=msgspec.structs.replace(original.payload, sensor=None)
    )
    assert _refusal(_relayed(leaky)).rule in {"withheld_field", "bad_commitment"}


def test_a_dropped_or_replaced_commitment_is_refused() -> None:
    product = withhold(_original(), ("sensor",))
    dropped = {f: c for f, c in product.commitments.items() if f != "sensor"}
    assert _refusal(_relayed(msgspec.structs.replace(product, commitments=dropped))).rule == (
        "bad_commitment"
    )
    other = commitment("sensor", b"\x00" * SALT_BYTES, "JPN-FAKE")
    replaced = {**product.commitments, "sensor": other}
    assert _refusal(_relayed(msgspec.structs.replace(product, commitments=replaced))).rule == (
        "bad_sig"
    )


def test_a_relay_cannot_relabel_or_renumber_a_redaction() -> None:
    product = withhold(_original(), ("sensor",))
    relabelled = msgspec.structs.replace(product, label=product.label.restricted_to("JPN"))
    assert _refusal(_relayed(relabelled)).rule == "bad_sig"
    renumbered = msgspec.structs.replace(product, msg_id="a" * 32)
    assert _refusal(_relayed(renumbered)).rule == "bad_sig"


def test_what_a_relay_passes_on_is_what_it_countersigned() -> None:
    data = _relayed(withhold(_original(), ("sensor",)))
    relayed = decode(data)
    # Withheld more, consistently, after the relay vouched for it.
    stripped = msgspec.structs.replace(withhold(relayed, ("cov",)), countersig=relayed.countersig)
    assert _refusal(encode(stripped)).rule == "bad_countersig"


def test_every_report_kind_redacts_and_verifies() -> None:
    original = envelope(
        launch(), originator="USA", rel_to=("JPN", "ROK"), field_rel_to={"range_class": ("ROK",)}
    )
    product = decide(original, "JPN").product
    assert product is not None
    verify(product, KEYSET)
    assert product.withheld == ("range_class",)


def test_clearing_fields_leaves_the_payload_as_replace_would_and_the_original_whole() -> None:
    payload = _original().payload
    both = cleared(payload, ("cov", "sensor"))
    assert both == msgspec.structs.replace(payload, cov=None, sensor=None)
    assert isinstance(payload, TrackReport)
    assert payload.sensor is not None
    assert payload.cov is not None
    with pytest.raises(ValueError, match="cannot be sent without"):
        cleared(payload, ("pos",))
