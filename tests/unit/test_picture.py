"""The picture: applies each message once, groups contributions into events."""

from __future__ import annotations

import msgspec

from tests.factories import T0, envelope, impact, launch, track
from warnlink.fusion.picture import Picture
from warnlink.model import Envelope, EventStatus, Status, TrackReport
from warnlink.model.record import DataMode
from warnlink.model.time import NS_PER_S

#: 1 km and 100 m/s standard deviations, as the 21 upper-triangle entries.
KM_COV = tuple({0: 1e6, 6: 1e6, 11: 1e6, 15: 1e4, 18: 1e4, 20: 1e4}.get(i, 0.0) for i in range(21))


def _track_at(trk_id: int, originator: str, east_m: float, seq: int) -> Envelope:
    base = track(trk_id)
    x, y, z = base.pos
    moved: TrackReport = msgspec.structs.replace(base, pos=(x + east_m, y, z), cov=KM_COV)
    return envelope(moved, originator=originator, seq=seq)


def test_same_missile_from_two_originators_is_one_event() -> None:
    picture = Picture("USA")
    picture.apply(_track_at(1, "ROK", 0.0, 1), T0)
    picture.apply(_track_at(9, "JPN", 2_000.0, 1), T0)
    (event,) = picture.events.values()
    assert set(event.contributions) == {("ROK", 1), ("JPN", 9)}
    assert event.merged_from


def test_tracks_of_different_data_modes_are_never_one_event() -> None:
    """An exercise track flown where a real missile is stays apart from it, by track
    and by impact prediction alike."""
    picture = Picture("USA")
    picture.apply(_track_at(1, "ROK", 0.0, 1), T0)
    exercise = msgspec.structs.replace(_track_at(9, "JPN", 2_000.0, 1), data_mode=DataMode.EXERCISE)
    picture.apply(exercise, T0)
    assert len(picture.events) == 2
    assert {e.data_mode for e in picture.events.values()} == {DataMode.REAL, DataMode.EXERCISE}
    picture.apply(envelope(impact(1), originator="ROK", seq=2), T0)
    drill = msgspec.structs.replace(
        envelope(impact(9), originator="JPN", seq=2), data_mode=DataMode.EXERCISE
    )
    picture.apply(drill, T0)
    assert len(picture.events) == 2
    # The same pair in one mode is one event (the test above): the mode alone parts them.
    picture.apply(msgspec.structs.replace(_track_at(5, "USA", 1_000.0, 1), msg_id="f" * 32), T0)
    assert len(picture.events) == 2


def test_two_missiles_stay_two_events() -> None:
    picture = Picture("USA")
    picture.apply(_track_at(1, "ROK", 0.0, 1), T0)
    picture.apply(_track_at(2, "ROK", 500_000.0, 2), T0)
    picture.apply(_track_at(7, "JPN", 500_500.0, 1), T0)
    assert len(picture.events) == 2
    for event in picture.events.values():
        originators = [k[0] for k in event.contributions]
        assert len(originators) == len(set(originators))


def test_a_later_match_cannot_put_two_tracks_of_one_originator_together() -> None:
    picture = Picture("USA")
    picture.apply(_track_at(1, "ROK", 0.0, 1), T0)
    picture.apply(_track_at(1, "JPN", 1_000.0, 1), T0)  # event A: ROK1 + JPN1
    picture.apply(_track_at(2, "ROK", 900_000.0, 2), T0)
    picture.apply(_track_at(2, "USA", 901_000.0, 1), T0)  # event B: ROK2 + USA2
    # USA2's impact prediction happens to match event A's: B must not swallow ROK1's event.
    picture.apply(envelope(impact(1), originator="JPN", seq=2), T0)
    picture.apply(envelope(impact(2), originator="USA", seq=2), T0)
    assert len(picture.events) == 2
    for event in picture.events.values():
        originators = [k[0] for k in event.contributions]
        assert len(originators) == len(set(originators))


def test_messages_apply_once_and_count_by_originator() -> None:
    picture = Picture("JPN")
    message = envelope(launch(), originator="ROK")
    assert picture.apply(message, T0)
    assert not picture.apply(message, T0 + 1)
    assert picture.received_from["ROK"] == 1
    (event,) = picture.events.values()
    (contribution,) = event.contributions.values()
    assert contribution.launch == message.payload
    assert contribution.launch_received_ns == T0
    assert contribution.msg_ids == [message.msg_id]


def _lost(trk_id: int, originator: str, seq: int) -> Envelope:
    status = EventStatus(trk_id=trk_id, epoch=T0 + 60 * NS_PER_S, status=Status.LOST)
    return envelope(status, originator=originator, seq=seq)


def _later(message: Envelope, trk_id: int, seq: int, dt_s: float) -> Envelope:
    """The same report `dt_s` later, as track `trk_id` (impact time kept: same missile)."""
    payload = msgspec.structs.replace(message.payload, trk_id=trk_id, epoch=T0 + round(dt_s * 1e9))
    return envelope(payload, originator=message.originator, seq=seq)


def test_a_track_re_acquired_after_deletion_joins_its_event() -> None:
    picture = Picture("USA")
    picture.apply(_track_at(1, "ROK", 0.0, 1), T0)
    picture.apply(envelope(impact(1), originator="ROK", seq=2), T0)
    picture.apply(_lost(1, "ROK", 3), T0)
    # 300 s later ROK's radars see the missile again: a new track, too late to gate by state.
    picture.apply(_later(_track_at(1, "ROK", 0.0, 4), 5, 4, 300.0), T0)
    assert len(picture.events) == 2  # nothing to compare yet: its impact is not predicted
    picture.apply(_later(envelope(impact(1), originator="ROK", seq=5), 5, 5, 300.0), T0)
    (event,) = picture.events.values()
    assert set(event.contributions) == {("ROK", 1), ("ROK", 5)}


def test_a_track_still_held_keeps_a_second_track_of_its_originator_out() -> None:
    picture = Picture("USA")
    picture.apply(_track_at(1, "ROK", 0.0, 1), T0)
    picture.apply(envelope(impact(1), originator="ROK", seq=2), T0)
    picture.apply(_later(_track_at(1, "ROK", 0.0, 3), 5, 3, 300.0), T0)
    picture.apply(_later(envelope(impact(1), originator="ROK", seq=4), 5, 4, 300.0), T0)
    assert len(picture.events) == 2  # ROK1 was not reported lost: two missiles
