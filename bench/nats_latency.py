"""Latency of one track report from ROK's node to JPN's picture over NATS, beside raw NATS.

The trilateral federation runs on three nats-server processes (one per party, leaf
links, `sync_interval: always`), with the three nodes in this process on the system
clock. ROK's gateway sends one track report at a time; the figure is the time from
the send to JPN's picture applying the relay's (redacted) product: ROK's publish into
USA's stream, the relay's decision, audit line and publish into JPN's stream, and
JPN's pull, edge checks and picture. One report is in flight at a time.

In the same run, the reference: on a plain server of the same build, a core NATS
publish to a subscriber on another connection, and a JetStream publish to its
acknowledgement (fsync'd), 600-byte payloads, one at a time.

Run: ``.venv/bin/python bench/nats_latency.py [--reports N]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import nats

from warnlink.deploy import NatsFederation
from warnlink.model import Envelope, Phase, TrackReport
from warnlink.model.time import SystemClock
from warnlink.node import Node
from warnlink.security.signing import ephemeral_keys
from warnlink.sharing.federation import load_federation
from warnlink.transport.nats import NatsBus, StreamSpec
from warnlink.transport.nats_server import start_standalone

ROOT = Path(__file__).resolve().parents[1]
MESSAGE_BYTES = 600


def _track(epoch_ns: int) -> TrackReport:
    return TrackReport(
        trk_id=1,
        epoch=epoch_ns,
        pos=(-3_100_000.0, 4_100_000.0, 3_900_000.0),
        vel=(1_000.0, 500.0, 1_500.0),
        phase=Phase.MIDCOURSE,
        trk_qual=9,
        cov=tuple(100.0 if i in (0, 6, 11, 15, 18, 20) else 0.0 for i in range(21)),
        sensor="ROK-R1",
    )


def _quantiles_ms(samples_s: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples_s, n=100, method="inclusive")
    return cuts[49] * 1e3, cuts[98] * 1e3


async def warnlink_latency(folder: Path, reports: int) -> list[float]:
    federation = load_federation(ROOT / "scenarios" / "trilateral.toml")
    network = await NatsFederation.start(federation, folder / "nats")
    clock = SystemClock()
    epoch_ns = clock.now_ns()
    keys = ephemeral_keys(federation.parties)
    nodes = {
        p: Node(
            p,
            federation,
            network.buses[p],
            clock,
            epoch_ns=epoch_ns,
            keys=keys[p],
            audit_dir=folder,
        )
        for p in federation.parties
    }
    arrived = asyncio.Event()
    jpn_picture = nodes["JPN"].picture
    apply = jpn_picture.apply

    def timed_apply(envelope: Envelope, received_ns: int) -> bool:
        applied = apply(envelope, received_ns)
        if isinstance(envelope.payload, TrackReport) and envelope.originator == "ROK":
            arrived.set()
        return applied

    jpn_picture.apply = timed_apply  # type: ignore[method-assign]
    samples: list[float] = []
    try:
        for node in nodes.values():
            await node.start()
        for number in range(reports + 20):  # the first 20 warm up connections and caches
            arrived.clear()
            started = time.perf_counter()
            await nodes["ROK"].gateway.send(_track(epoch_ns + number * 1_000_000))
            await asyncio.wait_for(arrived.wait(), timeout=10.0)
            if number >= 20:
                samples.append(time.perf_counter() - started)
    finally:
        for node in nodes.values():
            await node.stop()
        await network.close()
    return samples


async def raw_latency(folder: Path, messages: int) -> tuple[list[float], list[float]]:
    server = start_standalone(folder / "raw")
    payload = os.urandom(MESSAGE_BYTES)
    core: list[float] = []
    jetstream: list[float] = []
    try:
        publisher = await nats.connect(server.url)
        receiver = await nats.connect(server.url)
        got = asyncio.Event()

        async def on_message(_msg: object) -> None:
            got.set()

        await receiver.subscribe("raw.core", cb=on_message)
        await receiver.flush()
        for number in range(messages + 20):
            got.clear()
            started = time.perf_counter()
            await publisher.publish("raw.core", payload)
            await asyncio.wait_for(got.wait(), timeout=10.0)
            if number >= 20:
                core.append(time.perf_counter() - started)
        await publisher.close()
        await receiver.close()

        bus = await NatsBus.connect(
            server.url, stream="RAW", ensure=StreamSpec(name="RAW", subjects=("raw.js",))
        )
        for number in range(messages + 20):
            started = time.perf_counter()
            await bus.publish("raw.js", payload, msg_id=f"m{number}")
            if number >= 20:
                jetstream.append(time.perf_counter() - started)
        await bus.close()
    finally:
        server.stop()
    return core, jetstream


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="warnlink-nats-bench-") as tmp:
        folder = Path(tmp)
        report = await warnlink_latency(folder, args.reports)
        core, jetstream = await raw_latency(folder, args.reports)
    print(f"machine: {platform.machine()} {platform.processor() or ''}".rstrip(), end="; ")
    print(f"{os.cpu_count()} cores; Python {platform.python_version()}")
    rows = [
        ("ROK node -> JPN picture (via relay at USA, 3 servers)", report),
        ("raw core NATS publish -> subscriber (1 server)", core),
        ("raw JetStream publish -> ack, fsync always (1 server)", jetstream),
    ]
    for label, samples in rows:
        p50, p99 = _quantiles_ms(samples)
        print(f"{label:58s} n={len(samples):5d}  p50 {p50:7.3f} ms  p99 {p99:7.3f} ms")
    report_p50, _ = _quantiles_ms(report)
    js_p50, _ = _quantiles_ms(jetstream)
    print(f"ratio, report p50 / raw JetStream publish p50: {report_p50 / js_p50:.1f}")


if __name__ == "__main__":
    asyncio.run(main())
