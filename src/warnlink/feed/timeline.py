"""Where a scenario lands on the wall clock when `warnlink feed` plays it: in real time.

A running federation's nodes read the system clock, and every check they make compares
a state's time with it: the intake refuses a state outside the federation's freshness
window (300 s by default: ``stale``, ``future``); a track or impact prediction not
refreshed for `fusion.freshness.STALE_AFTER_S` (15 s) is shown stale; a track silent
for the reporter's ``lost_after_s`` (60 s) is reported lost; an alert's lead time is
the predicted impact time less now. So the feed moves the scenario's epoch to now and
plays it at the pace it happened: each record is sent when its national tracker would
have made it available (measurement time plus the sensor's latency), and says the time
its state holds. Every node then sees each state exactly as old as a real feed's would
be, and its checks judge what they would judge in service.

Playing faster cannot keep that. The states of one flight must keep their true spacing
(positions and velocities are tied by physics), so at speed X a state sent t seconds
after the first is (t (1 - 1/X)) s older at the node than the first one was, if the
last is not to be in the future. The default scenario's states span 666 s: at X = 1.5
the first ones would arrive 222 s old, long past the 60 s after which the node reports
the track lost; at X = 2 beyond the 300 s window, refused. Sent as if new (their times
compressed), they would describe a flight that cannot fly. Hence no speed: the feed
skips only the silence before the first record falls due (`LEAD_S` after the start),
and `until_s` stops it early (a test, a rehearsal of the first minutes).

Pure: the start time comes in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from warnlink.errors import ConfigError
from warnlink.model.time import NS_PER_S
from warnlink.model.track_estimate import TrackEstimate

#: Seconds between the start of the playback and the first record falling due.
LEAD_S: Final = 2.0


@dataclass(frozen=True, slots=True)
class Timeline:
    """The scenario placed on the wall clock.

    Attributes:
        epoch_ns: the scenario's time 0, UTC ns (the scenario file's epoch, moved).
        until_s: the last scenario second whose records are played (inclusive).
        end_ns: when the playback ends, UTC ns: `until_s` (or the last impact) plus the
            tail, for statuses, alerts and stragglers.
    """

    epoch_ns: int
    until_s: float
    end_ns: int

    def wall_ns(self, scenario_s: float) -> int:
        """The wall-clock time (UTC ns) of a scenario time (s after the epoch)."""
        return self.epoch_ns + round(scenario_s * NS_PER_S)

    def scenario_s(self, wall_ns: int) -> float:
        """The scenario time (s after the epoch) of a wall-clock time (UTC ns)."""
        return (wall_ns - self.epoch_ns) / NS_PER_S


def place(
    estimates: Iterable[TrackEstimate],
    last_impact_s: float,
    *,
    start_ns: int,
    until_s: float | None = None,
    tail_s: float,
    lead_s: float = LEAD_S,
) -> Timeline:
    """Place a scenario so that its first record falls due `lead_s` after `start_ns`.

    Args:
        estimates: every party's tracker estimates (`sources.simulation.simulate_trackers`).
        last_impact_s: the last true impact, s after the scenario's epoch.
        start_ns: now, UTC ns.
        until_s: play the records falling due up to this scenario time only; None: all.
        tail_s: seconds played after `until_s`, or after the last impact.
        lead_s: seconds from the start to the first record.

    Raises:
        ConfigError: no record to play, a negative tail or lead, or `until_s` before the
            first record.
    """
    due = [e.available_s for e in estimates]
    if not due:
        raise ConfigError("the scenario gives no party a record to send")
    if tail_s < 0 or lead_s < 0:
        raise ConfigError(f"the tail and the lead must not be negative ({tail_s}, {lead_s})")
    first_s = min(due)
    if until_s is not None and until_s < first_s:
        raise ConfigError(
            f"--until {until_s:g} s is before the first record, due {first_s:g} s after the "
            "scenario's epoch"
        )
    last_s = max(max(due), last_impact_s) if until_s is None else until_s
    epoch_ns = start_ns + round((lead_s - first_s) * NS_PER_S)
    return Timeline(
        epoch_ns=epoch_ns,
        until_s=last_s,
        end_ns=epoch_ns + round((last_s + tail_s) * NS_PER_S),
    )
