"""A relay handed a batch of deliveries: one countersignature over all its products, each
product verifiable alone, a bad one refused without refusing the others, and the
audit log still verifiable."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import msgspec
import pytest

from tests.factories import T0, trilateral
from warnlink.benchmarks.relay import deliveries, fresh
from warnlink.counters import Counters
from warnlink.errors import SignatureError
from warnlink.model import Envelope, SigPath, decode, encode
from warnlink.model.time import ManualClock
from warnlink.node.consume import serve_relay
from warnlink.node.stores import build_relay, close_relay
from warnlink.security.signing import PartyKeys, ephemeral_keys, signed_bytes
from warnlink.security.verify_pool import VerifyPool
from warnlink.sharing.audit import AuditLog
from warnlink.sharing.audit_proof import verify_log
from warnlink.sharing.gateway import Gateway
from warnlink.sharing.inbound import accept
from warnlink.sharing.relay import Relay
from warnlink.sharing.replay import MemorySeenStore
from warnlink.sharing.subjects import parse_inbox
from warnlink.transport import Delivery, MemoryBus, PublishAck, Subscription
from warnlink.transport.base import answered

FEDERATION = trilateral()
KEYS = ephemeral_keys(FEDERATION.parties)


class RecordingBus:
    """A bus that keeps what is published."""

    def __init__(self) -> None:
        self.published: list[tuple[str, bytes]] = []

    async def publish(self, subject: str, data: bytes, *, msg_id: str) -> PublishAck:
        self.published.append((subject, data))
        return PublishAck(seq=len(self.published), duplicate=False)

    async def publish_pipelined(
        self, subject: str, data: bytes, *, msg_id: str
    ) -> asyncio.Future[PublishAck]:
        return answered(await self.publish(subject, data, msg_id=msg_id))

    async def subscribe(self, subject_filter: str, *, durable: str) -> Subscription:
        raise NotImplementedError

    async def close(self) -> None:
        return None


def _relay(folder: Path, bus: RecordingBus, keys: PartyKeys = KEYS["USA"]) -> Relay:
    return build_relay("USA", FEDERATION, bus, ManualClock(T0), keys, folder, Counters())


def _received(subject: str, data: bytes) -> Envelope:
    """`data` checked as its recipient checks it."""
    recipient, sender = parse_inbox(subject)
    return accept(
        data, party=recipient, sender=sender, federation=FEDERATION, keyset=KEYS["USA"].keyset
    )


async def test_a_batch_gets_one_countersignature_and_each_product_verifies_alone(
    tmp_path: Path,
) -> None:
    bus = RecordingBus()
    relay = _relay(tmp_path, bus)
    batch = deliveries(FEDERATION, KEYS, 16, batch=8)
    decisions = await relay.handle_batch(batch)
    close_relay(relay)
    assert len(decisions) == 16
    assert bus.published
    products = [_received(subject, data) for subject, data in bus.published]
    assert len({p.countersig for p in products}) == 1
    distinct = {p.msg_id + ",".join(p.withheld) for p in products}
    assert {p.countersig_path.size for p in products if p.countersig_path} == {len(distinct)}
    assert verify_log(tmp_path / "relay-USA.jsonl", KEYS["USA"].keyset).broken is None


async def test_a_tampered_product_is_refused_and_the_rest_of_its_batch_accepted(
    tmp_path: Path,
) -> None:
    bus = RecordingBus()
    relay = _relay(tmp_path, bus)
    await relay.handle_batch(deliveries(FEDERATION, KEYS, 8, batch=8))
    close_relay(relay)
    (subject, data), *rest = bus.published
    product = decode(data)
    assert product.countersig_path is not None
    forged = msgspec.structs.replace(product, seq=product.seq + 100)
    with pytest.raises(SignatureError):
        _received(subject, encode(forged))
    path = product.countersig_path
    moved = msgspec.structs.replace(product, countersig_path=SigPath(1, path.size, path.path))
    with pytest.raises(SignatureError) as info:
        _received(subject, encode(moved))
    assert info.value.rule == "bad_countersig"
    short = msgspec.structs.replace(
        product, countersig_path=SigPath(path.index, path.size, path.path[:-1])
    )
    with pytest.raises(SignatureError) as info:
        _received(subject, encode(short))
    assert info.value.rule == "bad_countersig_path"
    for other_subject, other in rest:
        _received(other_subject, other)


async def test_one_forged_delivery_in_an_originators_batch_is_refused_alone(
    tmp_path: Path,
) -> None:
    bus = RecordingBus()
    relay = _relay(tmp_path, bus)
    batch = deliveries(FEDERATION, KEYS, 8, batch=8)
    bad = decode(batch[2].data)
    forged = msgspec.structs.replace(bad, payload=msgspec.structs.replace(bad.payload, trk_id=99))
    assert signed_bytes(forged) != signed_bytes(bad)
    batch[2] = dataclasses.replace(batch[2], data=encode(forged))
    decisions = await relay.handle_batch(batch)
    close_relay(relay)
    # ROK's (even) deliveries: the forged one refused, its batch-mates forwarded.
    assert decisions[2] == []
    assert all(decisions[i] for i in (0, 4, 6))
    assert relay.counters.as_dict()["relay.rejected.bad_signature"] == 1
    assert bad.msg_id not in {decode(data).msg_id for _, data in bus.published}
    assert verify_log(tmp_path / "relay-USA.jsonl", KEYS["USA"].keyset).broken is None


async def test_the_verify_pool_decides_as_the_loop_does(tmp_path: Path) -> None:
    inline, pooled = RecordingBus(), RecordingBus()
    batch = deliveries(FEDERATION, KEYS, 12, batch=4)
    batch[5] = dataclasses.replace(batch[5], data=batch[5].data[:-3])
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    relay = _relay(tmp_path / "a", inline)
    expected = await relay.handle_batch(batch)
    close_relay(relay)
    pool = VerifyPool()
    relay = _relay(tmp_path / "b", pooled)
    relay.verify_pool = pool
    assert await relay.handle_batch(batch) == expected
    close_relay(relay)
    pool.close()
    assert pooled.published == inline.published


async def test_a_redelivery_within_a_batch_is_forwarded_once(tmp_path: Path) -> None:
    bus = RecordingBus()
    relay = _relay(tmp_path, bus)
    (first,) = deliveries(FEDERATION, KEYS, 1)
    again = dataclasses.replace(first, redelivered=True)
    decisions = await relay.handle_batch([first, again])
    close_relay(relay)
    assert decisions[0]
    assert decisions[1] == []
    assert relay.counters.as_dict()["relay.duplicate"] == 1


async def test_a_receiver_checks_a_relayed_batch_off_the_loop_and_refuses_one_alone(
    tmp_path: Path,
) -> None:
    relay_bus = RecordingBus()
    relay = _relay(tmp_path, relay_bus)
    await relay.handle_batch(deliveries(FEDERATION, KEYS, 16, batch=16))
    close_relay(relay)
    to_jpn = [
        Delivery(subject, data, n + 1, str(n), T0, redelivered=False)
        for n, (subject, data) in enumerate(relay_bus.published)
        if parse_inbox(subject)[0] == "JPN"
    ]
    forged = decode(to_jpn[1].data)
    to_jpn[1] = dataclasses.replace(
        to_jpn[1], data=encode(msgspec.structs.replace(forged, seq=forged.seq + 1))
    )
    clock = ManualClock(T0)
    keys = PartyKeys(KEYS["JPN"].own, fresh(KEYS["JPN"]).keyset)
    gateway = Gateway(
        "JPN",
        FEDERATION,
        RecordingBus(),
        clock,
        counters=Counters(),
        audit=AuditLog(None, keys.own, clock=clock),
        keys=keys,
        seen=MemorySeenStore(),
    )
    gateway.verify_pool = pool = VerifyPool()
    received = await gateway.receive_batch(to_jpn)
    pool.close()
    assert received[1] is None
    assert all(e is not None for i, e in enumerate(received) if i != 1)
    assert gateway.counters.get("rejected.bad_signature") == 1
    # Two roots (ROK's, the relay's) for the 7 good messages: checked once each.
    assert keys.keyset.verified.hits == 2 * (len(to_jpn) - 2)


async def test_the_relay_s_consumer_hands_it_whole_batches(tmp_path: Path) -> None:
    bus = MemoryBus(tmp_path / "bus", clock=ManualClock(T0))
    for delivery in deliveries(FEDERATION, KEYS, 8, batch=8):
        await bus.publish(delivery.subject, delivery.data, msg_id=delivery.msg_id)
    relay = build_relay("USA", FEDERATION, bus, ManualClock(T0), KEYS["USA"], tmp_path, Counters())
    inbox = await relay.open_inbox()
    task = asyncio.create_task(serve_relay(relay, inbox))
    await asyncio.wait_for(bus.wait_idle(), 5.0)
    await inbox.close()
    await asyncio.wait_for(task, 5.0)
    products = await bus.subscribe("wl.node.>", durable="products")  # from the log's start
    sent = await products.next_batch(100, timeout_s=0.1)
    close_relay(relay)
    await bus.close()
    assert sent
    # One consumer batch of eight: one countersignature over all their products.
    assert len({_received(d.subject, d.data).countersig for d in sent}) == 1


async def test_a_batchs_decisions_are_in_the_audit_file_before_any_product_leaves(
    tmp_path: Path,
) -> None:
    """Appended unflushed as they are made, flushed once before the first publish."""
    bus = RecordingBus()
    relay = _relay(tmp_path, bus)
    assert relay.audit.path is not None
    path = relay.audit.path
    on_disk: list[int] = []

    async def publish(subject: str, data: bytes, *, msg_id: str) -> PublishAck:
        product = decode(data)
        written = path.read_bytes().decode()
        on_disk.append(sum(product.msg_id in line for line in written.splitlines()))
        return await RecordingBus.publish(bus, subject, data, msg_id=msg_id)

    bus.publish = publish  # type: ignore[method-assign]
    await relay.handle_batch(deliveries(FEDERATION, KEYS, 16, batch=8))
    close_relay(relay)
    assert len(on_disk) == 16
    assert all(count >= 1 for count in on_disk)
