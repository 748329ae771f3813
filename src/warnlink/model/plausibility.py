"""Rules a decoded message must also meet: its fields together are physical.

Decoding already bounds every field on its own (`model.bounds`); these rules relate
fields to each other and to the envelope's creation time, whose own distance from the
receiver's clock is the freshness window's business (`sharing.replay`). Receivers
check them at their edge and the relay before deciding; the originator's gateway
before sending, so that it never sends what its receivers would refuse.

- A track state's height above the WGS-84 ellipsoid is in (`MIN_ALTITUDE_M`,
  `MAX_ALTITUDE_M`] and its speed under `MAX_SPEED_MPS`.
- An event time (a state's epoch, a launch time, a status's epoch) is no later than
  `created` plus the freshness window (the skew the federation tolerates), and no
  earlier than `created` minus the window and `MAX_FLIGHT_S` (a launch precedes the
  states of its flight by at most a flight).
- A predicted impact is after the state it was predicted from (less three of its
  own time sigmas and a second: a national system's prediction from a state at the
  ground), and at most `MAX_FLIGHT_S` after it.
"""

from __future__ import annotations

import math

from warnlink.errors import ImplausibleMessage
from warnlink.geo.wgs84 import ecef_to_lla_one
from warnlink.model.bounds import MAX_ALTITUDE_M, MAX_FLIGHT_S, MAX_SPEED_MPS, MIN_ALTITUDE_M
from warnlink.model.envelope import Envelope
from warnlink.model.payloads import EventStatus, ImpactPrediction, LaunchReport, TrackReport
from warnlink.model.time import NS_PER_S


def check_plausible(envelope: Envelope, *, window_s: float) -> None:
    """Check `envelope`'s payload against the rules above.

    Args:
        envelope: a decoded envelope.
        window_s: the federation's freshness window, s.

    Raises:
        ImplausibleMessage: naming the first rule broken and its field.
    """
    payload = envelope.payload

    def refuse(message: str, rule: str, field: str) -> ImplausibleMessage:
        return ImplausibleMessage(message, rule=rule, field=field, msg_id=envelope.msg_id)

    def event_time(value_ns: int, field: str) -> None:
        ahead_s = (value_ns - envelope.created) / NS_PER_S
        if ahead_s > window_s:
            raise refuse(f"{field} is {ahead_s:.0f} s after the message was made", "future", field)
        if -ahead_s > window_s + MAX_FLIGHT_S:
            raise refuse(
                f"{field} is {-ahead_s:.0f} s before the message was made", "too_old", field
            )

    match payload:
        case TrackReport():
            event_time(payload.epoch, "epoch")
            height_m = ecef_to_lla_one(*payload.pos)[2]
            if not MIN_ALTITUDE_M < height_m <= MAX_ALTITUDE_M:
                raise refuse(
                    f"height {height_m / 1000.0:.3f} km is off the Earth", "altitude", "pos"
                )
            speed_mps = math.hypot(*payload.vel)
            if speed_mps >= MAX_SPEED_MPS:
                raise refuse(f"speed {speed_mps / 1000.0:.3f} km/s", "speed", "vel")
        case LaunchReport():
            event_time(payload.launch_time, "launch_time")
        case EventStatus():
            event_time(payload.epoch, "epoch")
        case ImpactPrediction():
            event_time(payload.epoch, "epoch")
            flight_s = (payload.impact_time - payload.epoch) / NS_PER_S
            if flight_s < -(3.0 * payload.impact_time_sigma_s + 1.0):
                raise refuse(
                    f"impact {-flight_s:.0f} s before its state",
                    "impact_before_epoch",
                    "impact_time",
                )
            if flight_s > MAX_FLIGHT_S:
                raise refuse(
                    f"impact {flight_s:.0f} s after its state", "flight_too_long", "impact_time"
                )
