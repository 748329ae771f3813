"""Receiver: relayed messages a node applies per second on one core.

JPN's node, as `node.Node` makes it (applied-log, seen-store, outbox and audit log in a
temporary folder, on the embedded `MemoryBus` with its SQLite WAL log), consumes what
a salvo sends it: `MISSILES` missiles tracked by ROK and by USA at 1 Hz for `rounds`
seconds (`benchmarks.association.salvo_round`'s ballistic arcs), each track with a
launch report at its first report and an impact prediction every `IPP_EVERY_S` (both
near the arc's ground path, each originator's a little apart). Each originator signs
its messages `BATCH` at a time (`security.sign_window` does so in `warnlink up`).
ROK's reach JPN through USA's relay: a real `Relay` (`node.build_relay`, in memory)
decides on them a consumer batch at a time, redacts the sensor and countersigns its
products per batch; USA's come directly. Everything is on JPN's inbox before the clock
starts; the figure is from `Node.start` until the last message is applied (the node's
consumer: `node.consume` batches, `Node._handle_batch`, one group commit per batch),
on one event loop, the checks on it (no verify pool).

The reference, measured in the same run: the signature checks of the same envelopes
alone (`inbound.check_signatures`, decoded beforehand, a key set with an empty verify
cache: one Ed25519 check per batch root), the least a receiver must do per message.
Best of `runs` runs each. ``receiver.cpu_us``: the process's CPU time per message over
the same run (steadier than the wall-clock rate on a shared machine), against the
checks' CPU time.
"""

from __future__ import annotations

import asyncio
import math
import tempfile
import time
from pathlib import Path
from typing import Final

from warnlink.benchmarks.association import salvo_round
from warnlink.benchmarks.figure import Figure, Result, figure
from warnlink.benchmarks.relay import CountingBus, fresh, signed_in_batches
from warnlink.counters import Counters
from warnlink.demo import default_federation_path
from warnlink.model import (
    Ellipse,
    Envelope,
    ImpactPrediction,
    LaunchReport,
    Payload,
    decode,
    encode,
    new_envelope,
)
from warnlink.model.payloads import kind_of
from warnlink.model.record import DataMode
from warnlink.model.time import ManualClock
from warnlink.node import Node, build_relay
from warnlink.node.consume import BATCH_MAX
from warnlink.security.signing import PartyKeys, ephemeral_keys
from warnlink.sharing.federation import Federation, load_federation
from warnlink.sharing.inbound import check_signatures
from warnlink.sharing.subjects import node_inbox, relay_inbox
from warnlink.transport import Delivery, MemoryBus, PublishAck

MISSILES: Final = 100
ORIGINATORS: Final = ("ROK", "USA")
"""ROK's reach JPN through USA's relay, USA's directly."""
RECEIVER: Final = "JPN"
RELAY: Final = "USA"
BATCH: Final = 64
IPP_EVERY_S: Final = 5
TARGET_RATE: Final = 6_000.0
"""20 times a 100-missile salvo seen by three parties at 1 Hz."""
T0: Final = 1_700_000_000 * 10**9


class CapturingBus(CountingBus):
    """A `Bus` that keeps everything published (the relay's products)."""

    def __init__(self) -> None:
        super().__init__()
        self.kept: list[tuple[str, bytes, str]] = []

    async def publish(self, subject: str, data: bytes, *, msg_id: str) -> PublishAck:
        self.kept.append((subject, data, msg_id))
        return await super().publish(subject, data, msg_id=msg_id)


def _extras(originator: str, trk_id: int, epoch: int, first: bool) -> list[Payload]:
    """The launch report (first round) and the impact prediction due of one track."""
    lag = 0.02 * ORIGINATORS.index(originator)  # each originator's estimate a little apart
    out: list[Payload] = []
    if first:
        out.append(
            LaunchReport(
                trk_id=trk_id,
                launch_time=epoch - 200 * 10**9,
                launch_time_sigma_s=2.0,
                launch_lat=39.2 + lag + 0.001 * trk_id,
                launch_lon=125.7 + lag,
                launch_aou=Ellipse(5_000.0, 3_000.0, 80.0),
            )
        )
    out.append(
        ImpactPrediction(
            trk_id=trk_id,
            epoch=epoch,
            impact_time=epoch + 400 * 10**9,
            impact_time_sigma_s=3.0,
            impact_lat=41.5 + lag + 0.002 * trk_id,
            impact_lon=139.0 + lag,
            impact_aou=Ellipse(20_000.0, 8_000.0, 75.0),
        )
    )
    return out


def originals(federation: Federation, missiles: int, rounds: int) -> list[Envelope]:
    """Every message of the salvo, unsigned, in the order the originators made them."""
    seqs = dict.fromkeys(("ROK", "JPN", "USA"), 0)
    numbered = dict.fromkeys(ORIGINATORS, 0)
    out: list[Envelope] = []
    for number in range(rounds):
        for report in salvo_round(missiles, number, seqs):
            originator = report.originator
            if originator not in ORIGINATORS:
                continue
            payloads: list[Payload] = [report.payload]
            if number % IPP_EVERY_S == 0:
                trk_id = report.payload.trk_id
                payloads += _extras(originator, trk_id, report.created, number == 0)
            for payload in payloads:
                numbered[originator] += 1
                out.append(
                    new_envelope(
                        originator=originator,
                        seq=numbered[originator],
                        created=report.created,
                        label=federation.label_for(originator, kind_of(payload)),
                        payload=payload,
                        data_mode=DataMode.TEST,
                    )
                )
    return out


async def _relayed(
    federation: Federation, keys: dict[str, PartyKeys], envelopes: list[Envelope], now_ns: int
) -> dict[str, tuple[str, bytes, str]]:
    """What USA's relay sends JPN of `envelopes` (ROK's), by the original's id."""
    bus = CapturingBus()
    relay = build_relay(RELAY, federation, bus, ManualClock(now_ns), keys[RELAY], None, Counters())
    to_relay = [
        Delivery(relay_inbox(RELAY, e.originator), encode(e), n + 1, e.msg_id, now_ns, False)
        for n, e in enumerate(envelopes)
    ]
    for start in range(0, len(to_relay), BATCH_MAX):
        await relay.handle_batch(to_relay[start : start + BATCH_MAX])
    await relay.outbox.settle()
    inbox = node_inbox(RECEIVER, RELAY)
    return {decode(data).msg_id: (s, data, m) for s, data, m in bus.kept if s == inbox}


def deliveries(
    federation: Federation, keys: dict[str, PartyKeys], missiles: int, rounds: int, now_ns: int
) -> list[tuple[str, bytes, str]]:
    """(subject, bytes, msg id) of everything the salvo sends JPN, in the order it
    arrives: ROK's relay products and USA's own messages, each originator's in order."""
    envelopes = signed_in_batches(originals(federation, missiles, rounds), keys, BATCH)
    products = asyncio.run(
        _relayed(federation, keys, [e for e in envelopes if e.originator == "ROK"], now_ns)
    )
    inbox = node_inbox(RECEIVER, RELAY)
    return [
        products[e.msg_id] if e.originator == "ROK" else (inbox, encode(e), e.msg_id)
        for e in envelopes
    ]


async def _receive(
    federation: Federation,
    keys: dict[str, PartyKeys],
    given: list[tuple[str, bytes, str]],
    folder: Path,
    now_ns: int,
) -> tuple[float, float, Counters]:
    """Seconds JPN's node takes to consume `given` from its inbox, the process's CPU
    seconds meanwhile, and the node's counters."""
    bus = MemoryBus(folder / "bus")
    answers = [await bus.publish_pipelined(s, data, msg_id=m) for s, data, m in given]
    await asyncio.gather(*answers)
    node = Node(
        RECEIVER,
        federation,
        bus,
        ManualClock(now_ns),
        keys=fresh(keys[RECEIVER]),
        audit_dir=folder / "node",
        host_relay=False,
        on_applied=lambda _: node.counters.inc("receiver.applied"),
    )
    start, cpu_start = time.perf_counter(), time.process_time()
    await node.start()
    await bus.wait_idle()
    elapsed, cpu_s = time.perf_counter() - start, time.process_time() - cpu_start
    await node.stop()
    await bus.close()
    return elapsed, cpu_s, node.counters


def _checks_only(
    keys: dict[str, PartyKeys], given: list[tuple[str, bytes, str]], rounds: int
) -> tuple[float, float]:
    """Best wall and CPU seconds of the signature checks of `given` alone, an empty
    verify cache each round."""
    envelopes = [decode(data) for _, data, _ in given]
    best = best_cpu = math.inf
    for _ in range(rounds):
        keyset = fresh(keys[RECEIVER]).keyset
        start, cpu_start = time.perf_counter(), time.process_time()
        for envelope in envelopes:
            check_signatures(envelope, sender=RELAY, keyset=keyset)
        best = min(best, time.perf_counter() - start)
        best_cpu = min(best_cpu, time.process_time() - cpu_start)
    return best, best_cpu


def run(quick: bool = False) -> Result:
    """The receiver figure (see the module docstring)."""
    return measure(MISSILES, *((10, 2) if quick else (30, 3)))


def measure(missiles: int, rounds: int, runs: int) -> Result:
    """The receiver figure for `missiles` tracked `rounds` seconds, best of `runs`."""
    federation = load_federation(default_federation_path())
    keys = ephemeral_keys(federation.parties)
    now_ns = T0 + rounds * 10**9  # the node's clock: every message inside the window
    given = deliveries(federation, keys, missiles, rounds, now_ns)
    count = len(given)
    ref_s, ref_cpu_s = _checks_only(keys, given, max(runs, 3))
    ref_rate = count / ref_s
    best = best_cpu_s = math.inf
    counters = Counters()
    with tempfile.TemporaryDirectory(prefix="warnlink-bench-receiver-") as tmp:
        for number in range(runs):
            folder = Path(tmp) / str(number)
            folder.mkdir()
            elapsed, cpu_s, seen = asyncio.run(_receive(federation, keys, given, folder, now_ns))
            best_cpu_s = min(best_cpu_s, cpu_s)
            if elapsed < best:
                best, counters = elapsed, seen
    rate = count / best
    figures: list[Figure] = [
        figure(
            "receiver.rate",
            rate,
            "msgs/s",
            "signature checks of the same messages (one Ed25519 per batch root)",
            ref_rate,
            target=f">= {TARGET_RATE:,.0f} msgs/s",
            met=rate >= TARGET_RATE,
        ),
        figure(
            "receiver.cpu_us",
            best_cpu_s / count * 1e6,
            "us/msg",
            "CPU of the signature checks of the same messages",
            ref_cpu_s / count * 1e6,
            target=f"<= {1e6 / TARGET_RATE:.0f} us/msg",
            met=best_cpu_s / count * 1e6 <= 1e6 / TARGET_RATE,
        ),
    ]
    tally = counters.as_dict()
    return Result(
        "receiver",
        figures,
        {
            "messages": count,
            "missiles": missiles,
            "rounds": rounds,
            "runs": runs,
            "originators": "ROK through USA's relay (sensor withheld), USA directly",
            "signed_in_batches_of": BATCH,
            "message_bytes": sum(len(d) for _, d, _ in given) // count,
            "applied": tally.get("receiver.applied", 0),
            "received": {k: v for k, v in tally.items() if k.startswith("received.")},
            "rejected": {k: v for k, v in tally.items() if k.startswith("rejected")},
        },
    )
