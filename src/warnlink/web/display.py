"""One party's display: where its state comes from.

A `Display` is attached to one party (`interop.party.PartyView`: a running node is one)
and reads only its picture, which holds only what was released to the party, and the
alerts in force there (`alerting`), unless an alert source is given. Relay decisions
come from a source given to it (a callable), filtered for the party by
`view.build_state`. The party's area outlines (land, 12 nm, EEZ: `geo.areas`) are
served as a GeoJSON FeatureCollection.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final

import shapely.geometry

from warnlink.errors import ConfigError
from warnlink.geo.areas import Area, party_areas
from warnlink.interop.party import PartyView
from warnlink.sharing.audit import DecisionRecord
from warnlink.sources.health import SourceHealth
from warnlink.web.view import Alert, StateView, build_state

DecisionSource = Callable[[], Iterable[DecisionRecord]]
AlertSource = Callable[[], Sequence[Alert]]
#: The party's national sources' health now (`sources.health.HealthTracker.snapshot`).
SourceHealthSource = Callable[[], Sequence[SourceHealth]]

EMPTY_AREAS: Final[Mapping[str, Any]] = {"type": "FeatureCollection", "features": []}


def no_decisions() -> Iterable[DecisionRecord]:
    """A decision source with nothing in it."""
    return ()


def no_alerts() -> Sequence[Alert]:
    """An alert source with nothing in it."""
    return ()


def areas_geojson(areas: Iterable[Area]) -> dict[str, Any]:
    """`areas` as a GeoJSON FeatureCollection (properties: party, kind, name)."""
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"party": a.party, "kind": str(a.kind), "name": a.name},
                "geometry": shapely.geometry.mapping(a.geometry),
            }
            for a in areas
        ],
    }


class Display:
    """One party's operator display.

    Args:
        party: the party's code.
        party_name: its name, for the title.
        peers: its link peers, whose heartbeats give the link health.
        decisions: relay decisions (any party's: the view keeps those naming `party`).
        alerts: the party's alerts; by default those in force at the attached party.
        areas: the party's area outlines as a GeoJSON FeatureCollection; by default
            its packaged land, territorial sea and EEZ.
        sources: the health of the party's national sources (a node process's ports
            follow it); None: the display shows none (the demo's simulated trackers).
    """

    def __init__(
        self,
        party: str,
        party_name: str,
        peers: Sequence[str],
        *,
        decisions: DecisionSource = no_decisions,
        alerts: AlertSource | None = None,
        areas: Mapping[str, Any] | None = None,
        sources: SourceHealthSource | None = None,
    ) -> None:
        self.party = party
        self.party_name = party_name
        self.peers = tuple(peers)
        self.decisions = decisions
        self.alerts = alerts
        self.areas = areas_geojson(party_areas(party)) if areas is None else areas
        self.sources = sources
        self.node: PartyView | None = None

    def attach(self, node: PartyView) -> None:
        """Show this party's picture (a running node); it must be the display's own party.

        Raises:
            ConfigError: the node belongs to another party.
        """
        if node.party != self.party:
            raise ConfigError(f"{self.party}'s display cannot show {node.party}'s node")
        self.node = node

    def state(self) -> StateView:
        """What the display shows now."""
        return build_state(
            self.party,
            self.party_name,
            self.node,
            peers=self.peers,
            decisions=self.decisions(),
            alerts=None if self.alerts is None else self.alerts(),
            sources=() if self.sources is None else self.sources(),
        )
