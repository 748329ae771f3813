"""What every output reads of one party's node: the output port's one narrow source.

Outputs (the display, CoT, CAP, GeoJSON/KML, the output folder, /metrics) read a party
through `PartyView` and nothing else: its code, its picture (only what was released to
it), its alerting (alerts and the ledger of track states as applied), its clock and its
counters. A running `node.Node` is one, structurally, so `web/` and `interop/` need not
import the node (docs/architecture.md: split by handing values down, never by importing
back up); a test hands any object with these attributes.
"""

from __future__ import annotations

from typing import Protocol

from warnlink.alerting.monitor import AlertMonitor
from warnlink.counters import Counters
from warnlink.fusion.picture import Picture
from warnlink.model.time import Clock


class PartyView(Protocol):
    """One party's state as its outputs read it (read only)."""

    @property
    def party(self) -> str:
        """The party's code."""
        ...

    @property
    def picture(self) -> Picture:
        """Its picture: what it received and produced, by event."""
        ...

    @property
    def alerts(self) -> AlertMonitor:
        """Its alerting: alerts in force and sent, the ledger, the ground tracks."""
        ...

    @property
    def clock(self) -> Clock:
        """Its clock: "now" for staleness and for the outputs' times."""
        ...

    @property
    def counters(self) -> Counters:
        """Its counters: what it received, sent and refused."""
        ...
