"""A damaged store: detected by its digests, reported, and what it held recovered from
the originators' sent-archives (docs/reliability.md, case 6)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.factories import KEYS, T0, FailingOnceStore, envelope, impact, track, trilateral
from warnlink.counters import Counters
from warnlink.errors import StoreError
from warnlink.faults.corrupt import flip_byte
from warnlink.model import (
    Envelope,
    Heartbeat,
    Resend,
    ResendRequest,
    SecurityLabel,
    decode,
    encode,
    new_envelope,
)
from warnlink.model.record import DataMode
from warnlink.model.time import NS_PER_S, ManualClock
from warnlink.node import Node
from warnlink.security.signing import sign
from warnlink.sharing.outbox import Outbox
from warnlink.sharing.recovery import MARGIN_S, OpenRequest, Recovery, plan
from warnlink.transport import MemoryBus
from warnlink.transport.queue_store import (
    MemoryQueueStore,
    QueuedMessage,
    SqliteQueueStore,
)

MARGIN_NS = round(MARGIN_S * NS_PER_S)


def test_a_byte_changed_in_the_file_is_caught_by_the_entry_digest(tmp_path: Path) -> None:
    path = tmp_path / "applied.sqlite"
    store = SqliteQueueStore(path, what="applied-log")
    ids = [store.append("", f"m{i}", encode(envelope(track(trk_id=i))), T0 + i) for i in range(3)]
    store.close()
    changed = flip_byte(path, ids[1])
    assert changed
    reopened = SqliteQueueStore(path, what="applied-log")
    assert [e.intact for e in reopened.entries()] == [True, False, True]
    reopened.close()


def test_a_version_1_store_is_upgraded_and_its_rows_are_taken_as_they_are(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE queue (id INTEGER PRIMARY KEY AUTOINCREMENT, subject TEXT NOT NULL,"
        " msg_id TEXT NOT NULL, data BLOB NOT NULL, time_ns INTEGER NOT NULL);"
        "INSERT INTO queue (subject, msg_id, data, time_ns) VALUES ('s', 'm', x'01', 5);"
        "PRAGMA user_version = 1;"
    )
    conn.close()
    store = SqliteQueueStore(path, what="outbox")
    store.append("s", "n", b"\x02", 6)
    assert [(e.msg_id, e.intact) for e in store.entries()] == [("m", True), ("n", True)]
    store.close()


def _entries(
    *items: tuple[str, int] | None,
) -> list[tuple[QueuedMessage, Envelope | None]]:
    """Applied-log entries: (originator, created s), applied half a second after it was
    created, or None (damaged, applied 0.1 s after the one before)."""
    rows: list[tuple[QueuedMessage, Envelope | None]] = []
    applied = T0
    for i, item in enumerate(items, start=1):
        if item is None:
            applied += NS_PER_S // 10
            rows.append((QueuedMessage(i, "", f"m{i}", b"", applied), None))
            continue
        originator, created_s = item
        applied = T0 + created_s * NS_PER_S + NS_PER_S // 2
        env = new_envelope(
            originator=originator,
            seq=i,
            created=T0 + created_s * NS_PER_S,
            label=SecurityLabel("UNCLASSIFIED", ("JPN",)),
            payload=impact(trk_id=i),
            data_mode=DataMode.REAL,
        )
        rows.append((QueuedMessage(i, "", f"m{i}", b"", applied), env))
    return rows


def test_plan_asks_each_originator_for_the_stretch_around_a_damaged_entry() -> None:
    entries = _entries(("ROK", 10), ("USA", 11), None, ("ROK", 20), ("ROK", 30))
    requests = plan(entries, ["ROK", "USA"], now_ns=T0 + 1000 * NS_PER_S)
    by = {r.originator: (r.since, r.until) for r in requests}
    next_applied = T0 + 20 * NS_PER_S + NS_PER_S // 2  # ROK's report of 20 s
    assert by["ROK"] == (T0 + 10 * NS_PER_S - MARGIN_NS, next_applied + MARGIN_NS)
    # Nothing of USA's after it: up to when the node applied its next entry.
    assert by["USA"] == (T0 + 11 * NS_PER_S - MARGIN_NS, next_applied + MARGIN_NS)


def test_plan_reaches_back_to_a_backlog_applied_after_the_damaged_entry() -> None:
    """A fresh heartbeat came first, then an outage's backlog: the range covers the
    backlog, and the heartbeat marks no end."""
    hb = new_envelope(
        originator="ROK",
        seq=1,
        created=T0 + 500 * NS_PER_S,
        label=SecurityLabel("UNCLASSIFIED", ("JPN",)),
        payload=Heartbeat(trk_id=0, interval_s=5.0),
        data_mode=None,
    )
    entries = _entries(("ROK", 100), None, ("ROK", 200), ("ROK", 300))
    entries.insert(1, (QueuedMessage(9, "", "hb", b"", T0 + 500 * NS_PER_S), hb))
    (request,) = plan(entries, ["ROK"], now_ns=T0 + 1000 * NS_PER_S)
    assert request.since == T0 + 100 * NS_PER_S - MARGIN_NS
    entries = _entries(("ROK", 300), None, ("ROK", 100), ("ROK", 200))  # backlog after
    (request,) = plan(entries, ["ROK"], now_ns=T0 + 1000 * NS_PER_S)
    assert request.since == T0 + 100 * NS_PER_S - MARGIN_NS


def test_plan_merges_ranges_and_starts_from_zero_when_nothing_precedes() -> None:
    entries = _entries(None, ("ROK", 10), None, ("ROK", 12))
    (request,) = plan(entries, ["ROK"], now_ns=T0)
    assert request.since == 0
    assert request.until == T0 + 12 * NS_PER_S + NS_PER_S // 2 + MARGIN_NS
    assert "1, 3" in request.reason
    assert plan(_entries(("ROK", 1)), ["ROK"], now_ns=T0) == []


def test_a_request_about_many_damaged_entries_still_fits_its_message() -> None:
    entries = _entries(("ROK", 1), *[None] * 5000, ("ROK", 2))
    (request,) = plan(entries, ["ROK"], now_ns=T0)
    asked = ResendRequest(
        trk_id=0, originator="ROK", since=request.since, until=request.until, reason=request.reason
    )
    sent = new_envelope(
        originator="JPN",
        seq=1,
        created=T0,
        label=SecurityLabel("UNCLASSIFIED", ("ROK",)),
        payload=asked,
        data_mode=None,
    )
    assert decode(encode(sent)).payload == asked  # the reason stays within 256 characters


def test_open_requests_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "recovery.json"
    Recovery(path).add([OpenRequest("ROK", 1, 2, "why")])
    again = Recovery(path)
    assert [(r.originator, r.since, r.until) for r in again.open] == [("ROK", 1, 2)]
    again.close(again.open[0])
    assert json.loads(path.read_text()) == []


async def test_the_archive_keeps_acknowledged_messages_for_the_retention_time() -> None:
    clock = ManualClock(T0)
    bus = MemoryBus(None, clock=clock)
    archive = MemoryQueueStore()
    outbox = Outbox(bus, MemoryQueueStore(), clock, Counters(), archive=archive, retain_s=100)
    await outbox.publish("wl.x", b"a", msg_id="1")
    clock.advance_s(60)
    await outbox.publish("wl.x", b"b", msg_id="2")
    assert [e.data for e in outbox.retained(0, clock.now_ns())] == [b"a", b"b"]
    clock.advance_s(60)
    await outbox.flush()  # prunes
    assert [e.data for e in outbox.retained(0, clock.now_ns())] == [b"b"]
    assert outbox.retained_since == clock.now_ns() - 100 * NS_PER_S
    await bus.close()


async def _nodes(tmp_path: Path, clock: ManualClock, bus: MemoryBus) -> dict[str, Node]:
    nodes = {p: _node(p, tmp_path, clock, bus) for p in ("ROK", "JPN", "USA")}
    for node in nodes.values():
        await node.start()
    return nodes


@dataclass
class Fed:
    """Three nodes on one MemoryBus with their stores in `folder`; stopped afterwards."""

    folder: Path
    clock: ManualClock
    bus: MemoryBus
    nodes: dict[str, Node]


@pytest.fixture
async def fed(tmp_path: Path) -> AsyncIterator[Fed]:
    clock = ManualClock(T0)
    bus = MemoryBus(tmp_path / "bus", clock=clock)
    made = Fed(tmp_path, clock, bus, await _nodes(tmp_path, clock, bus))
    yield made
    for node in made.nodes.values():
        await node.stop()
    await bus.close()


def _node(party: str, folder: Path, clock: ManualClock, bus: MemoryBus) -> Node:
    return Node(party, trilateral(), bus, clock, keys=KEYS[party], audit_dir=folder)


def _applied_ids(node: Node) -> list[str]:
    return [e.msg_id for e in node.applied_log.entries()]


async def _damage_and_restart(
    tmp_path: Path, clock: ManualClock, bus: MemoryBus, nodes: dict[str, Node], msg_id: str
) -> Node:
    jpn = nodes["JPN"]
    entry_id = next(e.entry_id for e in jpn.applied_log.entries() if e.msg_id == msg_id)
    await jpn.stop()
    flip_byte(tmp_path / "applied-JPN.sqlite", entry_id)
    nodes["JPN"] = _node("JPN", tmp_path, clock, bus)
    return nodes["JPN"]


async def test_a_damaged_applied_log_entry_is_reported_and_recovered_through_the_relay(
    fed: Fed,
) -> None:
    """ROK -> (USA relay) -> JPN: JPN's copy of one ROK report is damaged on disk; the
    restarted node reports it, asks ROK, and ends with every message exactly once."""
    tmp_path = fed.folder
    clock = fed.clock
    bus = fed.bus
    nodes = fed.nodes
    sent = []
    for step in range(6):
        clock.advance_s(1)
        sent.append(
            await nodes["ROK"].gateway.send(track(trk_id=1 + step % 2), data_mode=DataMode.REAL)
        )
        await bus.wait_idle()
    before = _applied_ids(nodes["JPN"])
    product_ids = [i for i in before if i in {e.msg_id for e in sent}]
    assert len(product_ids) == 6  # JPN gets ROK's reports redacted (no sensor), same ids
    damaged_id = product_ids[2]
    jpn = await _damage_and_restart(tmp_path, clock, bus, nodes, damaged_id)
    assert jpn.counters.get("applied_log.damaged") == 1
    assert damaged_id not in _applied_ids(jpn)
    quarantined = (tmp_path / "applied-JPN.damaged.jsonl").read_text().splitlines()
    assert json.loads(quarantined[0])["msg_id"] == damaged_id
    assert {r.originator for r in jpn.recovery.open} == {"ROK", "USA", "JPN"}
    await jpn.start()
    await bus.wait_idle()
    after = _applied_ids(jpn)
    assert sorted(after) == sorted(before)  # recovered, and nothing twice
    assert jpn.counters.get("recovered") == 1
    # ROK's, USA's (asked from 0: none of its reports precedes, but its archive has
    # never lost anything to its retention) and JPN's own.
    assert jpn.counters.get("recovery.complete") == 3
    assert jpn.counters.get("recovery.incomplete") == 0
    assert jpn.recovery.open == []
    assert not json.loads((tmp_path / "recovery-JPN.json").read_text())
    assert nodes["ROK"].counters.get("resend.answered") == 1
    usa = nodes["USA"]
    assert usa.counters.get("relay.resend") == 1  # ROK's (USA answers JPN directly)
    recovered = next(e for e in jpn.applied_log.entries() if e.msg_id == damaged_id)
    assert decode(recovered.data).payload.sensor is None  # redacted again by the relay


async def test_a_range_the_originator_no_longer_keeps_is_reported_not_recovered(fed: Fed) -> None:
    tmp_path = fed.folder
    clock = fed.clock
    bus = fed.bus
    nodes = fed.nodes
    for _ in range(3):
        await nodes["ROK"].gateway.send(impact(trk_id=1), data_mode=DataMode.REAL)
        await bus.wait_idle()
    first = _applied_ids(nodes["JPN"])[0]
    clock.advance_s(7200)  # beyond ROK's hour of retention
    await nodes["ROK"].tick()
    jpn = await _damage_and_restart(tmp_path, clock, bus, nodes, first)
    await jpn.start()
    await bus.wait_idle()
    assert jpn.counters.get("recovery.incomplete") >= 1
    assert jpn.counters.get("recovered") == 0
    assert first not in _applied_ids(jpn)  # lost, and said so


async def test_an_answer_nobody_asked_for_applies_nothing(fed: Fed) -> None:
    bus = fed.bus
    nodes = fed.nodes
    stray = envelope(track(trk_id=9), originator="ROK")
    answer = Resend(
        trk_id=0,
        request="0" * 32,
        to="JPN",
        messages=(encode(stray),),
        part=1,
        last=True,
        retained_since=0,
    )
    await nodes["ROK"].gateway.send_to(answer, "JPN")
    await bus.wait_idle()
    assert nodes["JPN"].counters.get("resend.unrequested") == 1
    assert nodes["JPN"].picture.received_from["ROK"] == 0


async def test_the_relay_refuses_a_message_sent_again_that_its_sender_did_not_issue(
    fed: Fed,
) -> None:
    bus = fed.bus
    nodes = fed.nodes
    forged = envelope(track(trk_id=9), originator="JPN")
    answer = Resend(
        trk_id=0,
        request="0" * 32,
        to="JPN",
        messages=(encode(forged),),
        part=1,
        last=True,
        retained_since=0,
    )
    await nodes["ROK"].gateway.send_to(answer, "JPN")
    await bus.wait_idle()
    usa = nodes["USA"]
    assert usa.counters.get("relay.rejected.mislabelled") == 1


def test_a_request_range_must_not_run_backwards() -> None:
    with pytest.raises(ValueError, match="before"):
        ResendRequest(trk_id=0, originator="ROK", since=5, until=4)


async def test_a_long_answer_goes_in_parts_each_within_the_message_limit(fed: Fed) -> None:
    """200 reports through the relay, countersigned on the way: several parts, none
    refused at JPN's edge (64 KiB), every message there, the request complete."""
    clock = fed.clock
    bus = fed.bus
    nodes = fed.nodes
    for trk_id in range(200):
        clock.advance_s(0.01)
        await nodes["ROK"].gateway.send(track(trk_id=trk_id), data_mode=DataMode.REAL)
    await bus.wait_idle()
    jpn = nodes["JPN"]
    jpn.recovery.add([OpenRequest("ROK", T0 - 1, clock.now_ns(), "test")])
    await jpn.resends.ask_again()
    await bus.wait_idle()
    assert nodes["USA"].counters.get("relay.resend") > 1  # parts
    assert not [k for k in jpn.counters.as_dict() if k.startswith("rejected")]
    assert jpn.counters.get("resend.held") == 200
    assert jpn.counters.get("recovery.complete") == 1


async def test_an_answer_from_another_party_than_the_one_asked_applies_nothing(fed: Fed) -> None:
    bus = fed.bus
    nodes = fed.nodes
    jpn = nodes["JPN"]
    jpn.recovery.add([OpenRequest("ROK", 0, T0 + NS_PER_S, "test", request_id="a" * 32)])
    theirs = envelope(track(trk_id=9), originator="ROK")  # ROK's, released to JPN
    answer = Resend(
        trk_id=0,
        request="a" * 32,
        to="JPN",
        messages=(encode(theirs),),
        part=1,
        last=True,
        retained_since=0,
    )
    await nodes["USA"].gateway.send_to(answer, "JPN")  # USA answers a request to ROK
    await bus.wait_idle()
    assert jpn.counters.get("resend.unrequested") == 1
    assert jpn.counters.get("recovered") == 0
    assert len(jpn.recovery.open) == 1


async def test_a_heartbeat_sent_again_is_refused_at_the_relay_and_at_the_requester(
    fed: Fed,
) -> None:
    bus = fed.bus
    nodes = fed.nodes
    jpn = nodes["JPN"]
    jpn.recovery.add([OpenRequest("USA", T0 - 1, T0 + NS_PER_S, "test", request_id="b" * 32)])
    jpn.recovery.add([OpenRequest("ROK", T0 - 1, T0 + NS_PER_S, "test", request_id="c" * 32)])
    for party, request in (("USA", "b" * 32), ("ROK", "c" * 32)):
        beat = new_envelope(
            originator=party,
            seq=99,
            created=T0,
            label=SecurityLabel("UNCLASSIFIED", ("JPN",)),
            payload=Heartbeat(trk_id=0, interval_s=5.0),
            data_mode=None,
        )
        beat = sign(beat, KEYS[party].own)
        answer = Resend(
            trk_id=0,
            request=request,
            to="JPN",
            messages=(encode(beat),),
            part=1,
            last=True,
            retained_since=0,
        )
        await nodes[party].gateway.send_to(answer, "JPN")
    await bus.wait_idle()
    assert nodes["USA"].counters.get("relay.rejected.mislabelled") == 1  # ROK's, not_resendable
    assert jpn.counters.get("rejected.resend.mislabelled") == 1  # USA's, straight to JPN
    assert "USA" not in jpn.picture.heartbeats


async def test_an_answer_whose_parts_did_not_all_arrive_keeps_its_request_open(fed: Fed) -> None:
    bus = fed.bus
    nodes = fed.nodes
    jpn = nodes["JPN"]
    jpn.recovery.add([OpenRequest("USA", T0 - 1, T0 + NS_PER_S, "test", request_id="d" * 32)])
    answer = Resend(
        trk_id=0, request="d" * 32, to="JPN", messages=(), part=2, last=True, retained_since=0
    )
    await nodes["USA"].gateway.send_to(answer, "JPN")  # part 1 never came
    await bus.wait_idle()
    assert jpn.counters.get("recovery.waiting") == 1
    assert jpn.counters.get("recovery.complete") == 0
    assert len(jpn.recovery.open) == 1  # stays open: the next start asks again


def test_a_recovered_message_whose_logging_failed_is_taken_when_the_answer_comes_again(
    tmp_path: Path,
) -> None:
    clock = ManualClock(T0)
    jpn = _node("JPN", tmp_path, clock, MemoryBus(None, clock=clock))
    jpn.applied_log = FailingOnceStore()
    request = OpenRequest("ROK", T0 - 1, T0 + NS_PER_S, "test")
    message = envelope(track(trk_id=3), originator="ROK")
    with pytest.raises(StoreError):
        jpn.resends.take_again(message, request)
    assert message.msg_id not in request.have  # so the answer handled again applies it
    jpn.resends.take_again(message, request)
    assert jpn.counters.get("recovered") == 1
    assert [e.msg_id for e in jpn.applied_log.entries()] == [message.msg_id]


async def test_an_intact_entry_this_version_cannot_read_is_reported_and_kept(
    tmp_path: Path,
) -> None:
    from warnlink.transport.queue_store import entry_digest

    clock = ManualClock(T0)
    bus = MemoryBus(tmp_path / "bus", clock=clock)
    nodes = await _nodes(tmp_path, clock, bus)
    await nodes["ROK"].gateway.send(impact(trk_id=1), data_mode=DataMode.REAL)
    await bus.wait_idle()
    for node in nodes.values():
        await node.stop()
    path = tmp_path / "applied-JPN.sqlite"
    conn = sqlite3.connect(path)
    entry_id, subject, msg_id, time_ns = conn.execute(
        "SELECT id, subject, msg_id, time_ns FROM queue ORDER BY id LIMIT 1"
    ).fetchone()
    future = b"\x81\xa6schema\x63"  # a later schema version, digest and all
    conn.execute(
        "UPDATE queue SET data = ?, digest = ? WHERE id = ?",
        (future, entry_digest(subject, msg_id, future, time_ns), entry_id),
    )
    conn.commit()
    conn.close()
    jpn = _node("JPN", tmp_path, clock, bus)
    assert jpn.counters.get("applied_log.unreadable") == 1
    assert jpn.counters.get("applied_log.damaged") == 0
    assert jpn.recovery.open == []
    assert entry_id in [e.entry_id for e in jpn.applied_log.entries()]
    await jpn.stop()
    await bus.close()


def test_a_row_written_with_a_digest_that_reads_back_without_one_is_damaged(
    tmp_path: Path,
) -> None:
    path = tmp_path / "q.sqlite"
    store = SqliteQueueStore(path, what="outbox")
    store.append("s", "m", b"\x01", 5)
    store.close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE queue SET digest = NULL")
    conn.commit()
    conn.close()
    reopened = SqliteQueueStore(path, what="outbox")
    assert [e.intact for e in reopened.entries()] == [False]
    reopened.close()


def test_a_sent_archive_made_beside_an_older_outbox_keeps_nothing_from_before(
    tmp_path: Path,
) -> None:
    from warnlink.node import sent_archive

    clock = ManualClock(T0)
    fresh = sent_archive(tmp_path, "ROK", clock)
    assert fresh.pruned_before() == 0  # a new node: nothing was sent before it
    fresh.close()
    (tmp_path / "outbox-JPN.sqlite").touch()  # JPN ran before it had an archive
    upgraded = sent_archive(tmp_path, "JPN", clock)
    assert upgraded.pruned_before() == T0
    upgraded.close()
