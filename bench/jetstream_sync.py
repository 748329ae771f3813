"""JetStream publish rate with and without an fsync on every write, pipelined.

One nats-server (as `transport.nats_server.standalone_config` writes it: file storage,
``sync_interval: always``), one `NatsBus`, N 600-byte messages published through
`Bus.publish_pipelined` (at most 64 unanswered), the figure N over the time to the last
answer. The reference is the same server with the sync interval left at nats-server's
default (two minutes), measured in the same run: the ratio is what the durability
warnlink asks of a publish ack costs on this disk.

Run: ``.venv/bin/python bench/jetstream_sync.py [--messages N] [--rounds R]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

from warnlink.transport.nats import NatsBus, StreamSpec
from warnlink.transport.nats_server import NatsServer, free_port, standalone_config, write_config

MESSAGE_BYTES = 600


async def publish_rate(*, sync_always: bool, messages: int) -> float:
    """Acknowledged publishes per second on a fresh server."""
    with tempfile.TemporaryDirectory() as folder:
        port, monitor_port = free_port(), free_port()
        config = standalone_config(
            "bench", Path(folder) / "js", port=port, monitor_port=monitor_port
        )
        if not sync_always:
            del config["jetstream"]["sync_interval"]
        path = write_config(Path(folder) / "bench.conf", config)
        server = NatsServer(path, port=port, monitor_port=monitor_port).start()
        try:
            bus = await NatsBus.connect(
                server.url, stream="B", ensure=StreamSpec(name="B", subjects=("b.>",))
            )
            data = os.urandom(MESSAGE_BYTES)
            start = time.perf_counter()
            answers = [
                await bus.publish_pipelined("b.x", data, msg_id=f"m{n}") for n in range(messages)
            ]
            await asyncio.gather(*answers)
            took = time.perf_counter() - start
            await bus.close()
        finally:
            server.stop()
    return messages / took


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    for _ in range(args.rounds):
        always = await publish_rate(sync_always=True, messages=args.messages)
        default = await publish_rate(sync_always=False, messages=args.messages)
        print(
            f"sync_interval always: {always:,.0f} msgs/s; default: {default:,.0f} msgs/s; "
            f"ratio {always / default:.3f}"
        )


if __name__ == "__main__":
    asyncio.run(main())
