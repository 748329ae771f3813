"""The alert ledger keeps each track's states in time order, however they arrive."""

from __future__ import annotations

import msgspec

from tests.factories import envelope, track
from warnlink.alerting.ledger import Ledger
from warnlink.geo.wgs84 import ecef_to_lla


def test_track_states_are_kept_in_time_order_whatever_the_arrival_order() -> None:
    ledger = Ledger()
    for seq, offset_s in enumerate((0, 2, 1, 3, 3), start=1):
        report = msgspec.structs.replace(track(), epoch=track().epoch + offset_s * 10**9)
        ledger.record(envelope(report, seq=seq))
    points = ledger.track_points(("ROK", 1))
    assert [p.epoch - track().epoch for p in points] == [0, 10**9, 2 * 10**9, 3 * 10**9, 3 * 10**9]
    lat, lon, alt = ecef_to_lla(track().pos)
    assert abs(points[0].lat_deg - float(lat)) < 1e-12
    assert abs(points[0].lon_deg - float(lon)) < 1e-12
    assert abs(points[0].alt_m - float(alt)) < 1e-6
