"""Gateways and the relay on a real MemoryBus: routes, release, bad input."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest

from tests.factories import KEYS, KEYSET, T0, envelope, impact, track, trilateral
from warnlink.model import SCHEMA_VERSION, Envelope, SecurityLabel, decode, encode
from warnlink.model.record import DataMode
from warnlink.model.time import NS_PER_S, Clock, ManualClock
from warnlink.node import Node
from warnlink.security.signing import countersign, sign, signed_bytes, verify, verify_countersig
from warnlink.sharing.audit import first_broken
from warnlink.sharing.subjects import node_inbox, relay_inbox
from warnlink.transport import Bus, MemoryBus


class Federated:
    """Three nodes of the trilateral federation on one bus."""

    def __init__(self, bus: MemoryBus, clock: ManualClock, nodes: dict[str, Node]) -> None:
        self.bus = bus
        self.clock = clock
        self.nodes = nodes

    async def settle(self) -> None:
        await self.bus.wait_idle()


class SkewedClock:
    """A party's clock running `offset_s` off the federation's clock."""

    def __init__(self, base: ManualClock, offset_s: float) -> None:
        self.base = base
        self.offset_ns = round(offset_s * NS_PER_S)

    def now_ns(self) -> int:
        return self.base.now_ns() + self.offset_ns

    def monotonic_ns(self) -> int:
        return self.base.monotonic_ns()


@contextlib.asynccontextmanager
async def federated(
    tmp_path: Path, *, window_s: float | None = None, skew_s: dict[str, float] | None = None
) -> AsyncIterator[Federated]:
    """The trilateral federation running; `window_s` replaces the freshness window,
    `skew_s` sets parties' clocks off by that many seconds."""
    clock = ManualClock(T0)
    bus = MemoryBus(tmp_path / "bus", clock=clock)
    federation = trilateral()
    if window_s is not None:
        federation = dataclasses.replace(federation, freshness_window_s=window_s)
    skew = skew_s or {}
    clocks: dict[str, Clock] = {
        p: SkewedClock(clock, skew[p]) if p in skew else clock for p in federation.parties
    }
    nodes = {
        p: Node(p, federation, bus, clocks[p], keys=KEYS[p], audit_dir=tmp_path)
        for p in federation.parties
    }
    for node in nodes.values():
        await node.start()
    yield Federated(bus, clock, nodes)
    for node in nodes.values():
        await node.stop()
    await bus.close()


@pytest.fixture
async def fed(tmp_path: Path) -> AsyncIterator[Federated]:
    async with federated(tmp_path) as running:
        yield running


@contextlib.asynccontextmanager
async def capturing(bus: Bus, subject: str) -> AsyncIterator[list[bytes]]:
    """Every message published on `subject` while open, as bytes."""
    seen: list[bytes] = []
    inbox = await bus.subscribe(subject, durable=f"test-capture-{len(subject)}")

    async def observe() -> None:
        async for delivery in inbox:
            seen.append(delivery.data)
            await inbox.ack(delivery)

    task = asyncio.create_task(observe())
    try:
        yield seen
    finally:
        await inbox.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_rok_track_reaches_jpn_only_through_the_relay_without_sensor(fed: Federated) -> None:
    sent = await fed.nodes["ROK"].gateway.send(track(sensor="ROK-R1"), data_mode=DataMode.REAL)
    await fed.settle()
    jpn, usa = fed.nodes["JPN"].picture, fed.nodes["USA"].picture
    assert jpn.received_from["ROK"] == 1
    assert usa.received_from["ROK"] == 1
    (jpn_event,) = jpn.events.values()
    (contribution,) = jpn_event.contributions.values()
    assert contribution.track is not None
    assert contribution.track.sensor is None
    assert contribution.msg_ids == [sent.msg_id]  # ROK's message, its sensor withheld
    (usa_event,) = usa.events.values()
    assert next(iter(usa_event.contributions.values())).track.sensor == "ROK-R1"  # type: ignore[union-attr]
    counters = fed.nodes["USA"].counters
    assert counters.get("relay.redacted") == 1
    assert counters.get("relay.forwarded") == 0  # USA hosts the relay, and is sent directly
    assert counters.get("path.ROK.ROK") == 1


async def test_jpn_tracks_are_refused_for_rok(fed: Federated) -> None:
    await fed.nodes["JPN"].gateway.send(track(trk_id=7), data_mode=DataMode.REAL)
    await fed.nodes["JPN"].gateway.send(impact(trk_id=7), data_mode=DataMode.REAL)
    await fed.settle()
    assert fed.nodes["ROK"].picture.received_from["JPN"] == 1  # the impact prediction only
    assert fed.nodes["USA"].picture.received_from["JPN"] == 2
    relay_log = list(fed.nodes["USA"].relay.audit)  # type: ignore[union-attr]
    # The track goes to USA directly: the relay, which passes on to ROK only, never
    # sees it; the impact prediction passes through it for ROK.
    assert [(e.recipient, e.kind, e.outcome) for e in relay_log] == [
        ("ROK", "impact_prediction", "forwarded")
    ]
    assert first_broken(relay_log) is None


async def test_usa_sends_directly_to_both_allies(fed: Federated) -> None:
    await fed.nodes["USA"].gateway.send(impact(trk_id=3), data_mode=DataMode.REAL)
    await fed.settle()
    assert fed.nodes["ROK"].picture.received_from["USA"] == 1
    assert fed.nodes["JPN"].picture.received_from["USA"] == 1
    assert len(fed.nodes["USA"].relay.audit) == 0  # type: ignore[union-attr]


async def test_heartbeats_reach_link_peers_only(fed: Federated) -> None:
    for node in fed.nodes.values():
        await node.tick()
    await fed.settle()
    assert set(fed.nodes["USA"].picture.heartbeats) == {"ROK", "JPN"}
    assert set(fed.nodes["JPN"].picture.heartbeats) == {"USA"}
    assert set(fed.nodes["ROK"].picture.heartbeats) == {"USA"}


def _bad_inputs() -> dict[str, bytes]:
    good = encode(envelope(originator="ROK", rel_to=("JPN", "USA")))
    raw = msgspec.msgpack.decode(good)
    future = dict(raw, schema=SCHEMA_VERSION + 1)
    mislabelled = encode(envelope(originator="ROK", rel_to=("USA",), seq=9, relayed_by="USA"))
    return {
        "malformed": b"\x93\x01\x02",
        "oversized": b"\x00" * 70_000,
        "unknown_version": msgspec.msgpack.encode(future),
        "mislabelled": mislabelled,
    }


@pytest.mark.parametrize("kind", ["malformed", "oversized", "unknown_version", "mislabelled"])
async def test_bad_input_at_a_node_is_counted_and_the_link_keeps_flowing(
    fed: Federated, kind: str
) -> None:
    await fed.bus.publish(node_inbox("JPN", "USA"), _bad_inputs()[kind], msg_id=f"bad-{kind}")
    await fed.nodes["USA"].gateway.send(impact(trk_id=4), data_mode=DataMode.REAL)
    await fed.settle()
    jpn = fed.nodes["JPN"]
    assert jpn.counters.get(f"rejected.{kind}") == 1
    assert jpn.picture.received_from["USA"] == 1


@pytest.mark.parametrize("kind", ["malformed", "oversized", "unknown_version"])
async def test_bad_input_at_the_relay_is_audited_and_the_link_keeps_flowing(
    fed: Federated, kind: str
) -> None:
    await fed.bus.publish(relay_inbox("USA", "ROK"), _bad_inputs()[kind], msg_id=f"bad-{kind}")
    await fed.nodes["ROK"].gateway.send(impact(trk_id=5), data_mode=DataMode.REAL)
    await fed.settle()
    usa = fed.nodes["USA"]
    assert usa.counters.get(f"relay.rejected.{kind}") == 1
    rejected = [e for e in usa.relay.audit if e.outcome == "rejected"]  # type: ignore[union-attr]
    assert len(rejected) == 1
    assert fed.nodes["JPN"].picture.received_from["ROK"] == 1


async def test_relay_refuses_a_message_sent_in_another_partys_name(fed: Federated) -> None:
    forged = encode(envelope(originator="JPN", rel_to=("ROK", "USA")))
    await fed.bus.publish(relay_inbox("USA", "ROK"), forged, msg_id="forged")
    await fed.settle()
    assert fed.nodes["USA"].counters.get("relay.rejected.mislabelled") == 1
    assert fed.nodes["ROK"].picture.received_from["JPN"] == 0
    assert fed.nodes["USA"].picture.received_from["JPN"] == 0


async def test_redelivered_message_is_applied_once(fed: Federated) -> None:
    original = envelope(originator="USA", rel_to=("JPN", "ROK"))
    for i in range(2):
        await fed.bus.publish(node_inbox("JPN", "USA"), encode(original), msg_id=f"copy-{i}")
    await fed.settle()
    assert fed.nodes["JPN"].picture.received_from["USA"] == 1


async def test_relay_outage_delays_but_loses_nothing(fed: Federated, tmp_path: Path) -> None:
    usa = fed.nodes["USA"]
    await usa.stop()
    for trk_id in range(1, 6):
        await fed.nodes["ROK"].gateway.send(impact(trk_id=trk_id), data_mode=DataMode.REAL)
    await fed.settle()
    assert fed.nodes["JPN"].picture.received_from["ROK"] == 0
    restarted = Node("USA", trilateral(), fed.bus, fed.clock, keys=KEYS["USA"], audit_dir=tmp_path)
    fed.nodes["USA"] = restarted
    await restarted.start()
    await fed.settle()
    assert fed.nodes["JPN"].picture.received_from["ROK"] == 5
    assert restarted.picture.received_from["ROK"] == 5


def _tampered_for_jpn() -> dict[str, bytes]:
    """Deliveries to JPN from USA that decode and are labelled for JPN, but are forged."""
    relayed = envelope(originator="ROK", rel_to=("JPN", "USA"), seq=20, relayed_by="USA")
    widened = msgspec.structs.replace(
        envelope(originator="ROK", rel_to=("USA",), seq=21, relayed_by="USA"),
        label=relayed.label,
    )
    own = envelope(originator="USA", rel_to=("JPN",), seq=22, payload=impact(trk_id=9))
    flipped = msgspec.structs.replace(own, payload=impact(trk_id=10))
    resigned = msgspec.structs.replace(
        own, sig=KEYS["JPN"].own.private.sign(signed_bytes(own)), seq=23
    )
    return {
        "label_widened": encode(widened),
        "payload_changed": encode(flipped),
        "resigned_as_another_party": encode(resigned),
        "countersig_stripped": encode(msgspec.structs.replace(relayed, countersig=b"")),
        "countersig_forged": encode(
            msgspec.structs.replace(
                relayed, countersig=countersign(relayed, KEYS["ROK"].own).countersig
            )
        ),
    }


@pytest.mark.parametrize(
    "forgery",
    [
        "label_widened",
        "payload_changed",
        "resigned_as_another_party",
        "countersig_stripped",
        "countersig_forged",
    ],
)
async def test_forged_signature_at_a_node_is_counted_and_the_link_keeps_flowing(
    fed: Federated, forgery: str
) -> None:
    data = _tampered_for_jpn()[forgery]
    await fed.bus.publish(node_inbox("JPN", "USA"), data, msg_id=f"forged-{forgery}")
    await fed.nodes["USA"].gateway.send(impact(trk_id=4), data_mode=DataMode.REAL)
    await fed.settle()
    jpn = fed.nodes["JPN"]
    assert jpn.counters.get("rejected.bad_signature") == 1
    assert jpn.picture.received_from["USA"] == 1
    assert jpn.picture.received_from["ROK"] == 0


async def test_relay_refuses_a_tampered_message_before_deciding(fed: Federated) -> None:
    signed = envelope(originator="ROK", rel_to=("USA",), seq=30)
    widened = msgspec.structs.replace(signed, label=SecurityLabel("UNCLASSIFIED", ("JPN", "USA")))
    await fed.bus.publish(relay_inbox("USA", "ROK"), encode(widened), msg_id="widened")
    await fed.nodes["ROK"].gateway.send(impact(trk_id=5), data_mode=DataMode.REAL)
    await fed.settle()
    usa = fed.nodes["USA"]
    assert usa.counters.get("relay.rejected.bad_signature") == 1
    rejected = [e for e in usa.relay.audit if e.outcome == "rejected"]  # type: ignore[union-attr]
    assert [(e.msg_id, e.reason) for e in rejected] == [(signed.msg_id, "bad_sig")]
    assert fed.nodes["JPN"].picture.received_from["ROK"] == 1  # the genuine one only
    assert fed.nodes["JPN"].counters.get("rejected.bad_signature") == 0


async def test_relay_products_are_countersigned_and_redactions_stay_the_originators(
    fed: Federated,
) -> None:
    async with capturing(fed.bus, node_inbox("JPN", "USA")) as seen:
        await fed.nodes["ROK"].gateway.send(track(sensor="ROK-R1"), data_mode=DataMode.REAL)
        await fed.nodes["ROK"].gateway.send(impact(trk_id=6), data_mode=DataMode.REAL)
        await fed.settle()
    products = [decode(data) for data in seen]
    assert sorted(p.kind for p in products) == ["impact_prediction", "track_report"]
    for product in products:
        verify(product, KEYSET)
        verify_countersig(product, "USA", KEYSET)
    (redacted,) = [p for p in products if p.kind == "track_report"]
    assert redacted.producer is None  # ROK's signature, the sensor withheld
    assert redacted.withheld == ("sensor",)
    (forwarded,) = [p for p in products if p.kind == "impact_prediction"]
    assert forwarded.producer is None  # ROK's own signature, passed on unaltered


async def test_a_report_rewritten_and_issued_by_the_relay_is_refused(
    fed: Federated, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 17, finding 2, end to end: USA's relay re-issues ROK's track with another
    position as its own product; JPN refuses it and the link keeps flowing."""
    async with capturing(fed.bus, node_inbox("JPN", "USA")) as seen:
        await fed.nodes["ROK"].gateway.send(track(trk_id=2), data_mode=DataMode.REAL)
        await fed.settle()
    genuine = decode(seen[0])
    moved = msgspec.structs.replace(genuine.payload, pos=(0.0, 0.0, 6_400_000.0), trk_id=3)
    rewritten = msgspec.structs.replace(
        genuine,
        msg_id="e" * 32,
        seq=genuine.seq + 1,
        payload=moved,
        producer="USA",
        derived_from=genuine.msg_id,
    )
    forged = countersign(sign(rewritten, KEYS["USA"].own), KEYS["USA"].own)
    await fed.bus.publish(node_inbox("JPN", "USA"), encode(forged), msg_id="rewritten")
    await fed.nodes["ROK"].gateway.send(impact(trk_id=2), data_mode=DataMode.REAL)
    await fed.settle()
    jpn = fed.nodes["JPN"]
    assert jpn.counters.get("rejected.mislabelled") == 1
    assert jpn.picture.received_from["ROK"] == 2  # the genuine track and impact only
    assert "only its originator may" in caplog.text  # rule relay_rewrite


async def test_relay_refuses_an_input_already_countersigned(fed: Federated) -> None:
    countersigned = envelope(originator="ROK", rel_to=("JPN", "USA"), seq=31, relayed_by="USA")
    await fed.bus.publish(relay_inbox("USA", "ROK"), encode(countersigned), msg_id="pre-signed")
    await fed.settle()
    usa = fed.nodes["USA"]
    assert usa.counters.get("relay.rejected.bad_signature") == 1
    assert fed.nodes["JPN"].picture.received_from["ROK"] == 0


async def test_a_captured_delivery_sent_again_is_a_duplicate_then_stale(
    fed: Federated, caplog: pytest.LogCaptureFixture
) -> None:
    async with capturing(fed.bus, node_inbox("JPN", "USA")) as seen:
        await fed.nodes["ROK"].gateway.send(track(sensor="ROK-R1"), data_mode=DataMode.REAL)
        await fed.settle()
    (captured,) = seen
    assert decode(captured).withheld == ("sensor",)  # ROK's message, redacted by the relay
    jpn = fed.nodes["JPN"]
    before = (dict(jpn.picture.received_from), len(jpn.picture.events))
    fed.clock.advance_s(60)
    await fed.bus.publish(node_inbox("JPN", "USA"), captured, msg_id="replayed-1")
    await fed.settle()
    assert jpn.counters.get("duplicate") == 1
    assert jpn.counters.get("rejected.replay") == 0
    assert (dict(jpn.picture.received_from), len(jpn.picture.events)) == before
    fed.clock.advance_s(241)  # 301 s after it was created: past the 300 s window
    await fed.bus.publish(node_inbox("JPN", "USA"), captured, msg_id="replayed-2")
    await fed.settle()
    assert jpn.counters.get("rejected.replay") == 1
    assert "is stale" in caplog.text
    assert (dict(jpn.picture.received_from), len(jpn.picture.events)) == before


async def test_relay_drops_a_redelivery_and_audits_replays(fed: Federated) -> None:
    sent = await fed.nodes["ROK"].gateway.send(impact(trk_id=8), data_mode=DataMode.REAL)
    await fed.settle()
    fed.clock.advance_s(1)
    await fed.bus.publish(relay_inbox("USA", "ROK"), encode(sent), msg_id="again")
    reused = envelope(originator="ROK", seq=sent.seq, rel_to=("JPN", "USA"))
    assert reused.msg_id != sent.msg_id
    await fed.bus.publish(relay_inbox("USA", "ROK"), encode(reused), msg_id="reused")
    await fed.settle()
    fed.clock.advance_s(300)
    await fed.bus.publish(relay_inbox("USA", "ROK"), encode(sent), msg_id="late")
    await fed.settle()
    usa = fed.nodes["USA"]
    assert usa.counters.get("relay.duplicate") == 1
    assert usa.counters.get("relay.rejected.replay") == 2
    assert usa.counters.get("relay.forwarded") == 1  # to JPN, once
    rejected = [e for e in usa.relay.audit if e.outcome == "rejected"]  # type: ignore[union-attr]
    assert [(e.msg_id, e.reason) for e in rejected] == [
        (reused.msg_id, "seq_reused"),
        (sent.msg_id, "stale"),
    ]
    assert fed.nodes["JPN"].picture.received_from["ROK"] == 1
    assert fed.nodes["JPN"].counters.get("duplicate") == 0  # not forwarded again


async def test_a_restarted_node_continues_after_its_reserved_seqs(
    fed: Federated, tmp_path: Path
) -> None:
    first = await fed.nodes["ROK"].gateway.send(impact(trk_id=1), data_mode=DataMode.REAL)
    await fed.nodes["ROK"].stop()
    fed.clock.advance_s(1)
    restarted = Node("ROK", trilateral(), fed.bus, fed.clock, keys=KEYS["ROK"], audit_dir=tmp_path)
    fed.nodes["ROK"] = restarted
    await restarted.start()
    second = await restarted.gateway.send(impact(trk_id=2), data_mode=DataMode.REAL)
    await fed.settle()
    assert second.seq > first.seq
    assert fed.nodes["USA"].counters.get("relay.rejected.replay") == 0
    assert fed.nodes["JPN"].picture.received_from["ROK"] == 2


@pytest.mark.parametrize(
    ("skew_s", "window_s", "refused_as"),
    [(262, None, None), (-262, None, None), (262, 200, "future"), (-262, 200, "stale")],
)
async def test_clock_skew_is_accepted_within_the_window_and_refused_beyond(
    tmp_path: Path, skew_s: float, window_s: float | None, refused_as: str | None
) -> None:
    # The state's time is by JPN's clock too, as its input port takes states (within its
    # window of its own now): a state far from its message's time is refused at the gateway.
    state_ns = T0 + round(skew_s * NS_PER_S)
    predicted = msgspec.structs.replace(
        impact(trk_id=4), epoch=state_ns, impact_time=state_ns + 600 * NS_PER_S
    )
    async with federated(tmp_path, window_s=window_s, skew_s={"JPN": skew_s}) as skewed:
        await skewed.nodes["JPN"].gateway.send(predicted, data_mode=DataMode.REAL)
        await skewed.settle()
        usa = skewed.nodes["USA"]
        rejected = [e.reason for e in usa.relay.audit if e.outcome == "rejected"]  # type: ignore[union-attr]
        delivered = 0 if refused_as else 1
        assert rejected == ([refused_as] if refused_as else [])
        assert usa.picture.received_from["JPN"] == delivered
        assert skewed.nodes["ROK"].picture.received_from["JPN"] == delivered


async def test_a_fault_applying_one_message_does_not_stop_the_inbox(
    fed: Federated, caplog: pytest.LogCaptureFixture
) -> None:
    """A bug in a core (here: the picture raising on one message) is counted and logged;
    the node's inbox keeps going and the next message is applied."""
    usa = fed.nodes["USA"]
    apply = usa.picture.apply
    calls = 0

    def faulty(envelope: Envelope, received_ns: int) -> bool:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("a bug in a core")
        return apply(envelope, received_ns)

    usa.picture.apply = faulty  # type: ignore[method-assign]
    await fed.nodes["ROK"].gateway.send(impact(trk_id=3), data_mode=DataMode.REAL)
    await fed.settle()
    await fed.nodes["ROK"].gateway.send(impact(trk_id=4), data_mode=DataMode.REAL)
    await fed.settle()
    assert usa.counters.get("rejected.apply_failed") == 1
    assert "could not apply" in caplog.text
    assert usa.picture.received_from["ROK"] == 1
