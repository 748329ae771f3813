"""The summary of a feed: what each party's node holds, read back, against truth.

Pure: it is given what was read (`feed.readback`): each party's display state (its
``/api/state``), its applied-log (every message its picture applied, with when) and its
CAP messages, and every party's originals. The figures are the demo's (`demo.summarise`),
so the two compare line by line:

- per event: its originators, the first launch report and the first impact prediction
  it received, in seconds after the true launch (from the applied-log: when the node
  applied the first of them for one of the event's tracks), each originator's latest
  launch and impact, and the event's latest impact prediction against the true impact
  of the nearest flight (the truth of the scenario, on the moved epoch);
- per party: reports received from each other party, heartbeats, its alerts (CAP);
- ``leaks``: every report a party applied from another party, checked against its
  original as its originator labelled it (`sharing.leaks.LeakChecker`). An originator
  applies its own messages, so its applied-log holds its originals with their labels;
  they are read after the deliveries, so that every delivery's original is there.
  Heartbeats are link messages sent straight to the bus, kept in no store of their
  sender: they are counted, not checked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from warnlink.feed.timeline import Timeline
from warnlink.geo.wgs84 import surface_distance_m
from warnlink.model import Envelope, Heartbeat, ImpactPrediction, LaunchReport
from warnlink.model.time import NS_PER_S, iso_to_utc_ns, utc_ns_to_iso
from warnlink.sharing.leaks import Leak, LeakChecker
from warnlink.sim.trajectory import Trajectory, nearest_flight

_EVENT_ID = re.compile(r"Event (\S+)\.$")
TrackKey = tuple[str, int]
"""(originator, track number)."""


@dataclass(frozen=True, slots=True)
class PartyReadback:
    """What was read of one party.

    Attributes:
        name: the party's name.
        state: its ``/api/state`` (`web.view.StateView` as JSON).
        applied: (when applied, UTC ns; the message) of its applied-log, in order.
        alerts: its CAP messages' fields (`feed.readback.read_alerts`).
        sent: what its sender did (`feed.senders.SendStats.as_json`).
    """

    name: str
    state: Mapping[str, Any]
    applied: Sequence[tuple[int, Envelope]]
    alerts: Sequence[Mapping[str, str]] = ()
    sent: Mapping[str, object] = field(default_factory=dict)


def first_receipts(applied: Iterable[tuple[int, Envelope]]) -> dict[str, dict[TrackKey, int]]:
    """When the first launch report and impact prediction of each track were applied:
    ``{"launch": {(originator, trk_id): ns}, "impact": {...}}``."""
    firsts: dict[str, dict[TrackKey, int]] = {"launch": {}, "impact": {}}
    for applied_ns, envelope in applied:
        payload = envelope.payload
        kind = (
            "launch"
            if isinstance(payload, LaunchReport)
            else "impact"
            if isinstance(payload, ImpactPrediction)
            else None
        )
        if kind is not None:
            firsts[kind].setdefault((envelope.originator, payload.trk_id), applied_ns)
    return firsts


def check_leaks(
    deliveries: Mapping[str, Iterable[Envelope]], originals: Iterable[Envelope]
) -> tuple[list[Leak], int, int]:
    """(leaks, reports checked, heartbeats not checked) of every party's deliveries
    (what it applied from other parties) against the originals."""
    checker = LeakChecker()
    for original in originals:
        checker.record_original(original)
    leaks: list[Leak] = []
    checked = heartbeats = 0
    for party, received in deliveries.items():
        for envelope in received:
            if envelope.originator == party:
                continue
            if isinstance(envelope.payload, Heartbeat):
                heartbeats += 1
                continue
            checked += 1
            leaks += checker.check(party, envelope)
    return leaks, checked, heartbeats


def summarise_feed(
    *,
    scenario: str,
    federation: str,
    via: str,
    timeline: Timeline,
    trajectories: Mapping[str, Trajectory],
    parties: Mapping[str, PartyReadback],
    originals: Iterable[Envelope],
) -> dict[str, Any]:
    """The feed's outcome as plain data (the JSON of ``warnlink feed --json``)."""
    leaks, checked, heartbeats = check_leaks(
        {p: (e for _, e in read.applied) for p, read in parties.items()}, originals
    )
    summary: dict[str, Any] = {
        "scenario": scenario,
        "federation": federation,
        "via": via,
        "epoch": utc_ns_to_iso(timeline.epoch_ns),
        "played_until_s": round(timeline.until_s, 1),
        "parties": {
            party: _party(party, read, timeline, trajectories) for party, read in parties.items()
        },
        "deliveries_checked": checked,
        "heartbeats_not_checked": heartbeats,
        "leaks": len(leaks),
        "leak_details": [
            f"{x.recipient} got {x.what} of {x.msg_id} from {x.originator}" for x in leaks
        ],
    }
    summary["complete"] = all(
        any(_warned(e) for e in info["events"]) for info in summary["parties"].values()
    )
    return summary


def _warned(event: Mapping[str, Any]) -> bool:
    """Whether an event holds a launch report and an impact prediction."""
    return event.get("impact_prediction") is not None and any(
        o["launch"] is not None for o in event["by_originator"].values()
    )


def _party(
    party: str,
    read: PartyReadback,
    timeline: Timeline,
    trajectories: Mapping[str, Trajectory],
) -> dict[str, Any]:
    received: dict[str, int] = {}
    heartbeats: set[str] = set()
    for _, envelope in read.applied:
        if envelope.originator == party:
            continue
        if isinstance(envelope.payload, Heartbeat):
            heartbeats.add(envelope.originator)
        else:
            received[envelope.originator] = received.get(envelope.originator, 0) + 1
    firsts = first_receipts(read.applied)
    return {
        "name": read.name,
        "received_from": dict(sorted(received.items())),
        "heartbeats_from": sorted(heartbeats),
        "events": [
            event_summary(e, firsts, timeline, trajectories) for e in read.state.get("events", [])
        ],
        "alerts": [alert_summary(a, timeline) for a in read.alerts],
        "sent": dict(read.sent),
    }


def event_summary(
    event: Mapping[str, Any],
    firsts: Mapping[str, Mapping[TrackKey, int]],
    timeline: Timeline,
    trajectories: Mapping[str, Trajectory],
) -> dict[str, Any]:
    """One event of a party's display state, as the demo summarises an event."""
    contributions: list[Mapping[str, Any]] = list(event.get("contributions", []))
    best = _impact_of(event, contributions)
    impact = None if best is None else best["impact"]
    truth = nearest_flight(
        list(trajectories.values()), None if impact is None else (impact["lat"], impact["lon"])
    )
    launch_ns = timeline.wall_ns(truth.launch_time_s) if truth is not None else timeline.epoch_ns

    def after(kind: str, keys: Iterable[TrackKey]) -> float | None:
        times = [firsts[kind][k] for k in keys if k in firsts[kind]]
        return None if not times else round((min(times) - launch_ns) / NS_PER_S, 1)

    by_originator: dict[str, dict[str, Any]] = {}
    for originator in sorted({c["originator"] for c in contributions}):
        mine = [c for c in contributions if c["originator"] == originator]
        keys = [(originator, int(c["track_number"])) for c in mine]
        latest = mine[-1]
        launch = next((c["launch"] for c in reversed(mine) if c["launch"] is not None), None)
        by_originator[originator] = {
            "track_number": latest["track_number"],
            "tracks": [c["track_number"] for c in mine],
            "track_reports": sum(int(c["track_reports"]) for c in mine),
            "status": latest["status"],
            "first_launch_report_after_launch_s": after("launch", keys),
            "first_impact_prediction_after_launch_s": after("impact", keys),
            "launch": None if launch is None else _launch(launch),
            "impact_prediction": None if latest["impact"] is None else _impact(latest["impact"]),
        }
    every = [(c["originator"], int(c["track_number"])) for c in contributions]
    summary: dict[str, Any] = {
        "event_id": event["event_id"],
        "data_mode": event.get("data_mode"),
        "originators": list(event.get("originators", by_originator)),
        "track_reports": sum(int(c["track_reports"]) for c in contributions),
        "first_launch_report_after_launch_s": after("launch", every),
        "first_impact_prediction_after_launch_s": after("impact", every),
        "by_originator": by_originator,
    }
    if best is not None and impact is not None:
        summary["impact_prediction"] = _impact(impact) | {"by": best["originator"]}
        if truth is not None:
            truth_ns = launch_ns + round(truth.impact_time_s * NS_PER_S)
            error_m = float(
                surface_distance_m(
                    impact["lat"], impact["lon"], truth.impact_lat_deg, truth.impact_lon_deg
                )
            )
            summary["true_impact"] = {
                "lat": round(truth.impact_lat_deg, 4),
                "lon": round(truth.impact_lon_deg, 4),
                "time": utc_ns_to_iso(truth_ns),
            }
            summary["impact_error_km"] = round(error_m / 1000, 3)
            summary["impact_time_error_s"] = round((impact["time_ns"] - truth_ns) / NS_PER_S, 2)
    return summary


def _impact_of(
    event: Mapping[str, Any], contributions: Sequence[Mapping[str, Any]]
) -> Mapping[str, Any] | None:
    """The contribution whose impact prediction is the event's latest (``impact_by``)."""
    by, when = event.get("impact_by"), event.get("impact_time_ns")
    candidates = [c for c in contributions if c["originator"] == by and c["impact"] is not None]
    exact = [c for c in candidates if c["impact"]["time_ns"] == when]
    chosen = exact or candidates
    return chosen[-1] if chosen else None


def _launch(launch: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "lat": launch["lat"],
        "lon": launch["lon"],
        "time": launch["time"],
        "radius_95_km": round(launch["ellipse"]["semi_major_km"], 1),
        "range_class": launch["range_class"],
    }


def _impact(impact: Mapping[str, Any]) -> dict[str, Any]:
    ellipse = impact["ellipse"]
    return {
        "lat": impact["lat"],
        "lon": impact["lon"],
        "time": impact["time"],
        "semi_major_km": round(ellipse["semi_major_km"], 2),
        "semi_minor_km": round(ellipse["semi_minor_km"], 2),
        "orientation_deg": ellipse["orientation_deg"],
    }


def alert_summary(alert: Mapping[str, str], timeline: Timeline) -> dict[str, Any]:
    """One CAP message as the demo lists an alert (its time in s after the epoch)."""
    found = _EVENT_ID.search(alert.get("description", ""))
    sent = alert.get("sent")
    return {
        "identifier": alert.get("identifier"),
        "data_mode": alert.get("dataMode"),
        "status": alert.get("status"),
        "msg_type": alert.get("msgType"),
        "reason": alert.get("note", "").split(";")[0],
        "event": found.group(1) if found else None,
        "area": alert.get("areaDesc"),
        "kind": (alert.get("event") or "").rpartition(" ")[2],  # Missile impact -> impact
        "probability": float(alert.get("probability") or 0.0),
        "sent_s": None if not sent else round(timeline.scenario_s(iso_to_utc_ns(sent)), 1),
        "lead_time_s": float(alert.get("leadTimeS") or 0.0),
    }
