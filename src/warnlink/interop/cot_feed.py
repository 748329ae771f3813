"""One party's picture streamed to TAK clients as Cursor-on-Target over TCP.

A `CotFeed` owns a `CotServer` and, every `every_s` seconds, publishes the CoT events
of every event in the party's picture (`cot.event_cot` of its projection: latest track,
launch point, impact point with its ellipse). Clients that connect later get the latest
event of every uid at once. The feed reads only the party (`party.PartyView`), whose
picture holds only what was released to it. `picture_cot` is the same reading for any
other server (the node's TLS CoT stream, `sources.cot_stream`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Final

from warnlink.errors import ConfigError
from warnlink.interop.cot import CotEvent, event_cot
from warnlink.interop.cot_fanout import PUBLISH_EVERY_S
from warnlink.interop.cot_server import CotServer
from warnlink.interop.party import PartyView
from warnlink.interop.projection import project_party

#: Seconds between two publications of the picture: TAK clients expect about 1 Hz.
FEED_EVERY_S: Final = PUBLISH_EVERY_S

#: Where the feed reads from: the party, or None while it is not running yet.
PartySource = Callable[[], PartyView | None]


def party_cot(view: PartyView) -> list[CotEvent]:
    """The CoT events of every event in the party's picture, as of its clock."""
    return [cot for event in project_party(view).events for cot in event_cot(event)]


def picture_cot(party: str, source: PartySource) -> Callable[[], list[CotEvent]]:
    """A callable giving the CoT events of `party`'s picture as `source` has it now.

    Raises (when called):
        ConfigError: the source gives another party's view.
    """

    def events() -> list[CotEvent]:
        view = source()
        if view is None:
            return []
        if view.party != party:
            raise ConfigError(f"{party}'s CoT feed cannot stream {view.party}'s picture")
        return party_cot(view)

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

    async def publish(self, view: PartyView) -> int:
        """Send every event of the party's picture as CoT, as of its clock; returns how many
        CoT events were sent.

        Raises:
            ConfigError: the view is another party's.
        """
        return await self.server.publish(picture_cot(self.party, lambda: view)())

    async def run(
        self, source: PartySource, stop: asyncio.Event, every_s: float = FEED_EVERY_S
    ) -> None:
        """Publish what `source` gives every `every_s` until `stop` is set, then close."""
        try:
            await self.server.fanout.run(picture_cot(self.party, source), stop, every_s)
        finally:
            await self.server.close()
