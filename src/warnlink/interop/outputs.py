"""A party's outputs written to a folder: CAP alerts, CoT events, GeoJSON and KML per event.

Layout under the folder: ``<party>/cap/<identifier>.xml`` (every alert message sent),
``<party>/cot/<uid>.xml`` (the CoT events of every event, as of `now_ns`), and
``<party>/events/<event_id>.geojson`` and ``.kml``.
"""

from __future__ import annotations

import json
from pathlib import Path

from warnlink.alerting.cap import to_cap
from warnlink.alerting.monitor import AlertMonitor
from warnlink.fusion.picture import Picture
from warnlink.interop.cot import event_cot
from warnlink.interop.export import event_geojson, event_kml


def write_party_outputs(folder: Path, picture: Picture, monitor: AlertMonitor, now_ns: int) -> int:
    """Write one party's outputs under ``folder/<party>``; returns the number of files."""
    base = folder / monitor.party
    files: dict[Path, bytes] = {}
    for alert in monitor.alerts:
        files[base / "cap" / f"{alert.identifier}.xml"] = to_cap(alert)
    for event in picture.events.values():
        for cot in event_cot(monitor.party, event, now_ns):
            files[base / "cot" / f"{cot.uid}.xml"] = cot.xml
        geojson = json.dumps(event_geojson(event, monitor), indent=1) + "\n"
        files[base / "events" / f"{event.event_id}.geojson"] = geojson.encode()
        files[base / "events" / f"{event.event_id}.kml"] = event_kml(event, monitor)
    for path, data in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return len(files)
