"""One party's display: where its state comes from.

A `Display` is attached to one party's node and reads only that node's picture, which
holds only what was released to the party. Relay decisions and alerts come from
sources given to it (callables), filtered for the party by `view.build_state`; the
party's area outlines (territory, 12 nm, EEZ) are a GeoJSON FeatureCollection given
to it. Until the alerting and areas packages provide them, both are empty.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final

from warnlink.errors import ConfigError
from warnlink.node import Node
from warnlink.sharing.audit import DecisionRecord
from warnlink.web.history import TrackHistory
from warnlink.web.view import Alert, StateView, build_state

DecisionSource = Callable[[], Iterable[DecisionRecord]]
AlertSource = Callable[[], Sequence[Alert]]

EMPTY_AREAS: Final[Mapping[str, Any]] = {"type": "FeatureCollection", "features": []}


def no_decisions() -> Iterable[DecisionRecord]:
    """A decision source with nothing in it."""
    return ()


def no_alerts() -> Sequence[Alert]:
    """An alert source with nothing in it."""
    return ()


class Display:
    """One party's operator display.

    Args:
        party: the party's code.
        party_name: its name, for the title.
        peers: its link peers, whose heartbeats give the link health.
        decisions: relay decisions (any party's: the view keeps those naming `party`).
        alerts: the party's alerts.
        areas: the party's area outlines as a GeoJSON FeatureCollection.
    """

    def __init__(
        self,
        party: str,
        party_name: str,
        peers: Sequence[str],
        *,
        decisions: DecisionSource = no_decisions,
        alerts: AlertSource = no_alerts,
        areas: Mapping[str, Any] = EMPTY_AREAS,
    ) -> None:
        self.party = party
        self.party_name = party_name
        self.peers = tuple(peers)
        self.decisions = decisions
        self.alerts = alerts
        self.areas = areas
        self.history = TrackHistory()
        self.node: Node | None = None

    def attach(self, node: Node) -> None:
        """Show this node's picture; it must be the display's own party's node.

        Raises:
            ConfigError: the node belongs to another party.
        """
        if node.party != self.party:
            raise ConfigError(f"{self.party}'s display cannot show {node.party}'s node")
        self.node = node

    def sample(self) -> None:
        """Record the tracks' new states (call as often as the picture changes)."""
        if self.node is not None:
            self.history.sample(self.node.picture)

    def state(self) -> StateView:
        """What the display shows now."""
        self.sample()
        node = self.node
        return build_state(
            self.party,
            self.party_name,
            None if node is None else node.picture,
            None if node is None else node.clock.now_ns(),
            peers=self.peers,
            history=self.history.points,
            decisions=self.decisions(),
            alerts=self.alerts(),
        )
