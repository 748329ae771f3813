"""Tampered messages, at a node's edge (`inbound.accept`) and at the relay
(`Relay.handle` on a MemoryBus): every one refused with the right rule, none accepted,
and at the relay every refusal counted, audited and nothing forwarded."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.factories import KEYS, KEYSET, T0, impact, launch, mode_for, track, trilateral
from tests.property.counts import CASES
from tests.property.profiles import prop_settings
from warnlink.counters import Counters
from warnlink.errors import LabelError, MessageError, SignatureError
from warnlink.model import Envelope, Payload, SecurityLabel, decode, encode, new_envelope
from warnlink.model.time import ManualClock
from warnlink.security.signing import countersign, sign, signature_input
from warnlink.sharing.audit import AuditLog, first_broken
from warnlink.sharing.inbound import accept
from warnlink.sharing.relay import Relay
from warnlink.sharing.release import decide
from warnlink.sharing.replay import MemorySeenStore
from warnlink.sharing.subjects import ALL_NODE_INBOXES, relay_inbox
from warnlink.transport import Delivery, MemoryBus

FEDERATION = trilateral()
MEMBERS = ("JPN", "ROK", "USA")


@dataclass(frozen=True)
class Wire:
    """One delivery as it travels: to `party` on the link from `sender`."""

    envelope: Envelope
    party: str
    sender: str


payloads = st.one_of(
    st.builds(track, trk_id=st.integers(0, 2**31 - 1), sensor=st.sampled_from([None, "S-1"])),
    st.builds(launch, trk_id=st.integers(0, 2**31 - 1)),
    st.builds(impact, trk_id=st.integers(0, 2**31 - 1)),
)


def _signed(originator: str, payload: Payload, label: SecurityLabel, seq: int) -> Envelope:
    made = new_envelope(
        originator=originator,
        seq=seq,
        created=T0 + seq,
        label=label,
        payload=payload,
        data_mode=mode_for(payload),
    )
    return sign(made, KEYS[originator].own)


@st.composite
def deliveries(draw: st.DrawFn) -> Wire:
    """A genuine delivery to JPN that its edge accepts: USA's own message on the
    USA-JPN link, or ROK's message passed on by the relay at USA (forwarded or
    redacted, countersigned)."""
    payload = draw(payloads)
    seq = draw(st.integers(1, 10**6))
    if draw(st.booleans()):
        label = SecurityLabel("UNCLASSIFIED", ("JPN", "ROK"), {"sensor": ("JPN", "ROK")})
        return Wire(_signed("USA", payload, label, seq), "JPN", "USA")
    label = FEDERATION.label_for("ROK", payload.__struct_config__.tag)  # type: ignore[arg-type]
    original = _signed("ROK", payload, label, seq)
    product = decide(original, "JPN").product
    assert product is not None
    return Wire(countersign(product, KEYS["USA"].own), "JPN", "USA")


def _accept(wire: Wire, data: bytes | None = None) -> Envelope:
    return accept(
        encode(wire.envelope) if data is None else data,
        party=wire.party,
        sender=wire.sender,
        federation=FEDERATION,
        keyset=KEYSET,
    )


def _refused(wire: Wire, data: bytes | None = None) -> MessageError:
    CASES["tamper"] += 1
    with pytest.raises(MessageError) as info:
        _accept(wire, data)
    return info.value


@prop_settings(120)
@given(wire=deliveries())
def test_the_genuine_deliveries_are_accepted(wire: Wire) -> None:
    assert _accept(wire) == wire.envelope


def _flipped_is_refused_or_the_same(wire: Wire, data: bytes) -> None:
    """A changed byte is refused, or it decodes to exactly the signed envelope.

    The one way a changed byte is accepted: MessagePack's float64 0.0 (``cb`` and
    eight zero bytes) with its type byte turned into uint64 (``cf``) decodes to the
    same value, 0 read as 0.0; the signature is over the canonical re-encoding, so it
    verifies. No content changes (reported: the encoding is malleable, so the same
    signed message can arrive as two byte strings with two audit content hashes).
    """
    CASES["tamper"] += 1
    try:
        got = _accept(wire, data)
    except MessageError:
        return
    CASES["tamper.malleable"] += 1
    assert got == wire.envelope
    assert encode(got) == encode(wire.envelope)


@prop_settings(400)
@given(wire=deliveries(), data=st.data())
def test_any_single_byte_changed_is_refused(wire: Wire, data: st.DataObject) -> None:
    raw = bytearray(encode(wire.envelope))
    at = data.draw(st.integers(0, len(raw) - 1), label="at")
    raw[at] ^= data.draw(st.integers(1, 255), label="xor")
    _flipped_is_refused_or_the_same(wire, bytes(raw))  # anything but MessageError fails


def test_every_bit_of_one_message_flipped_is_refused() -> None:
    """Exhaustively, for one relayed product: each of its bits flipped in turn."""
    wire = _relayed_product()
    raw = encode(wire.envelope)
    for at in range(len(raw)):
        for bit in range(8):
            flipped = bytearray(raw)
            flipped[at] ^= 1 << bit
            _flipped_is_refused_or_the_same(wire, bytes(flipped))


def _relayed_product() -> Wire:
    label = FEDERATION.label_for("ROK", "track_report")
    original = _signed("ROK", track(sensor="ROK-R1"), label, 1)
    product = decide(original, "JPN").product
    assert product is not None
    return Wire(countersign(product, KEYS["USA"].own), "JPN", "USA")


labels = st.builds(
    SecurityLabel,
    st.just("UNCLASSIFIED"),
    st.sets(st.sampled_from(MEMBERS), min_size=1).map(lambda s: tuple(sorted(s))),
    st.dictionaries(
        st.sampled_from(["sensor", "cov", "range_class"]),
        st.sets(st.sampled_from(MEMBERS)).map(lambda s: tuple(sorted(s))),
        max_size=2,
    ),
)


def _keep_sigs(wire: Wire, **changes: object) -> Wire:
    """`wire` with envelope fields changed and its signatures left as they were."""
    return Wire(msgspec.structs.replace(wire.envelope, **changes), wire.party, wire.sender)


def _expect(exc: MessageError, kind: type[MessageError], rule: str) -> None:
    assert isinstance(exc, kind), exc
    assert getattr(exc, "rule", None) == rule, exc


@prop_settings(200)
@given(wire=deliveries(), label=labels)
def test_a_swapped_label_is_refused(wire: Wire, label: SecurityLabel) -> None:
    if label == wire.envelope.label:
        return
    _expect(_refused(_keep_sigs(wire, label=label)), SignatureError, "bad_sig")


@prop_settings(100)
@given(wire=deliveries(), extra=st.sampled_from(["AUS", "ROK", "USA"]))
def test_a_widened_or_stripped_label_is_refused(wire: Wire, extra: str) -> None:
    label = wire.envelope.label
    widened = SecurityLabel(
        label.classification,
        tuple(sorted({*label.rel_to, extra})),
        {f: tuple(sorted({*to, extra})) for f, to in label.field_rel_to.items()},
    )
    if widened != label:
        _expect(_refused(_keep_sigs(wire, label=widened)), SignatureError, "bad_sig")
    for field in label.field_rel_to:
        stripped = SecurityLabel(
            label.classification,
            label.rel_to,
            {f: to for f, to in label.field_rel_to.items() if f != field},
        )
        _expect(_refused(_keep_sigs(wire, label=stripped)), SignatureError, "bad_sig")


@prop_settings(100)
@given(wire=deliveries(), other=st.sampled_from(["ROK", "JPN", "AUS"]))
def test_resigned_by_another_party_is_refused(wire: Wire, other: str) -> None:
    """The same envelope signed with another party's real key."""
    envelope = wire.envelope
    if other == envelope.issued_by:
        return
    resigned = KEYS[other].own.private.sign(signature_input(envelope))
    _expect(_refused(_keep_sigs(wire, sig=resigned)), SignatureError, "bad_sig")


@prop_settings(100)
@given(wire=deliveries(), other=st.sampled_from(["ROK", "JPN"]))
def test_claimed_by_another_originator_and_resigned_is_refused(wire: Wire, other: str) -> None:
    """Originator changed to another party and signed with that party's real key (the
    party could do that for its own data, but not have the relay vouch for it)."""
    envelope = msgspec.structs.replace(wire.envelope, originator=other, producer=None)
    forged = sign(envelope, KEYS[other].own)
    _expect(_refused(Wire(forged, "JPN", "USA")), SignatureError, "no_countersig")
    vouched = countersign(forged, KEYS[other].own)  # countersigned, but not by the relay
    _expect(_refused(Wire(vouched, "JPN", "USA")), SignatureError, "bad_countersig")


@prop_settings(100)
@given(wire=deliveries(), signer=st.sampled_from(["ROK", "JPN"]))
def test_countersigned_with_a_non_relay_key_is_refused(wire: Wire, signer: str) -> None:
    if wire.envelope.originator == wire.sender:
        # A direct message carries no countersignature at all.
        forged = countersign(wire.envelope, KEYS[signer].own)
        _expect(
            _refused(Wire(forged, wire.party, wire.sender)), SignatureError, "unexpected_countersig"
        )
        return
    forged = countersign(wire.envelope, KEYS[signer].own)
    _expect(_refused(Wire(forged, wire.party, wire.sender)), SignatureError, "bad_countersig")


@prop_settings(100)
@given(wire=deliveries())
def test_replayed_through_the_wrong_link_is_refused(wire: Wire) -> None:
    envelope = wire.envelope
    # Over a link that does not exist (ROK and JPN share none).
    _expect(_refused(Wire(envelope, "JPN", "ROK")), LabelError, "no_link")
    _expect(_refused(Wire(envelope, "ROK", "JPN")), LabelError, "no_link")
    # Passed on by a peer that is not a relay: JPN's copy sent back by JPN to USA.
    if envelope.issued_by != "JPN":
        _expect(_refused(Wire(envelope, "USA", "JPN")), LabelError, "wrong_sender")
    # To another party over a real link: accepted only if the label releases it there.
    if "ROK" not in envelope.label.rel_to:
        _expect(_refused(Wire(envelope, "ROK", "USA")), LabelError, "not_released")
    else:
        assert _accept(Wire(envelope, "ROK", "USA")) == envelope


# --- at the relay ---------------------------------------------------------------------


@dataclass(frozen=True)
class RelayForgery:
    name: str
    subject: str
    data: bytes
    counter: str  # relay.rejected.<counter_key>
    rule: str


def _relay_input(payload: Payload, seq: int) -> Envelope:
    return _signed("ROK", payload, FEDERATION.label_for("ROK", payload.__struct_config__.tag), seq)  # type: ignore[arg-type]


def _relay_forgeries(
    genuine: Envelope, flip_at: int, xor: int, label: SecurityLabel
) -> list[RelayForgery]:
    inbox = relay_inbox("USA", "ROK")
    raw = bytearray(encode(genuine))
    raw[flip_at % len(raw)] ^= xor
    as_jpn = sign(msgspec.structs.replace(genuine, originator="JPN"), KEYS["JPN"].own)
    forgeries = [
        RelayForgery(
            "resigned_by_jpn",
            inbox,
            encode(
                msgspec.structs.replace(
                    genuine, sig=KEYS["JPN"].own.private.sign(signature_input(genuine))
                )
            ),
            "bad_signature",
            "bad_sig",
        ),
        RelayForgery("jpn_data_on_rok_link", inbox, encode(as_jpn), "mislabelled", "wrong_sender"),
        RelayForgery(
            "already_countersigned",
            inbox,
            encode(countersign(genuine, KEYS["USA"].own)),
            "bad_signature",
            "unexpected_countersig",
        ),
        RelayForgery(
            "from_a_stranger", relay_inbox("USA", "AUS"), encode(genuine), "mislabelled", "no_link"
        ),
        RelayForgery(
            "as_a_relay_product",
            inbox,
            encode(sign(msgspec.structs.replace(genuine, producer="ROK"), KEYS["ROK"].own)),
            "mislabelled",
            "wrong_sender",
        ),
    ]
    if not _same_message(bytes(raw), genuine):  # see _flipped_is_refused_or_the_same
        forgeries.append(RelayForgery("byte_flipped", inbox, bytes(raw), "", ""))
    if label != genuine.label:
        forgeries.append(
            RelayForgery(
                "label_swapped",
                inbox,
                encode(msgspec.structs.replace(genuine, label=label)),
                "bad_signature",
                "bad_sig",
            )
        )
    return forgeries


def _same_message(data: bytes, envelope: Envelope) -> bool:
    try:
        return decode(data) == envelope
    except MessageError:
        return False


async def _run_relay(forgeries: list[RelayForgery], genuine: Envelope) -> None:
    clock = ManualClock(T0)
    bus = MemoryBus(None, clock=clock)
    audit = AuditLog()
    counters = Counters()
    relay = Relay(
        "USA",
        FEDERATION,
        bus,
        clock,
        audit=audit,
        counters=counters,
        keys=KEYS["USA"],
        seen=MemorySeenStore(),
    )
    observer = await bus.subscribe(ALL_NODE_INBOXES, durable="observer")
    try:
        for seq, forgery in enumerate(forgeries, start=1):
            before = len(audit)
            CASES["tamper.relay"] += 1
            decisions = await relay.handle(
                Delivery(
                    subject=forgery.subject,
                    data=forgery.data,
                    seq=seq,
                    msg_id=f"f{seq}",
                    published_ns=T0,
                    redelivered=False,
                )
            )
            assert decisions == [], forgery.name
            (entry,) = list(audit)[before:]
            assert entry.outcome == "rejected", forgery.name
            if forgery.rule:
                assert entry.reason == forgery.rule, (forgery.name, entry.reason)
                assert counters.get(f"relay.rejected.{forgery.counter}") >= 1, forgery.name
            assert await observer.next(timeout_s=0) is None, f"{forgery.name} was forwarded"
        rejected = sum(v for k, v in counters.as_dict().items() if k.startswith("relay.rejected."))
        assert rejected == len(forgeries)
        # The genuine message still goes through to JPN (without the sensor); USA, the
        # relay's host, gets ROK's reports directly from ROK (`sharing.routing`).
        decisions = await relay.handle(
            Delivery(relay_inbox("USA", "ROK"), encode(genuine), 999, "genuine", T0, False)
        )
        assert {d.recipient for d in decisions} == {"JPN"}
        assert first_broken(list(audit)) is None
    finally:
        await observer.close()
        await bus.close()


@prop_settings(60)
@given(
    payload=payloads,
    seq=st.integers(1, 10**6),
    flip_at=st.integers(0, 10**4),
    xor=st.integers(1, 255),
    label=labels,
)
def test_the_relay_counts_audits_and_never_forwards_a_tampered_message(
    payload: Payload, seq: int, flip_at: int, xor: int, label: SecurityLabel
) -> None:
    genuine = _relay_input(payload, seq)
    asyncio.run(_run_relay(_relay_forgeries(genuine, flip_at, xor, label), genuine))


def test_flip_helper_targets_are_real() -> None:
    """The forgeries above start from messages the relay and JPN do accept."""
    genuine = _relay_input(track(), 1)
    assert genuine.originator == "ROK"
    assert _accept(_relayed_product()).withheld == ("sensor",)  # ROK's, sensor withheld
