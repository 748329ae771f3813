"""The alert monitor caches assessments only of events still in the picture."""

from __future__ import annotations

import msgspec

from tests.factories import T0, envelope, impact
from warnlink.alerting.monitor import AlertMonitor
from warnlink.fusion.picture import Picture


def test_an_event_merged_away_leaves_the_monitor_s_caches() -> None:
    picture, monitor = Picture("JPN"), AlertMonitor("JPN")
    picture.apply(envelope(impact(1), originator="ROK", seq=1), T0)
    far = msgspec.structs.replace(impact(2), impact_lat=30.0, impact_lon=150.0)
    picture.apply(envelope(far, originator="USA", seq=1), T0)
    monitor.update(picture, T0)
    assert len(picture.events) == 2
    assert monitor.cached == frozenset(picture.events)
    # USA's next prediction agrees with ROK's: its contribution joins ROK's event, and
    # the event it leaves empty is gone from the picture.
    picture.apply(envelope(impact(2), originator="USA", seq=2), T0)
    (event_id,) = picture.events
    monitor.update(picture, T0 + 1)
    assert monitor.cached == {event_id}
