"""Alert lifecycle: issue, update, retract, all-clear, with hysteresis.

A pure state machine over immutable values: `step` takes the alerts in force and the
threats assessed now, and returns the new state and the messages to send. One alert per
(event, area, threat kind):

- issued (CAP ``Alert``) when the threat's probability reaches `ISSUE_AT` (0.05) before
  it ends, the event not lost;
- updated (``Update``) when the probability moves by `UPDATE_PROBABILITY` (0.10) or more,
  or the impact / entry / exit time by `UPDATE_TIME_S` (30 s) or more;
- retracted (``Cancel``) when the probability falls below `KEEP_ABOVE` (0.01; between
  0.01 and 0.05 an alert in force stays, so it does not flap), or when every originator
  of the event reported its track lost: at the first step after the status arrives,
  which runs every second, so well within 60 s of the originator's loss report;
- an overflight under way (past the predicted entry) is kept until its all-clear, since
  the paths flown from inside or past the area no longer enter it;
- all-clear (``Update`` with response AllClear) `ALL_CLEAR_AFTER_S` (30 s) after the
  predicted impact, or the predicted exit from an overflown area.

Every message names the messages its threat was derived from (`Threat.derived_from`)
and the earlier messages of the same alert (`Alert.references`).
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from warnlink.alerting.assess import Threat, ThreatKind
from warnlink.model.record import DataMode
from warnlink.model.time import NS_PER_S

ISSUE_AT: Final = 0.05
KEEP_ABOVE: Final = 0.01
UPDATE_PROBABILITY: Final = 0.10
UPDATE_TIME_S: Final = 30.0
ALL_CLEAR_AFTER_S: Final = 30.0

AlertKey = tuple[str, str, ThreatKind]
"""(event id, area name, threat kind)."""


class MsgType(enum.StrEnum):
    """CAP 1.2 message types used here."""

    ALERT = "Alert"
    UPDATE = "Update"
    CANCEL = "Cancel"


class Reason(enum.StrEnum):
    """Why a message was sent."""

    ISSUED = "issued"
    UPDATED = "updated"
    TRACK_LOST = "track lost"
    LEFT_AREA = "prediction left the area"
    ALL_CLEAR = "all clear"


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert message of one party.

    Attributes:
        identifier: unique, e.g. ``warnlink-JPN-JPN-E1-JPN_eez-impact-1``.
        party: the party warned (the sender).
        msg_type: Alert, Update or Cancel.  reason: why.
        sent_ns: UTC ns.
        threat: what it warns of (for a retraction: the last threat warned of).
        references: (identifier, sent_ns) of the earlier messages of this alert.
    """

    identifier: str
    party: str
    msg_type: MsgType
    reason: Reason
    sent_ns: int
    threat: Threat
    references: tuple[tuple[str, int], ...]

    @property
    def key(self) -> AlertKey:
        return (self.threat.event_id, self.threat.area, self.threat.kind)

    @property
    def data_mode(self) -> DataMode:
        """Whether the event warned of is real: the threat's data mode."""
        return self.threat.data_mode

    @property
    def lead_time_s(self) -> float:
        """Seconds left from sending to the impact or the entry over the area (>= 0)."""
        return max(0.0, (self.threat.start_ns - self.sent_ns) / NS_PER_S)


@dataclass(frozen=True, slots=True)
class AlertState:
    """The last message of one alert, whether it is in force, and how many were sent."""

    latest: Alert
    active: bool
    sent: int


Book = Mapping[AlertKey, AlertState]


def step(
    party: str,
    book: Book,
    threats: Sequence[Threat],
    lost_events: frozenset[str],
    now_ns: int,
) -> tuple[dict[AlertKey, AlertState], list[Alert]]:
    """Advance every alert of a party by one assessment; returns (new book, messages)."""
    current: dict[AlertKey, Threat] = {}
    for threat in threats:
        key = (threat.event_id, threat.area, threat.kind)
        if key not in current or threat.probability > current[key].probability:
            current[key] = threat
    new_book = dict(book)
    messages: list[Alert] = []
    for key in sorted(set(current) | {k for k, s in book.items() if s.active}):
        state = book.get(key)
        message = _next(party, state, current.get(key), key[0] in lost_events, now_ns)
        if message is None:
            continue
        active = message.msg_type is not MsgType.CANCEL and message.reason is not Reason.ALL_CLEAR
        sent = (state.sent if state else 0) + 1
        message = _numbered(message, sent)
        new_book[key] = AlertState(message, active, sent)
        messages.append(message)
    return new_book, messages


def _next(
    party: str, state: AlertState | None, threat: Threat | None, lost: bool, now_ns: int
) -> Alert | None:
    """The message one alert needs now, unnumbered (identifier filled by `_numbered`)."""
    if state is None or not state.active:
        if threat is None or threat.probability < ISSUE_AT or lost or now_ns >= threat.end_ns:
            return None
        return Alert("", party, MsgType.ALERT, Reason.ISSUED, now_ns, threat, ())
    last = state.latest
    chain = (*last.references, (last.identifier, last.sent_ns))
    shown = threat or last.threat
    if now_ns >= shown.end_ns + round(ALL_CLEAR_AFTER_S * NS_PER_S):
        return Alert("", party, MsgType.UPDATE, Reason.ALL_CLEAR, now_ns, shown, chain)
    if lost:
        return Alert("", party, MsgType.CANCEL, Reason.TRACK_LOST, now_ns, shown, chain)
    if threat is None and last.threat.kind is ThreatKind.OVERFLIGHT and now_ns >= shown.start_ns:
        return None  # over the area now: paths flown from here on no longer enter it
    if threat is None or threat.probability < KEEP_ABOVE:
        return Alert("", party, MsgType.CANCEL, Reason.LEFT_AREA, now_ns, shown, chain)
    if _changed(last.threat, threat):
        return Alert("", party, MsgType.UPDATE, Reason.UPDATED, now_ns, threat, chain)
    return None


def _changed(before: Threat, after: Threat) -> bool:
    moved_s = max(abs(after.start_ns - before.start_ns), abs(after.end_ns - before.end_ns))
    return (
        abs(after.probability - before.probability) >= UPDATE_PROBABILITY
        or moved_s >= UPDATE_TIME_S * NS_PER_S
    )


def _numbered(message: Alert, sent: int) -> Alert:
    """The message with its identifier: party, event, area, kind and its number in the alert."""
    threat = message.threat
    area = re.sub(r"[^A-Za-z0-9]+", "_", threat.area)
    identifier = f"warnlink-{message.party}-{threat.event_id}-{area}-{threat.kind}-{sent}"
    return dataclasses.replace(message, identifier=identifier)
