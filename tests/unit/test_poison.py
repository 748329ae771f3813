"""Issue 17, finding 1: one deeply nested message must cost one counter, not a link."""

from __future__ import annotations

import asyncio
import ssl
import stat
from pathlib import Path

import msgspec
import pytest

from tests.factories import T0, envelope, impact, track
from tests.unit.test_sharing_flow import Federated, fed  # noqa: F401 (the fixture)
from warnlink.counters import Counters
from warnlink.errors import DecodeError, NestingTooDeep, StoreError
from warnlink.faults.poison import DEEP_MAP, poison_messages
from warnlink.model import decode, encode
from warnlink.model.nesting import MAX_DEPTH, check_json_depth, check_msgpack_depth, walk_msgpack
from warnlink.model.record import DataMode
from warnlink.model.time import ManualClock
from warnlink.node import Rejects, consume, watch_consumers
from warnlink.sharing.audit import read_log
from warnlink.sharing.audit_proof import Unreadable, decode_proof, read_lines
from warnlink.sharing.subjects import node_inbox, relay_inbox
from warnlink.sources.cot_stream import CotStreamServer
from warnlink.transport import Delivery, MemoryBus
from warnlink.transport.dead_letters import SqliteDeadLetters

POISON = poison_messages(envelope(track()))


def test_the_findings_2000_deep_map_is_a_typed_error() -> None:
    assert len(DEEP_MAP) == 6001
    with pytest.raises(NestingTooDeep) as raised:
        decode(DEEP_MAP)
    assert raised.value.rule == "too_deep"
    assert isinstance(raised.value, DecodeError)


@pytest.mark.parametrize("name", sorted(POISON))
def test_every_poison_shape_is_a_decode_error(name: str) -> None:
    with pytest.raises(DecodeError):
        decode(POISON[name])


def test_deep_json_envelopes_are_refused_too() -> None:
    with pytest.raises(NestingTooDeep):
        decode(b'{"a":' * 3000 + b"1" + b"}" * 3000, "json")


def _nested(depth: int) -> object:
    value: object = [1, "x]}{[", b"\x91\x81", 2.5]
    for i in range(depth - 1):
        value = {"k": value, "n": i} if i % 2 else [value, None]
    return value


@pytest.mark.parametrize("depth", [1, 5, MAX_DEPTH, MAX_DEPTH + 1, 200])
def test_the_scans_count_depth_as_a_parser_does(depth: int) -> None:
    packed = msgspec.msgpack.encode(_nested(depth))
    text = msgspec.json.encode(_nested(depth), enc_hook=lambda b: b.hex())
    for scan, data in ((check_msgpack_depth, packed), (check_json_depth, text)):
        if depth <= MAX_DEPTH:
            scan(data)
        else:
            with pytest.raises(NestingTooDeep):
                scan(data)


def test_a_valid_envelope_passes_the_full_walk() -> None:
    walk_msgpack(encode(envelope(track())), 8)


def test_deeply_nested_audit_lines_and_proofs_are_refused_not_raised(tmp_path: Path) -> None:
    deep = b'{"a":' * 3000 + b"1" + b"}" * 3000
    log = tmp_path / "relay-USA.jsonl"
    log.write_bytes(deep + b"\n")
    with pytest.raises(StoreError, match="nested"):
        list(read_log(log))
    (line,) = read_lines(log)
    assert isinstance(line, Unreadable)
    with pytest.raises(NestingTooDeep):
        decode_proof(b"[" * 5000)


@pytest.mark.parametrize("name", sorted(POISON))
async def test_poison_at_the_relay_costs_a_counter_and_the_link_keeps_flowing(
    fed: Federated,  # noqa: F811
    name: str,
) -> None:
    """JPN, a link peer, sends poison into the relay's inbox; ROK's next report reaches
    JPN through the relay (before: the relay's consumer died on `RecursionError`)."""
    await fed.bus.publish(relay_inbox("USA", "JPN"), POISON[name], msg_id=f"poison-{name}")
    await fed.nodes["ROK"].gateway.send(impact(trk_id=5), data_mode=DataMode.REAL)
    await asyncio.wait_for(fed.settle(), 60)  # a guard: before the fix it never settled
    usa = fed.nodes["USA"]
    assert sum(v for k, v in usa.counters.as_dict().items() if "relay.rejected" in k) == 1
    assert fed.nodes["JPN"].picture.received_from["ROK"] == 1
    (letter,) = usa.rejects.letters.letters()
    assert letter.data == POISON[name]
    assert letter.subject == relay_inbox("USA", "JPN")
    assert all(not task.done() for task in usa.consumers)


@pytest.mark.parametrize("name", sorted(POISON))
async def test_poison_at_a_node_inbox_costs_a_counter_and_the_link_keeps_flowing(
    fed: Federated,  # noqa: F811
    name: str,
) -> None:
    await fed.bus.publish(node_inbox("JPN", "USA"), POISON[name], msg_id=f"poison-{name}")
    await fed.nodes["USA"].gateway.send(impact(trk_id=4), data_mode=DataMode.REAL)
    await asyncio.wait_for(fed.settle(), 60)  # a guard: before the fix it never settled
    jpn = fed.nodes["JPN"]
    assert jpn.picture.received_from["USA"] == 1
    assert [letter.data for letter in jpn.rejects.letters.letters()] == [POISON[name]]


async def test_an_unexpected_failure_is_counted_kept_and_acked_and_the_next_handled() -> None:
    clock = ManualClock(T0)
    bus = MemoryBus(None, clock=clock)
    for i in range(3):
        await bus.publish("wl.x", str(i).encode(), msg_id=str(i))
    inbox = await bus.subscribe("wl.>", durable="d")
    counters = Counters()
    rejects = Rejects(counters, clock)
    seen: list[bytes] = []

    async def handle(delivery: Delivery) -> None:
        seen.append(delivery.data)
        if len(seen) == 3:
            await inbox.close()
        if delivery.data == b"0":
            raise RecursionError("a bug in a core")

    await consume(inbox, handle, counters, rejects=rejects)
    assert seen == [b"0", b"1", b"2"]
    assert counters.get("consume.failed") == 1
    (letter,) = rejects.letters.letters()
    assert (letter.data, letter.rule, letter.time_ns) == (b"0", "failed", T0)
    assert "RecursionError" in letter.error
    await bus.close()


def test_dead_letters_are_private_and_bounded(tmp_path: Path) -> None:
    path = tmp_path / "dead-letters-JPN.sqlite"
    letters = SqliteDeadLetters(path, limit=3)
    for i in range(5):
        letters.add(T0 + i, "wl.x", bytes([i]) * 70_000, "too deep", "too_deep")
    kept = letters.letters()
    letters.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [k.time_ns - T0 for k in kept] == [2, 3, 4]
    assert all(k.size == 70_000 and len(k.data) == 64 * 1024 for k in kept)


async def test_a_consumer_that_ends_stops_its_process() -> None:
    stop = asyncio.Event()

    async def dies() -> None:
        raise RuntimeError("boom")

    task = asyncio.create_task(dies())
    watch_consumers("relay-USA", (task,), stop)
    await asyncio.wait_for(stop.wait(), 5)
    assert stop.is_set()


class _BrokenWriter:
    """A connection whose TLS details cannot be read: an unexpected failure."""

    closed = False

    def get_extra_info(self, name: str) -> object:
        if name == "ssl_object":
            raise RuntimeError("broken connection")
        return None

    def close(self) -> None:
        self.closed = True


async def test_an_unexpected_failure_on_a_cot_connection_is_counted_and_ends_it_alone() -> None:
    server = CotStreamServer(
        "ROK",
        sink=None,  # type: ignore[arg-type]
        identify=lambda der: None,
        default_mode=lambda source: DataMode.REAL,
        ssl_context=ssl.create_default_context(ssl.Purpose.CLIENT_AUTH),
    )
    writer = _BrokenWriter()
    await server._serve(asyncio.StreamReader(), writer)  # type: ignore[arg-type]
    assert server.counters.get("cot_in.failed") == 1
    assert writer.closed
