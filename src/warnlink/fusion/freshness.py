"""Freshness: each link's health from its heartbeats, and what in a picture went stale.

A link peer's gateway sends a heartbeat every `HEARTBEAT_INTERVAL_S` (5 s); the
picture keeps when the last one arrived (`Picture.heartbeats`). A link is **up** while
that heartbeat is at most `LINK_LATE_INTERVALS` intervals old (10 s), **late** up to
`LINK_DOWN_INTERVALS` (20 s), **down** after that or when none ever came
(`link_state`). `LinkWatch` turns the states seen over time into transitions (up to
down, down to up again after so long), which the node process prints.

A track state or impact prediction is **stale** when its event time (`epoch`) is more
than `STALE_AFTER_S` older than the node's clock: nothing refreshed it (`staleness`,
`stale_items`). A launch report is never stale: it states a past event, the launch,
which does not age; a better estimate replaces it, but none is due.

Pure: no I/O, no clock reads; the time comes in with each call.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from warnlink.fusion.picture import Contribution, Event, Picture
from warnlink.model.time import NS_PER_S
from warnlink.sharing.gateway import HEARTBEAT_INTERVAL_S

#: A track state or impact prediction not refreshed for this long is stale: three
#: heartbeat intervals. A tracked missile is reported at every estimate (about once a
#: second) and predicted at most every 5 s of event time (`Reporter.ipp_interval_s`), so
#: 15 s without a newer one means its originator lost it, the path to this party is
#: down, or the flight is over; one missed heartbeat's worth of delay is not enough.
STALE_AFTER_S: Final = 3 * HEARTBEAT_INTERVAL_S
#: A link is up while its last heartbeat is at most this many intervals old, late up
#: to `LINK_DOWN_INTERVALS`, down after that (or when none ever came).
LINK_LATE_INTERVALS: Final = 2
LINK_DOWN_INTERVALS: Final = 4

LinkStateName = Literal["up", "late", "down"]
ItemKind = Literal["track", "impact"]


@dataclass(frozen=True, slots=True)
class LinkState:
    """One bilateral link as the party sees it.

    Attributes:
        peer: the party at the other end.
        state: up, late or down.
        last_heartbeat_ns: when the peer's last heartbeat arrived, UTC ns; None if never.
        age_s: seconds since then; None if never.
    """

    peer: str
    state: LinkStateName
    last_heartbeat_ns: int | None
    age_s: float | None


def link_state(
    peer: str,
    last_heartbeat_ns: int | None,
    now_ns: int,
    *,
    interval_s: float = HEARTBEAT_INTERVAL_S,
) -> LinkState:
    """Up within 2 heartbeat intervals, late within 4, else (or never heard) down."""
    if last_heartbeat_ns is None:
        return LinkState(peer, "down", None, None)
    age_s = (now_ns - last_heartbeat_ns) / NS_PER_S
    state: LinkStateName = (
        "up"
        if age_s <= LINK_LATE_INTERVALS * interval_s
        else "late"
        if age_s <= LINK_DOWN_INTERVALS * interval_s
        else "down"
    )
    return LinkState(peer, state, last_heartbeat_ns, age_s)


def link_states(picture: Picture, peers: Iterable[str], now_ns: int) -> list[LinkState]:
    """Every link of the picture's party, in the order of `peers` (`Federation.peers`)."""
    return [link_state(peer, picture.heartbeats.get(peer), now_ns) for peer in peers]


def is_stale(epoch_ns: int, now_ns: int) -> bool:
    """Whether an item of event time `epoch_ns` is older than `STALE_AFTER_S` at `now_ns`."""
    return now_ns - epoch_ns > STALE_AFTER_S * NS_PER_S


@dataclass(frozen=True, slots=True)
class Staleness:
    """Whether a contribution's track state and impact prediction are stale.

    None where the contribution has no such item.
    """

    track: bool | None
    impact: bool | None

    @property
    def all_stale(self) -> bool:
        """Nothing here is fresh (also when there is no track or prediction at all)."""
        return self.track is not False and self.impact is not False


def staleness(contribution: Contribution, now_ns: int) -> Staleness:
    """The staleness of a contribution's latest track state and impact prediction."""
    track, impact = contribution.track, contribution.impact
    return Staleness(
        track=None if track is None else is_stale(track.epoch, now_ns),
        impact=None if impact is None else is_stale(impact.epoch, now_ns),
    )


def event_stale(event: Event, now_ns: int) -> bool:
    """An event is stale when every contribution's items are (`Staleness.all_stale`)."""
    return all(staleness(c, now_ns).all_stale for c in event.contributions.values())


@dataclass(frozen=True, slots=True)
class StaleItem:
    """A track state or impact prediction in the picture that was not refreshed."""

    event_id: str
    originator: str
    trk_id: int
    kind: ItemKind
    epoch_ns: int
    age_s: float


def stale_items(picture: Picture, now_ns: int) -> list[StaleItem]:
    """Every stale track state and impact prediction, by event, originator, track, kind."""
    items: list[StaleItem] = []
    for event in picture.events.values():
        for c in event.contributions.values():
            found: list[tuple[ItemKind, int]] = []
            if c.track is not None:
                found.append(("track", c.track.epoch))
            if c.impact is not None:
                found.append(("impact", c.impact.epoch))
            items += [
                StaleItem(
                    event.event_id, c.originator, c.trk_id, kind, epoch, _age_s(epoch, now_ns)
                )
                for kind, epoch in found
                if is_stale(epoch, now_ns)
            ]
    return sorted(items, key=lambda i: (i.event_id, i.originator, i.trk_id, i.kind))


def _age_s(epoch_ns: int, now_ns: int) -> float:
    return (now_ns - epoch_ns) / NS_PER_S


@dataclass(frozen=True, slots=True)
class LinkTransition:
    """A link that changed state between two looks.

    Attributes:
        peer: the party at the other end.
        before: the state at the previous look.
        after: the state now.
        at_ns: when it was seen, UTC ns.
        silent_s: late or down: seconds since the last heartbeat (None if never heard);
            up: seconds between the heartbeat before the silence and the one that ended
            it (None for the first heartbeat ever heard).
    """

    peer: str
    before: LinkStateName
    after: LinkStateName
    at_ns: int
    silent_s: float | None

    def describe(self, party: str) -> str:
        """One line for people, e.g. ``link JPN-USA down (no heartbeat for 21.0 s)``."""
        link = f"link {party}-{self.peer}"
        if self.after == "up":
            return (
                f"{link} up"
                if self.silent_s is None
                else f"{link} up again after {self.silent_s:.1f} s"
            )
        silence = "none yet" if self.silent_s is None else f"for {self.silent_s:.1f} s"
        return f"{link} {self.after} (no heartbeat {silence})"


class LinkWatch:
    """Link states looked at over time; `update` returns what changed since the last look.

    Before its first look a watch takes every link as down and never heard, so a node
    starting says each link that comes up, even one whose heartbeats were waiting for
    it. Any new heartbeat brings a link up, so the state before an up transition still
    holds the last heartbeat before the silence.
    """

    def __init__(self) -> None:
        self._seen: dict[str, LinkState] = {}

    def update(self, states: Sequence[LinkState], now_ns: int) -> list[LinkTransition]:
        """Record `states` (seen at `now_ns`); the transitions since the last look."""
        transitions: list[LinkTransition] = []
        for state in states:
            before = self._seen.get(state.peer, LinkState(state.peer, "down", None, None))
            if state.state != before.state:
                transitions.append(_transition(before, state, now_ns))
            self._seen[state.peer] = state
        return transitions


def _transition(before: LinkState, after: LinkState, now_ns: int) -> LinkTransition:
    if after.state != "up":
        silent_s = after.age_s
    elif before.last_heartbeat_ns is None or after.last_heartbeat_ns is None:
        silent_s = None
    else:
        silent_s = (after.last_heartbeat_ns - before.last_heartbeat_ns) / NS_PER_S
    return LinkTransition(after.peer, before.state, after.state, now_ns, silent_s)
