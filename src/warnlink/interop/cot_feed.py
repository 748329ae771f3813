"""One party's picture streamed to TAK clients as Cursor-on-Target over TCP.

A `CotFeed` owns a `CotServer` and, every `every_s` seconds, publishes the CoT events
of every event in the party's picture (`cot.event_cot`: latest track, launch point,
impact point with its ellipse). Clients that connect later get the latest event of
every uid at once. The feed reads only the party's own picture, which holds only
what was released to the party.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Final

from warnlink.fusion.picture import Picture
from warnlink.interop.cot import CotEvent, event_cot
from warnlink.interop.cot_fanout import PUBLISH_EVERY_S
from warnlink.interop.cot_server import CotServer

#: Seconds between two publications of the picture: TAK clients expect about 1 Hz.
FEED_EVERY_S: Final = PUBLISH_EVERY_S

#: Where the feed reads from: the party's picture and the time now (UTC ns), or None
#: while there is no picture yet.
PictureSource = Callable[[], tuple[Picture, int] | None]


def picture_cot(party: str, source: PictureSource) -> Callable[[], list[CotEvent]]:
    """A callable giving the CoT events of `party`'s picture as `source` has it now."""

    def events() -> list[CotEvent]:
        current = source()
        if current is None:
            return []
        picture, now_ns = current
        return [cot for event in picture.events.values() for cot in event_cot(party, event, now_ns)]

    return events


class CotFeed:
    """Streams one party's picture as CoT to every connected TAK client."""

    def __init__(self, party: str) -> None:
        self.party = party
        self.server = CotServer()
        self.port: int | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen; returns the port (an ephemeral one when `port` is 0)."""
        self.port = await self.server.start(host, port)
        return self.port

    async def publish(self, picture: Picture, now_ns: int) -> int:
        """Send every event of `picture` as CoT; returns how many CoT events were sent."""
        return await self.server.publish(picture_cot(self.party, lambda: (picture, now_ns))())

    async def run(
        self, source: PictureSource, stop: asyncio.Event, every_s: float = FEED_EVERY_S
    ) -> None:
        """Publish what `source` gives every `every_s` until `stop` is set, then close."""
        try:
            await self.server.fanout.run(picture_cot(self.party, source), stop, every_s)
        finally:
            await self.server.close()
