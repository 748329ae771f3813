"""The signing window: what is ready together is signed once; a lone message waits no
longer than the window (a fake scheduler stands for the loop's clock)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.factories import KEYS, KEYSET, envelope, track, trilateral
from tests.unit.test_sharing_flow import capturing
from warnlink.counters import Counters
from warnlink.errors import StoreError, TransportError
from warnlink.model import Envelope, decode
from warnlink.model.record import DataMode
from warnlink.model.time import ManualClock
from warnlink.node import Node
from warnlink.security.sign_window import SIGN_BATCH_MAX, SIGN_WINDOW_S, SignWindow
from warnlink.security.signing import verify
from warnlink.sharing.audit import AuditLog
from warnlink.sharing.audit_proof import verify_log
from warnlink.sharing.gateway import Gateway
from warnlink.sharing.replay import MemorySeenStore
from warnlink.sharing.subjects import relay_inbox
from warnlink.transport import MemoryBus
from warnlink.transport.queue_store import MemoryQueueStore


class FakeTimer:
    """The window's scheduler: records each delay asked; `fire` runs the call."""

    def __init__(self) -> None:
        self.asked: list[float] = []
        self.calls: list[Callable[[], None]] = []
        self.cancelled = 0

    def __call__(self, delay_s: float, call: Callable[[], None]) -> FakeTimer:
        self.asked.append(delay_s)
        self.calls.append(call)
        return self

    def cancel(self) -> None:
        self.cancelled += 1

    def fire(self) -> None:
        self.calls.pop(0)()


def _unsigned(count: int) -> list[Envelope]:
    """USA's envelopes (the factory signs them; the window signs them again)."""
    return [envelope(track(trk_id=i + 1), originator="USA", seq=1 + i) for i in range(count)]


def _window(timer: FakeTimer, sent: list[list[Envelope]]) -> SignWindow:
    async def on_signed(batch: list[Envelope]) -> None:
        sent.append(batch)

    return SignWindow(KEYS["USA"].own, on_signed, call_later=timer)


async def test_a_lone_message_waits_no_longer_than_the_window() -> None:
    timer, sent = FakeTimer(), []
    window = _window(timer, sent)
    window.submit(_unsigned(1)[0])
    assert timer.asked == [SIGN_WINDOW_S]  # the window's end is set when it opens
    await asyncio.sleep(0)
    assert sent == []
    assert window.waiting == 1
    timer.fire()  # the window's end: the message is signed alone and handed on
    await window.settle()
    assert [len(b) for b in sent] == [1]
    assert window.waiting == 0
    verify(sent[0][0], KEYSET)
    assert sent[0][0].sig_path is None


async def test_messages_ready_within_the_window_share_one_signature() -> None:
    timer, sent = FakeTimer(), []
    window = _window(timer, sent)
    for message in _unsigned(5):
        window.submit(message)
    assert timer.asked == [SIGN_WINDOW_S]  # one window for all five
    timer.fire()
    await window.settle()
    (batch,) = sent
    assert len({m.sig for m in batch}) == 1
    assert [m.seq for m in batch] == [1, 2, 3, 4, 5]
    for message in batch:
        verify(message, KEYSET)


async def test_a_full_window_is_signed_at_once_and_batches_go_in_order() -> None:
    timer, sent = FakeTimer(), []
    window = _window(timer, sent)
    for message in _unsigned(SIGN_BATCH_MAX + 3):
        window.submit(message)
    # The 64th message closed the first window before its end; the rest opened another.
    assert timer.cancelled == 1
    assert len(timer.asked) == 2
    await window.settle()
    assert [len(b) for b in sent] == [SIGN_BATCH_MAX, 3]
    assert [m.seq for b in sent for m in b] == list(range(1, SIGN_BATCH_MAX + 4))


def _rok_gateway(
    bus: MemoryBus,
    clock: ManualClock,
    *,
    on_original: Callable[[Envelope], None] | None = None,
    outbox: MemoryQueueStore | None = None,
) -> Gateway:
    """ROK's gateway with a 60 s signing window (closed by `settle`, never by time)."""
    return Gateway(
        "ROK",
        trilateral(),
        bus,
        clock,
        counters=Counters(),
        audit=AuditLog(None, KEYS["ROK"].own, clock=clock),
        keys=KEYS["ROK"],
        seen=MemorySeenStore(),
        on_original=on_original,
        outbox=outbox,
        sign_window_s=60.0,
    )


async def test_a_gateway_with_a_window_sends_its_reports_under_one_signature(
    tmp_path: Path,
) -> None:
    clock = ManualClock(track().epoch)
    bus = MemoryBus(tmp_path / "bus", clock=clock)
    originals: list[Envelope] = []
    # A window never reached: settle closes it.
    gateway = _rok_gateway(bus, clock, on_original=originals.append)
    async with capturing(bus, relay_inbox("USA", "ROK")) as seen:
        made = [await gateway.send(track(trk_id=i), data_mode=DataMode.REAL) for i in range(1, 4)]
        assert all(not m.sig for m in made)
        assert not originals
        await gateway.settle()
        await bus.wait_idle()
    arrived = [decode(data) for data in seen]
    assert [m.msg_id for m in arrived] == [m.msg_id for m in made]
    assert len({m.sig for m in arrived}) == 1
    assert {m.sig_path is not None for m in arrived} == {True}
    for message in arrived:
        verify(message, KEYSET)
    assert [m.msg_id for m in originals] == [m.msg_id for m in made]
    await bus.close()


async def test_a_windowed_federation_delivers_each_report_verified_and_audited(
    tmp_path: Path,
) -> None:
    clock = ManualClock(track().epoch)
    bus = MemoryBus(tmp_path / "bus", clock=clock)
    federation = trilateral()
    applied: list[Envelope] = []
    nodes = {
        p: Node(
            p,
            federation,
            bus,
            clock,
            keys=KEYS[p],
            audit_dir=tmp_path,
            sign_window_s=SIGN_WINDOW_S,
            on_applied=applied.append if p == "JPN" else None,
        )
        for p in federation.parties
    }
    for node in nodes.values():
        await node.start()
    for i in range(1, 5):
        await nodes["ROK"].gateway.send(track(trk_id=i, sensor="ROK-R1"), data_mode=DataMode.REAL)
    await nodes["ROK"].settle()
    await bus.wait_idle()
    for node in nodes.values():
        await node.stop()
    await bus.close()
    # JPN gets ROK's tracks through the relay, sensor withheld, under one ROK signature.
    assert [e.payload.trk_id for e in applied] == [1, 2, 3, 4]
    assert len({e.sig for e in applied}) == 1
    assert all(e.withheld == ("sensor",) for e in applied)
    for name in ("relay-USA.jsonl", "gateway-ROK.jsonl"):
        assert verify_log(tmp_path / name, KEYSET).broken is None


class FailingStore(MemoryQueueStore):
    """An outbox store whose next `fail` appends fail (a disk gone for a while)."""

    def __init__(self) -> None:
        super().__init__()
        self.fail = 0

    def append(
        self, subject: str, msg_id: str, data: bytes, time_ns: int, *, deferred: bool = False
    ) -> int:
        if self.fail:
            self.fail -= 1
            raise StoreError("disk gone")
        return super().append(subject, msg_id, data, time_ns, deferred=deferred)


async def test_a_signed_report_whose_store_fails_is_kept_and_settle_says_so(
    tmp_path: Path,
) -> None:
    clock = ManualClock(track().epoch)
    bus = MemoryBus(tmp_path / "bus", clock=clock)
    store = FailingStore()
    gateway = _rok_gateway(bus, clock, outbox=store)
    async with capturing(bus, relay_inbox("USA", "ROK")) as seen:
        made = [await gateway.send(track(trk_id=i), data_mode=DataMode.REAL) for i in range(1, 3)]
        store.fail = 2  # the window's routing and settle's one more try
        with pytest.raises(TransportError):
            await gateway.settle()  # the intake then leaves the records undone
        assert gateway.counters.get("gateway.send_failed") == 2
        await gateway.settle()  # the store is back: the kept reports go, in order
        await bus.wait_idle()
    assert [decode(data).msg_id for data in seen] == [m.msg_id for m in made]
    await bus.close()
