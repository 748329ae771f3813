"""MemoryBus throughput: publish + deliver + ack, 600-byte messages, one process.

One task publishes N messages while another consumes and acks them; the figure is
N divided by the time from the first publish to the last ack. Each message costs
three durable commits in the SQLite bus (append, delivery mark, ack), so the
reference is the rate of bare fsync'd single-row SQLite commits in the same folder,
measured in the same process; the ratio says how close the bus comes to that floor.

Run: ``.venv/bin/python bench/bus_throughput.py [--messages N] [--dir PATH]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sqlite3
import tempfile
import time
from pathlib import Path

from warnlink.transport import MemoryBus

MESSAGE_BYTES = 600


async def bus_rate(data_dir: Path | None, messages: int) -> float:
    """Messages per second through publish, deliver and ack."""
    bus = MemoryBus(data_dir)
    sub = await bus.subscribe("bench.>", durable="bench")
    payload = os.urandom(MESSAGE_BYTES)

    async def produce() -> None:
        for number in range(messages):
            await bus.publish("bench.track", payload, msg_id=f"m{number}")

    async def consume() -> None:
        for _ in range(messages):
            delivery = await sub.next()
            assert delivery is not None
            await sub.ack(delivery)

    start = time.perf_counter()
    await asyncio.gather(produce(), consume())
    elapsed = time.perf_counter() - start
    await bus.close()
    return messages / elapsed


def reference_commit_rate(folder: Path, commits: int) -> float:
    """Bare single-row commits per second, WAL + synchronous=FULL, like the bus."""
    conn = sqlite3.connect(folder / "reference.sqlite3", isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, data BLOB)")
    payload = os.urandom(MESSAGE_BYTES)
    start = time.perf_counter()
    for _ in range(commits):
        conn.execute("INSERT INTO t (data) VALUES (?)", (payload,))
    elapsed = time.perf_counter() - start
    conn.close()
    return commits / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--dir", type=Path, default=None, help="folder for the files")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        folder = Path(tmp)
        durable = asyncio.run(bus_rate(folder / "bus", args.messages))
        in_memory = asyncio.run(bus_rate(None, args.messages))
        reference = reference_commit_rate(folder, args.messages)

    print(f"machine: {platform.machine()}, {os.cpu_count()} cpus, {platform.platform()}")
    print(f"python {platform.python_version()}, sqlite {sqlite3.sqlite_version}")
    print(f"inputs: {args.messages} messages of {MESSAGE_BYTES} bytes, folder {folder.parent}")
    print(f"MemoryBus, SQLite file (WAL, FULL): {durable:,.0f} msgs/s publish+deliver+ack")
    print(f"MemoryBus, in-memory SQLite:        {in_memory:,.0f} msgs/s publish+deliver+ack")
    print(f"reference, bare fsync'd commits:    {reference:,.0f} commits/s")
    print(f"ratio durable bus / reference:      {durable / reference:.3f} (3 commits per message)")


if __name__ == "__main__":
    main()
