"""What a picture's track association needs, kept as events change, so no report scans them all.

`Picture._assign_tracks` joins an originator's *pending* events (events of its own
contributions only, with a track, not all reported lost) to *candidate* events (events
with a track that the originator does not hold). Its outcome is a function of those
events' contents alone, so it can only differ from the last time it ran for an originator
once a pending event of that originator, or a candidate for it, has changed. The index
keeps, as every change is reported to it (`refresh`, `forget`):

- each originator's pending events, and the keys of its contributions;
- each event's holding originators (`Event.holding_originators`) and creation number;
- which originators' assignment could now come out differently (dirty): the owner of a
  changed pending event, and every originator that does not hold a changed event before
  and after the change (it is, or was, a candidate for them). A removed event makes
  every originator dirty.

In the steady state of a salvo every event is held by every originator that tracks it,
so a routine report dirties nobody and the assignment is skipped at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from warnlink.fusion.event import ContributionKey, Event


class TrackIndex:
    """The pending events by originator, holding originators by event, and who is dirty."""

    def __init__(self) -> None:
        #: Creation number of each event (its place in `Picture.events`).
        self.serial: dict[str, int] = {}
        #: Holding originators of each event.
        self.held: dict[str, frozenset[str]] = {}
        #: Every contribution key of each originator (keys are never removed).
        self.keys_of: dict[str, set[ContributionKey]] = {}
        self._pending: dict[str, set[str]] = {}
        self._owner: dict[str, str] = {}
        self._dirty: set[str] = set()

    def refresh(self, event: Event) -> None:
        """Record that `event` was created or changed (contributions, tracks, status)."""
        before = self.held.get(event.event_id, frozenset())
        held = frozenset(event.holding_originators())
        self.held[event.event_id] = held
        self._drop_pending(event.event_id)
        if len(held) == 1 and event.originators() == held and event.latest_track():
            (owner,) = held
            self._owner[event.event_id] = owner
            self._pending.setdefault(owner, set()).add(event.event_id)
            self._dirty.add(owner)
        stable = before & held
        self._dirty.update(o for o in self.keys_of if o not in stable)

    def forget(self, event_id: str) -> None:
        """Record that the event is gone (merged or moved away)."""
        del self.held[event_id], self.serial[event_id]
        self._drop_pending(event_id)
        self._dirty.update(self.keys_of)

    def take_pending(self, originator: str) -> list[str]:
        """The originator's pending events, by creation, if its assignment could come out
        differently since it was last taken (no longer dirty after this); else none."""
        pending = self._pending.get(originator)
        if not pending or originator not in self._dirty:
            return []
        self._dirty.discard(originator)
        return sorted(pending, key=self.serial.__getitem__)

    def _drop_pending(self, event_id: str) -> None:
        owner = self._owner.pop(event_id, None)
        if owner is not None:
            self._pending[owner].discard(event_id)
            self._dirty.add(owner)
