"""The fault cases, each against real processes, each ending by itself.

1. kill -9 the relay process during a salvo, restart it;
2. cut the ROK-USA link (a TCP proxy on ROK's leaf remote) during a salvo, heal it;
3. duplicate storm: every message published again (under its own bus id, and under
   a fresh one that the stream cannot drop), the relay killed and restarted, JPN's node
   restarted (its unacked deliveries redelivered), all at once;
4. JPN's clock off by +-262 s, with the 300 s window (all kept) and a 200 s window
   (everything to or from JPN refused and counted, nothing else lost);
5. two relay instances on the same durable consumer: the standby killed, then the
   active one; the other carries on;
6. a byte changed in each of three stored messages of JPN's applied-log while its node
   is down (`faults.corrupt`): the restarted node reports them, and gets them again
   from ROK's sent-archive through the relay;
7. the soak: ten times the salvo rate for 10 minutes, memory growth and p99 latency
   drift per window (`faults.soak`);
8. a poison message from a peer mid-salvo: JPN's node, with its own credentials, sends
   every `faults.poison` shape (the 2,000-deep map first) into the relay's inbox and
   USA's node inbox; nothing accepted is lost and ROK's reports keep reaching JPN.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Final

from warnlink.faults.corrupt import flip_byte
from warnlink.faults.measure import CaseResult, Ledger
from warnlink.faults.poison import poison_messages
from warnlink.faults.rig import RELAY, RELAY_ACK_WAIT_S, Rig, Sizes
from warnlink.faults.soak import soak
from warnlink.model import decode, encode
from warnlink.model.time import NS_PER_S
from warnlink.sharing.audit import read_entries
from warnlink.sharing.subjects import node_inbox, relay_inbox
from warnlink.sharing.wire import publish_id
from warnlink.transport.queue_store import SqliteQueueStore

DEAD_S: Final = 1.0  # how long a killed relay stays down before its restart
SKEW_S: Final = 262.0
SKEWED: Final = "JPN"

CaseRun = Callable[[Path, Sizes], Awaitable[list[CaseResult]]]


async def _run(
    case: int,
    name: str,
    rig: Rig,
    fault: Callable[[Rig, asyncio.Event], Awaitable[None]],
    sizes: Sizes,
    originators: tuple[str, ...],
    *,
    relays: tuple[str, ...] = ("active",),
    outage: bool = True,
    hold: bool = False,
) -> CaseResult:
    """Start `rig`, send the salvo, pull the fault half-way, drain, stop; the figures.

    `fault` is given an event to set when it has struck; with `hold`, the salvo's second
    half waits for it, so that a fault slow to strike (a loaded machine) still has
    messages sent after it."""
    started = time.monotonic()
    await rig.start(relays=relays)
    try:
        half = asyncio.Event()
        struck = asyncio.Event()
        salvo = asyncio.create_task(
            rig.salvo(originators, sizes, sent=half, hold=struck if hold else None)
        )
        await half.wait()
        try:
            await fault(rig, struck)
        finally:
            struck.set()
        await salvo
        drained = await rig.drain(sizes.drain_s)
        notes: dict[str, int | float | str] = {**rig.counters(), "drained": str(drained)}
        notes["relay.rejected"] = _relay_rejections(rig)
        notes["relay_max_gap_s"] = _relay_max_gap_s(rig)
        notes["ack_wait_s"] = RELAY_ACK_WAIT_S
    finally:
        await rig.stop()
    return rig.ledger.result(
        case, name, duration_s=time.monotonic() - started, notes=notes, outage=outage
    )


def _relay_max_gap_s(rig: Rig) -> float:
    """The longest pause between two decisions of the relay (all instances): how long
    it stopped deciding, whatever the receivers' streams still held."""
    times = sorted(
        entry.time
        for log in (rig.folder / RELAY).glob(f"*/relay-{RELAY}.jsonl")
        for entry in read_entries(log)
    )
    gaps = [b - a for a, b in itertools.pairwise(times)]
    return round(max(gaps, default=0) / NS_PER_S, 2)


def _relay_rejections(rig: Rig) -> int:
    count = 0
    for log in (rig.folder / RELAY).glob(f"*/relay-{RELAY}.jsonl"):
        count += sum(1 for entry in read_entries(log) if entry.outcome == "rejected")
    return count


async def relay_kill(folder: Path, sizes: Sizes) -> list[CaseResult]:
    """Case 1."""

    async def fault(rig: Rig, _: asyncio.Event) -> None:
        rig.ledger.fault_began()
        rig.kill_relay()
        await asyncio.sleep(DEAD_S)
        rig.spawn_relay()
        rig.ledger.fault_ended()

    name = f"kill -9 the relay mid-salvo, restart it after {DEAD_S:g} s"
    rig = Rig(folder, Ledger())
    return [await _run(1, name, rig, fault, sizes, ("ROK",))]


async def link_cut(folder: Path, sizes: Sizes) -> list[CaseResult]:
    """Case 2."""

    async def fault(rig: Rig, _: asyncio.Event) -> None:
        assert rig.proxy is not None
        # Judged on USA -> ROK, which crosses the cut link and nothing else (ROK's
        # reports go through the relay, whose backlog would count too).
        rig.ledger.fault_began(frozenset({(RELAY, "ROK")}), sent_after=True)
        rig.proxy.cut()
        await asyncio.sleep(sizes.cut_s)
        rig.proxy.heal()
        rig.ledger.fault_ended()

    name = f"cut ROK-USA for {sizes.cut_s:g} s mid-salvo, heal it"
    rig = Rig(folder, Ledger(), cut_link=(RELAY, "ROK"))
    half = dataclasses.replace(sizes, tracks=max(sizes.tracks // 2, 1))  # two originators
    return [await _run(2, name, rig, fault, half, ("ROK", "USA"))]


async def duplicate_storm(folder: Path, sizes: Sizes) -> list[CaseResult]:
    """Case 3."""

    async def fault(rig: Rig, _: asyncio.Event) -> None:
        rig.ledger.fault_began()
        rig.kill_relay()
        bus = rig.buses["ROK"]
        subject = relay_inbox(RELAY, "ROK")
        sent = [e for e in rig.ledger.originals if e.originator == "ROK"]
        for i, envelope in enumerate(sent):
            data = encode(envelope)
            await bus.publish(subject, data, msg_id=publish_id(subject, envelope.msg_id))
            await bus.publish(subject, data, msg_id=f"storm-{i}-{envelope.msg_id}")
        await rig.restart_node("JPN")
        rig.spawn_relay()
        rig.ledger.fault_ended()

    name = "duplicate storm: every message re-published twice, relay kill -9, JPN node restart"
    rig = Rig(folder, Ledger())
    return [await _run(3, name, rig, fault, sizes, ("ROK",))]


async def clock_skew(folder: Path, sizes: Sizes) -> list[CaseResult]:
    """Case 4: four runs, JPN's clock +-262 s off, windows 300 s and 200 s."""
    small = dataclasses.replace(sizes, tracks=max(sizes.tracks // 10, 10), cut_s=0.0)

    async def nothing(rig: Rig, _: asyncio.Event) -> None:
        return

    results = []
    for window_s in (300.0, 200.0):
        for sign in (1, -1):
            skew = sign * SKEW_S
            ledger = Ledger()
            if window_s < SKEW_S:
                ledger.expect_refused(SKEWED)
            verdict = "refused" if window_s < SKEW_S else "kept"
            name = f"{SKEWED} clock {skew:+g} s, window {window_s:g} s: {verdict}"
            rig = Rig(
                folder / f"skew{sign:+d}-w{window_s:g}",
                ledger,
                window_s=window_s,
                skew_s={SKEWED: skew},
            )
            results.append(await _run(4, name, rig, nothing, small, ("ROK", SKEWED), outage=False))
    return results


async def standby_relay(folder: Path, sizes: Sizes) -> list[CaseResult]:
    """Case 5: two relay instances on one durable; kill the standby, then the active."""

    async def fault(rig: Rig, struck: asyncio.Event) -> None:
        rig.kill_relay("standby")
        await asyncio.sleep(DEAD_S)
        rig.spawn_relay("standby")
        await asyncio.sleep(DEAD_S)
        rig.ledger.fault_began()
        rig.kill_relay("active")
        rig.ledger.fault_ended()  # the standby carries on: no restart to wait for
        struck.set()
        await asyncio.sleep(DEAD_S)
        rig.spawn_relay("active")

    name = "two relays on one durable: kill -9 the standby, then the active"
    rig = Rig(folder, Ledger())
    # Held: two seconds of kills and spawns outlast the quick salvo's second half (2.5 s),
    # and on a loaded machine nothing was left to resume after the active's kill.
    run = await _run(5, name, rig, fault, sizes, ("ROK",), relays=("active", "standby"), hold=True)
    return [run]


DAMAGED: Final = 3  # applied-log entries changed in case 6
DAMAGE_WAIT_S: Final = 60.0  # at most, for JPN to hold enough of ROK's reports to damage
DAMAGED_PARTY: Final = "JPN"


async def damaged_store(folder: Path, sizes: Sizes) -> list[CaseResult]:
    """Case 6: JPN's node stopped mid-salvo; one byte changed in each of `DAMAGED` of its
    applied-log's entries (ROK's reports, from the middle of what it holds); restarted."""

    async def fault(rig: Rig, _: asyncio.Event) -> None:
        party = DAMAGED_PARTY
        # Half the salvo is sent; on a loaded machine the relay may not have brought JPN
        # any of ROK's reports yet, and there would be nothing to damage.
        deadline = time.monotonic() + DAMAGE_WAIT_S
        while rig.nodes[party].picture.received_from["ROK"] < 2 * DAMAGED:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{party} got too few of ROK's reports to damage")
            await asyncio.sleep(0.05)
        await rig.nodes[party].stop()
        path = rig.folder / party / f"applied-{party}.sqlite"
        store = SqliteQueueStore(path, what="applied-log")
        held = [(e.entry_id, decode(e.data)) for e in store.entries()]
        store.close()
        from_rok = [(i, env) for i, env in held if env.originator == "ROK"]
        middle = len(from_rok) // 2
        chosen = from_rok[middle : middle + DAMAGED]
        rig.ledger.fault_began(frozenset({("ROK", party)}))
        for entry_id, _envelope in chosen:
            flip_byte(path, entry_id)
        rig.ledger.store_lost(party, [env.derived_from or env.msg_id for _, env in chosen])
        rig.nodes[party] = rig.node(party)
        await rig.nodes[party].start()
        rig.ledger.fault_ended()

    name = f"a byte changed in {DAMAGED} stored messages of JPN's applied-log, node restarted"
    rig = Rig(folder, Ledger())
    (result,) = [await _run(6, name, rig, fault, sizes, ("ROK",))]
    keys = (
        "applied_log.damaged",
        "recovery.requested",
        "recovered",
        "recovery.complete",
        "recovery.incomplete",
        "resend.held",
        "resend.answered",
        "resend.messages",
    )
    notes = {**result.notes, **{k: rig.counter_total(k) for k in keys}}
    refilled = rig.ledger.refilled_at
    if refilled is not None and rig.ledger.fault_end is not None:
        notes["recovered_s"] = round(refilled - rig.ledger.fault_end, 2)
    return [dataclasses.replace(result, notes=notes)]


async def poison_from_a_peer(folder: Path, sizes: Sizes) -> list[CaseResult]:
    """Case 8: JPN's node sends poison into the relay's inbox and USA's node inbox
    mid-salvo; the relay and both nodes go on (each poison message one counter)."""
    bus_ids = itertools.count()
    rig = Rig(folder, Ledger())

    async def fault(rig: Rig, _: asyncio.Event) -> None:
        sent = [e for e in rig.ledger.originals if e.originator == "ROK"]
        poison = poison_messages(sent[-1])
        for subject in (relay_inbox(RELAY, "JPN"), node_inbox(RELAY, "JPN")):
            for shape, data in poison.items():
                bus_id = f"poison-{shape}-{next(bus_ids)}"
                await rig.buses["JPN"].publish(subject, data, msg_id=bus_id)

    name = "a poison message from a peer mid-salvo: 0 lost, link keeps flowing"
    (result,) = [await _run(8, name, rig, fault, sizes, ("ROK",), outage=False)]
    notes = {
        **result.notes,
        # 0: it ran until the rig stopped it; a consumer that ended would have ended it.
        "relay_exit": ",".join(str(p.returncode) for p in rig.spawned),
        **{k: rig.counter_total(k) for k in ("rejected.too_deep", "rejected.malformed")},
    }
    return [dataclasses.replace(result, notes=notes)]


CASES: Final[dict[int, CaseRun]] = {
    1: relay_kill,
    2: link_cut,
    3: duplicate_storm,
    4: clock_skew,
    5: standby_relay,
    6: damaged_store,
    7: soak,
    8: poison_from_a_peer,
}
NOT_DONE: Final[dict[int, str]] = {}
