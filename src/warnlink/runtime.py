"""One party's node with its input port and its outputs: the runtime every node runs.

`warnlink up` runs one `NodeRuntime` per node process (`deploy.run_party`), ticking on
the system clock and serving its outputs until stopped; `warnlink demo` runs one per
party in one process, stepping a manual clock (`demo`). Both build it with
`NodeRuntime.open`, so a record takes the same path in both: a source hands it to the
intake (`sources.intake`), which journals it and hands it to the node, which reports it,
and the outputs read the party's picture and alerts.

An output is anything that runs beside the node until stopped and reads what the party
holds (`Output`): the display and its API, the CoT stream, the NATS ingest responder,
the CAP files. They are given to `serve`, not imported here, so the layers above (the
web display) hand themselves down rather than this module reaching up to them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, Final

from warnlink.errors import ConsumerEnded, TransportError
from warnlink.geo.areas import Area
from warnlink.model import Envelope
from warnlink.model.time import Clock
from warnlink.node import Node, watch_consumers
from warnlink.security.sign_window import SIGN_WINDOW_S
from warnlink.security.signing import PartyKeys
from warnlink.sharing.federation import Federation
from warnlink.sources.intake import AnswerHook, Intake
from warnlink.sources.journal import Journal, MemoryJournal, SqliteJournal
from warnlink.transport import Bus

log = logging.getLogger(__name__)

#: Seconds between two ticks of a node that runs on the system clock.
TICK_S: Final = 1.0


Output = Callable[["NodeRuntime", asyncio.Event], Coroutine[Any, Any, None]]
"""Something that runs beside a node until the event is set: it reads the runtime's
node (its picture, alerts, counters) and may hand records to its intake."""


def journal_in(folder: Path | None, party: str) -> Journal:
    """The party's ingest journal, ``ingest-<party>.sqlite`` in `folder` (memory if None)."""
    return MemoryJournal() if folder is None else SqliteJournal(folder / f"ingest-{party}.sqlite")


class NodeRuntime:
    """A node, its intake and (in `serve`) its outputs.

    Args:
        node: the party's node.
        intake: its input port, handing records to `node`.
    """

    def __init__(self, node: Node, intake: Intake) -> None:
        self.node = node
        self.intake = intake

    @property
    def party(self) -> str:
        return self.node.party

    @classmethod
    def open(
        cls,
        party: str,
        federation: Federation,
        bus: Bus,
        clock: Clock,
        *,
        keys: PartyKeys,
        folder: Path | None,
        host_relay: bool = True,
        zones: tuple[Area, ...] = (),
        on_original: Callable[[Envelope], None] | None = None,
        on_applied: Callable[[Envelope], None] | None = None,
        on_answer: AnswerHook | None = None,
        sign_window_s: float = SIGN_WINDOW_S,
    ) -> NodeRuntime:
        """A node whose stores (`node.stores`) and ingest journal are in `folder`
        (memory when None); see `Node` for the other arguments."""
        node = Node(
            party,
            federation,
            bus,
            clock,
            keys=keys,
            audit_dir=folder,
            on_original=on_original,
            host_relay=host_relay,
            zones=zones,
            on_applied=on_applied,
            sign_window_s=sign_window_s,
        )
        intake = Intake(
            party,
            journal_in(folder, party),
            node,
            clock,
            window_s=federation.freshness_window_s,
            counters=node.counters,
            on_answer=on_answer,
        )
        return cls(node, intake)

    async def start(self) -> None:
        """Start the node (outbox, recovery, inboxes), then the intake (what a restart
        left to hand over)."""
        await self.node.start()
        self.intake.start()

    async def tick(self) -> None:
        """The node's time-driven work (`Node.tick`)."""
        await self.node.tick()

    async def stop(self) -> None:
        """Close the journal and stop the node."""
        self.intake.journal.close()
        await self.node.stop()

    async def serve(
        self,
        stop: asyncio.Event,
        *,
        outputs: Sequence[Output] = (),
        every_s: float = TICK_S,
        on_tick: Callable[[NodeRuntime], None] | None = None,
    ) -> None:
        """Run on the node's clock until `stop` is set: hand records over as they come,
        tick every `every_s`, run every output beside; then stop them and the node.

        A consumer of the node's inboxes that ends before `stop` stops it too, and
        `ConsumerEnded` is raised: a node that no longer receives must not look alive.
        An output that ends before `stop` (it failed: a port taken, certificates
        unreadable) stops the runtime at once, rather than leaving a node nobody sees
        or feeds; its error is raised when it is awaited.
        """
        await self.start()
        watch_consumers(f"node-{self.party}", self.node.consumers, stop)
        tasks = [asyncio.create_task(self.intake.run(stop))]
        for output in outputs:
            task = asyncio.create_task(output(self, stop))
            task.add_done_callback(lambda _: stop.set())
            tasks.append(task)
        try:
            while not stop.is_set():
                try:
                    await self.tick()
                except TransportError as exc:
                    # A link that is down costs heartbeats, not the node.
                    self.node.counters.inc("transport.failed")
                    log.warning("%s node: %s", self.party, exc)
                if on_tick is not None:
                    on_tick(self)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), every_s)
        finally:
            consumer_ended = any(task.done() for task in self.node.consumers)
            stop.set()
            ended = await asyncio.gather(*tasks, return_exceptions=True)
            await self.stop()
        if consumer_ended:
            raise ConsumerEnded(f"node-{self.party}")
        for result in ended:
            if isinstance(result, Exception):
                raise result
