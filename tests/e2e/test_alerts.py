"""Warnings out, end to end: the default and IRBM overflight scenarios through the demo.

The right answer, from the scenario geometry:

- default: one launch from Sunan, about 900 km at azimuth 78, comes down in the Sea of
  Japan west of the Oga peninsula: inside Japan's EEZ (200 nm of Honshu), outside its
  territorial sea and land, far from Korea's land and sea areas (which end near 136 E)
  and from any U.S. area. So JPN gets an impact alert for its EEZ, closed by an
  all-clear after impact; ROK and USA get none.
- IRBM overflight: from Mupyong-ni at azimuth 86, 4,600 km, over northern Honshu
  (Aomori) into the Pacific, far beyond Japan's EEZ and from Hawaii, Guam and Alaska. So
  JPN gets overflight alerts for its land and the Aomori zone, with minutes of lead
  time, and no impact alert; ROK and USA get none.

Every CAP message validates against the OASIS CAP 1.2 schema (xmlschema and lxml); the
CoT events are served over TCP and read by PyTAK as a client; each event's GeoJSON and
KML parse.
"""

from __future__ import annotations

import asyncio
import configparser
import json
import warnings
from collections.abc import Mapping
from pathlib import Path

import pytest
import shapely
import xmlschema
from lxml import etree

from warnlink.alerting import MsgType, Reason, ThreatKind
from warnlink.cli import main
from warnlink.demo import run_demo
from warnlink.interop.cot import event_cot
from warnlink.interop.cot_server import CotServer
from warnlink.interop.projection import project_party
from warnlink.node import Node

ROOT = Path(__file__).parents[2]
ZONES = ROOT / "scenarios" / "zones" / "sample_zones.geojson"
CAP_XSD = ROOT / "tests" / "data" / "cap" / "CAP-v1.2.xsd"


def _play(scenario: str, out: Path) -> dict[str, Node]:
    nodes: dict[str, Node] = {}

    def observe(_second: int, seen: Mapping[str, Node]) -> None:
        nodes.update(seen)

    asyncio.run(
        run_demo(scenario_path=ROOT / scenario, zones_path=ZONES, out_dir=out, observe=observe)
    )
    return nodes


@pytest.fixture(scope="module")
def default_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Node], Path]:
    out = tmp_path_factory.mktemp("default")
    return _play("scenarios/default_scenario.toml", out), out


@pytest.fixture(scope="module")
def irbm_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Node], Path]:
    out = tmp_path_factory.mktemp("irbm")
    return _play("scenarios/irbm_overflight.toml", out), out


def test_default_jpn_alone_is_alerted_for_an_impact_in_its_eez(
    default_run: tuple[dict[str, Node], Path],
) -> None:
    nodes, _ = default_run
    assert nodes["ROK"].alerts.alerts == []
    assert nodes["USA"].alerts.alerts == []
    alerts = nodes["JPN"].alerts.alerts
    assert {(a.threat.area, a.threat.kind) for a in alerts} == {("JPN eez", ThreatKind.IMPACT)}
    first, last = alerts[0], alerts[-1]
    assert first.msg_type is MsgType.ALERT
    assert first.threat.probability > 0.95
    assert first.lead_time_s > 300.0
    assert last.reason is Reason.ALL_CLEAR
    assert all(a.threat.derived_from for a in alerts)


def test_a_lost_track_retracts_the_alert_within_60_s_of_the_loss(tmp_path: Path) -> None:
    """lost_track.toml: ROK tracks an MRBM towards Japan's EEZ on the way up and loses it
    midcourse; nobody sees its descent. JPN is warned, then the warning is cancelled as
    the loss is known: the reporter declares a track lost 60 s after its last estimate,
    and the cancellation follows at the next 1 s tick, so at most 62 s after the event's
    last track report."""
    nodes = _play("scenarios/lost_track.toml", tmp_path)
    jpn = nodes["JPN"]
    alerts = jpn.alerts.alerts
    assert [a.msg_type for a in alerts] == [MsgType.ALERT, MsgType.CANCEL]
    cancel = alerts[-1]
    assert cancel.reason is Reason.TRACK_LOST
    assert cancel.references[0][0] == alerts[0].identifier
    event = jpn.picture.events[cancel.threat.event_id]
    last_track_ns = max(c.track.epoch for c in event.contributions.values() if c.track is not None)
    assert 0 < (cancel.sent_ns - last_track_ns) / 1e9 <= 62.0  # 60 s, then the next 1 s tick
    assert nodes["ROK"].alerts.alerts == []
    assert nodes["USA"].alerts.alerts == []


def test_irbm_jpn_alone_is_alerted_for_the_overflight(
    irbm_run: tuple[dict[str, Node], Path],
) -> None:
    nodes, _ = irbm_run
    assert nodes["ROK"].alerts.alerts == []
    assert nodes["USA"].alerts.alerts == []
    alerts = nodes["JPN"].alerts.alerts
    assert {(a.threat.area, a.threat.kind) for a in alerts} == {
        ("JPN land", ThreatKind.OVERFLIGHT),
        ("Aomori", ThreatKind.OVERFLIGHT),
    }
    for area in ("JPN land", "Aomori"):
        chain = [a for a in alerts if a.threat.area == area]
        assert chain[0].msg_type is MsgType.ALERT
        assert chain[0].lead_time_s > 120.0
        assert chain[-1].reason is Reason.ALL_CLEAR


@pytest.mark.parametrize("run", ["default_run", "irbm_run"])
def test_every_cap_file_validates_against_the_cap_1_2_schema(
    run: str, request: pytest.FixtureRequest
) -> None:
    _, out = request.getfixturevalue(run)
    files = sorted(out.glob("*/cap/*.xml"))
    assert files
    schema = xmlschema.XMLSchema(str(CAP_XSD))
    lxml_schema = etree.XMLSchema(etree.parse(str(CAP_XSD)))
    for path in files:
        schema.validate(str(path))
        document = etree.parse(str(path))
        assert lxml_schema.validate(document), lxml_schema.error_log
        # Simulated data: a test, never an actual warning.
        assert document.findtext("{urn:oasis:names:tc:emergency:cap:1.2}status") == "Test"
    assert {p.parent.parent.name for p in files} == {"JPN"}


@pytest.mark.parametrize("run", ["default_run", "irbm_run"])
def test_each_event_exports_as_geojson_and_kml(run: str, request: pytest.FixtureRequest) -> None:
    nodes, out = request.getfixturevalue(run)
    for party, node in nodes.items():
        for event_id in node.picture.events:
            base = out / party / "events" / event_id
            document = json.loads(base.with_suffix(".geojson").read_text())
            roles = {f["properties"]["role"] for f in document["features"]}
            assert {"launch", "track", "impact", "impact_ellipse_95", "ground_track"} <= roles
            assert {f["properties"]["data_mode"] for f in document["features"]} == {"SIMULATED"}
            for feature in document["features"]:
                assert shapely.geometry.shape(feature["geometry"]).is_valid
            kml = etree.parse(str(base.with_suffix(".kml")))
            names = kml.findall(".//{http://www.opengis.net/kml/2.2}Placemark")
            assert len(names) == len(document["features"])


async def test_pytak_receives_the_cot_events(irbm_run: tuple[dict[str, Node], Path]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pytak warns that optional aiohttp is missing
        import pytak
    nodes, _ = irbm_run
    sent = [c for e in project_party(nodes["JPN"]).events for c in event_cot(e)]
    server = CotServer()
    port = await server.start()
    try:
        config = configparser.ConfigParser()
        config["pytak"] = {"COT_URL": f"tcp://127.0.0.1:{port}"}
        reader, writer = await pytak.protocol_factory(config["pytak"])
        await server.publish(sent)
        worker = pytak.RXWorker(asyncio.Queue(), config["pytak"], reader)
        received = [await asyncio.wait_for(worker.readcot(), 5.0) for _ in sent]
        writer.close()
    finally:
        await server.close()
    events = [etree.fromstring(data) for data in received]
    assert [e.get("uid") for e in events] == [c.uid for c in sent]
    types = {e.get("type") for e in events}
    assert types == {"a-u-A-W-M-S-S", "u-d-c-e"}
    for event in events:
        point = event.find("point")
        assert point is not None
        assert -90.0 <= float(point.get("lat", "nan")) <= 90.0
    ellipses = [e.find("detail/shape/ellipse") for e in events if e.get("type") == "u-d-c-e"]
    assert all(x is not None and float(x.get("major", "0")) > 0.0 for x in ellipses)
    # The demo's data is simulated: every event says so, where TAK shows it too.
    assert {e.find("detail/__warnlink").get("dataMode") for e in events} == {"SIMULATED"}
    assert all(e.find("detail/contact").get("callsign").startswith("SIMULATED ") for e in events)


def test_export_from_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "JPN-E1.geojson"
    args = ["export", "JPN-E1", "--party", "JPN", "--format", "geojson", "--output", str(out)]
    assert main(args) == 0
    collection = json.loads(out.read_text(encoding="utf-8"))
    assert collection["type"] == "FeatureCollection"
    assert all(shapely.geometry.shape(f["geometry"]).is_valid for f in collection["features"])
    assert main(["export", "JPN-E9", "--party", "JPN", "--format", "kml"]) == 2
    assert "JPN-E9" in capsys.readouterr().err
