"""The runtime every node runs: a record fed to one party's intake reaches the others'
pictures; a failing output stops the runtime instead of leaving a node nobody sees."""

from __future__ import annotations

import asyncio
from pathlib import Path

import msgspec
import pytest

from tests.conformance.source_suite import T0, track
from tests.factories import KEYS, trilateral
from warnlink.errors import ConsumerEnded
from warnlink.model.time import NS_PER_S, ManualClock
from warnlink.runtime import NodeRuntime
from warnlink.transport import MemoryBus


def _runtimes(tmp_path: Path, clock: ManualClock, bus: MemoryBus) -> dict[str, NodeRuntime]:
    federation = trilateral()
    return {
        party: NodeRuntime.open(
            party, federation, bus, clock, keys=KEYS[party], folder=tmp_path / party
        )
        for party in federation.parties
    }


async def test_a_record_taken_at_one_node_reaches_every_party_released_to(tmp_path: Path) -> None:
    clock = ManualClock(T0 + 5 * NS_PER_S)
    bus = MemoryBus(tmp_path / "bus", clock=clock)
    runtimes = _runtimes(tmp_path, clock, bus)
    try:
        for runtime in runtimes.values():
            await runtime.start()
        records = [msgspec.structs.replace(r, source="c2") for r in track("KAMD-1", n=2)]
        answer = await runtimes["ROK"].intake.take("c2", records)
        assert answer.accepted == 2
        await runtimes["ROK"].intake.drain()
        await bus.wait_idle()
        for party in ("ROK", "JPN", "USA"):
            picture = runtimes[party].node.picture
            (event,) = picture.events.values()
            assert ("ROK", 1) in event.contributions  # the source's first track: number 1
            assert event.data_mode is records[0].data_mode
        assert (tmp_path / "ROK" / "ingest-ROK.sqlite").exists()
    finally:
        for runtime in runtimes.values():
            await runtime.stop()
        await bus.close()


async def test_an_output_that_fails_stops_the_runtime_and_its_error_is_raised(
    tmp_path: Path,
) -> None:
    clock = ManualClock(T0)
    bus = MemoryBus(tmp_path / "bus", clock=clock)
    runtime = _runtimes(tmp_path, clock, bus)["JPN"]
    ran: list[str] = []

    async def broken(running: NodeRuntime, stop: asyncio.Event) -> None:
        ran.append(running.party)
        raise OSError("port taken")

    async def patient(running: NodeRuntime, stop: asyncio.Event) -> None:
        await stop.wait()
        ran.append("patient stopped")

    stop = asyncio.Event()
    try:
        with pytest.raises(OSError, match="port taken"):
            await asyncio.wait_for(runtime.serve(stop, outputs=[patient, broken]), 30)
    finally:
        await bus.close()
    assert ran == ["JPN", "patient stopped"]
    assert stop.is_set()


async def test_a_consumer_that_ends_stops_the_runtime_which_says_so(tmp_path: Path) -> None:
    """Issue 17: a node whose inbox consumer died still looked up; now its runtime stops
    and raises `ConsumerEnded`, so the process ends and `up`'s health shows it down."""
    clock = ManualClock(T0)
    bus = MemoryBus(tmp_path / "bus", clock=clock)
    runtime = _runtimes(tmp_path, clock, bus)["JPN"]

    async def ends_the_consumer(running: NodeRuntime, stop: asyncio.Event) -> None:
        (consumer,) = running.node.consumers
        consumer.cancel()  # as any end would: an exception, a closed inbox
        await stop.wait()

    stop = asyncio.Event()
    try:
        with pytest.raises(ConsumerEnded, match="node-JPN"):
            await asyncio.wait_for(runtime.serve(stop, outputs=[ends_the_consumer]), 30)
    finally:
        await bus.close()


async def test_a_record_handed_over_while_a_tick_sends_does_not_break_the_tick(
    tmp_path: Path,
) -> None:
    # Found by `bench scale`: a new track's reporter, made while the tick awaited the
    # send of another track's status, ended the node ("dictionary changed size").
    clock = ManualClock(T0 + 5 * NS_PER_S)
    bus = MemoryBus(tmp_path / "bus", clock=clock)
    node = _runtimes(tmp_path, clock, bus)["ROK"].node
    first, second = track("A", n=1)[0], track("B", n=1)[0]
    send = node.gateway.send
    handed: list[int] = []

    async def send_and_hand_over(*args: object, **kwargs: object) -> object:
        if not handed:
            handed.append(2)
            await node.ingest(second, 2)  # the intake's turn, mid-tick
        return await send(*args, **kwargs)  # type: ignore[arg-type]

    try:
        await node.start()
        await node.ingest(first, 1)
        node.gateway.send = send_and_hand_over  # type: ignore[method-assign]
        clock.advance_s(3_600)  # track 1 is lost: the tick sends its status
        await node.tick()
        assert handed == [2]
        assert set(node.reporters) == {1, 2}
    finally:
        await node.stop()
        await bus.close()
