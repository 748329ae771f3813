"""The registry of output formats, exports of one event, and a party's output folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.factories import T0, PartyState, party_state
from warnlink.alerting.assess import Threat, ThreatKind
from warnlink.alerting.lifecycle import Alert, MsgType, Reason
from warnlink.errors import ConfigError
from warnlink.geo.areas import AreaKind
from warnlink.interop.cot import event_cot
from warnlink.interop.export import event_geojson, event_kml
from warnlink.interop.formats import EXPORTS, FORMATS, export_format
from warnlink.interop.outputs import write_party_outputs
from warnlink.interop.projection import project_party
from warnlink.model.record import DataMode
from warnlink.model.time import NS_PER_S


def _with_an_alert(mode: DataMode = DataMode.EXERCISE) -> PartyState:
    state = party_state(now_ns=T0 + 10 * NS_PER_S, data_mode=mode)
    polygon = ((40.0, 138.0), (40.1, 138.0), (40.1, 138.1), (40.0, 138.0))
    threat = Threat(
        "JPN-E1", "JPN eez", AreaKind.EEZ, ThreatKind.IMPACT, 0.9, T0, T0, polygon, ("m",), mode
    )
    alert = Alert(
        "warnlink-JPN-JPN-E1-JPN_eez-impact-1", "JPN", MsgType.ALERT, Reason.ISSUED, T0, threat, ()
    )
    state.alerts.alerts.append(alert)
    return state


def test_each_format_is_named_once_with_its_media_type_and_suffix() -> None:
    assert {n: (f.media_type, f.suffix, f.folder) for n, f in FORMATS.items()} == {
        "geojson": ("application/geo+json", ".geojson", "events"),
        "kml": ("application/vnd.google-earth.kml+xml", ".kml", "events"),
        "cot": ("application/xml", ".xml", "cot"),
        "cap": ("application/cap+xml", ".xml", "cap"),
    }
    assert EXPORTS == ("geojson", "kml")


def test_an_export_is_the_event_s_one_file() -> None:
    state = party_state(now_ns=T0 + 10 * NS_PER_S)
    one = project_party(state, {"JPN-E1"})
    (event,) = one.events
    assert json.loads(export_format("geojson").export(one)) == event_geojson(event)
    assert export_format("kml").export(one) == event_kml(event)


@pytest.mark.parametrize("name", ["shp", "cot", "cap"])
def test_a_format_that_does_not_export_one_event_is_refused(name: str) -> None:
    with pytest.raises(ConfigError, match="use one of geojson, kml"):
        export_format(name)
    if name in FORMATS:
        with pytest.raises(ConfigError, match="does not export one event"):
            FORMATS[name].export(project_party(party_state()))


def test_an_export_needs_exactly_one_event() -> None:
    with pytest.raises(ConfigError, match="holds 0"):
        export_format("kml").export(project_party(party_state(), {"JPN-E9"}))


def test_the_output_folder_holds_every_format(tmp_path: Path) -> None:
    state = _with_an_alert()
    assert write_party_outputs(tmp_path, state) == 6
    files = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert files == [
        "JPN/cap/warnlink-JPN-JPN-E1-JPN_eez-impact-1.xml",
        "JPN/cot/warnlink.JPN.JPN-E1.impact.xml",
        "JPN/cot/warnlink.JPN.JPN-E1.launch.xml",
        "JPN/cot/warnlink.JPN.JPN-E1.track.xml",
        "JPN/events/JPN-E1.geojson",
        "JPN/events/JPN-E1.kml",
    ]
    (event,) = project_party(state).events
    track = next(c for c in event_cot(event) if c.uid.endswith(".track"))
    assert (tmp_path / "JPN" / "cot" / f"{track.uid}.xml").read_bytes() == track.xml
    cap = (tmp_path / "JPN/cap/warnlink-JPN-JPN-E1-JPN_eez-impact-1.xml").read_bytes()
    assert b"<status>Exercise</status>" in cap


def test_the_registry_is_cheap_to_import() -> None:
    """The command line lists the export formats at start-up, without numpy or shapely."""
    code = (
        "import sys, warnlink.interop.formats as f; "
        "print(sorted(m for m in ('numpy', 'shapely', 'warnlink.interop.projection') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
