"""The display's web app: JSON API, WebSocket, metrics and OpenAPI, over one party's node."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import shapely.geometry
from fastapi.testclient import TestClient

from tests.factories import KEYS, T0, decision_record, envelope, impact, launch, track
from warnlink.alerting.assess import Threat, ThreatKind
from warnlink.alerting.lifecycle import Alert as AlertItem
from warnlink.alerting.lifecycle import AlertState, MsgType, Reason
from warnlink.alerting.monitor import AlertMonitor
from warnlink.counters import Counters
from warnlink.errors import ConfigError
from warnlink.fusion.picture import Picture
from warnlink.geo.areas import AreaKind
from warnlink.model.record import DataMode
from warnlink.model.time import NS_PER_S, ManualClock
from warnlink.sharing.audit import AuditLog, DecisionRecord
from warnlink.sources.health import SourceHealth, SourceState
from warnlink.web.app import create_app
from warnlink.web.display import Display
from warnlink.web.serve import AuditTail
from warnlink.web.view import Alert


@pytest.fixture
def node() -> SimpleNamespace:
    """What a display reads of a node: party, picture, alerts (and their ledger), clock,
    counters."""
    picture, alerts = Picture("JPN"), AlertMonitor("JPN")
    for applied in (
        envelope(launch(), originator="ROK", seq=1),
        envelope(track(), originator="ROK", seq=2),
    ):
        picture.apply(applied, T0)
        alerts.record(applied)
    picture.heartbeats["USA"] = T0
    counters = Counters()
    counters.inc("received.track_report", 3)
    counters.inc("rejected.bad_signature")
    counters.inc("path.ROK.USA")
    return SimpleNamespace(
        party="JPN",
        picture=picture,
        alerts=alerts,
        clock=ManualClock(T0 + 10 * NS_PER_S),
        counters=counters,
        relay=None,
    )


@pytest.fixture
def display(node: SimpleNamespace) -> Display:
    shown = Display("JPN", "Japan", ["USA"], alerts=lambda: [Alert("JPN-E1", "eez", "test")])
    shown.attach(node)  # type: ignore[arg-type]
    return shown


def test_state_serves_the_party_picture(display: Display) -> None:
    with TestClient(create_app(display)) as client:
        state = client.get("/api/state").json()
    assert state["party"] == "JPN"
    assert state["time"] == "2023-11-14T22:13:30.000000Z"
    (event,) = state["events"]
    assert event["event_id"] == "JPN-E1"
    assert event["contributions"][0]["track"]["sensor"] == "ROK-R1"
    assert state["links"] == [
        {
            "peer": "USA",
            "state": "up",
            "last_heartbeat": "2023-11-14T22:13:20.000000Z",
            "age_s": 10.0,
        }
    ]
    assert state["alerts"] == [{"event_id": "JPN-E1", "area": "eez", "headline": "test"}]


def test_one_event_and_an_unknown_one(display: Display) -> None:
    with TestClient(create_app(display)) as client:
        assert client.get("/api/events/JPN-E1").json()["originators"] == ["ROK"]
        missing = client.get("/api/events/JPN-E9")
    assert missing.status_code == 404
    assert "JPN-E9" in missing.json()["detail"]


def test_areas_are_the_party_land_sea_and_eez(display: Display) -> None:
    with TestClient(create_app(display)) as client:
        areas = client.get("/api/areas").json()
    assert areas["type"] == "FeatureCollection"
    kinds = {f["properties"]["kind"] for f in areas["features"]}
    assert kinds == {"land", "territorial_sea", "eez"}
    assert {f["properties"]["party"] for f in areas["features"]} == {"JPN"}
    tokyo = shapely.geometry.Point(139.69, 35.69)
    land = [f for f in areas["features"] if f["properties"]["kind"] == "land"]
    assert any(shapely.geometry.shape(f["geometry"]).contains(tokyo) for f in land)


def test_alerts_in_force_at_the_node_reach_the_banner(node: SimpleNamespace) -> None:
    threat = Threat(
        "JPN-E1",
        "JPN eez",
        AreaKind.EEZ,
        ThreatKind.IMPACT,
        0.93,
        T0,
        T0,
        (),
        ("m1",),
        DataMode.REAL,
    )
    alert = AlertItem("a1", "JPN", MsgType.ALERT, Reason.ISSUED, T0, threat, ())
    node.alerts.book[threat.event_id] = AlertState(alert, active=True, sent=1)
    shown = Display("JPN", "Japan", ["USA"])
    shown.attach(node)  # type: ignore[arg-type]
    (banner,) = shown.state().alerts
    assert banner.event_id == "JPN-E1"
    assert "probability 0.93" in banner.headline
    node.alerts.book[threat.event_id] = AlertState(alert, active=False, sent=2)
    assert not shown.state().alerts


def test_metrics_count_messages_events_and_link_state(display: Display) -> None:
    with TestClient(create_app(display)) as client:
        text = client.get("/metrics").text
    assert 'warnlink_messages_received_total{kind="track_report"} 3.0' in text
    assert 'warnlink_messages_rejected_total{reason="bad_signature"} 1.0' in text
    assert "warnlink_events 1.0" in text
    assert 'warnlink_link_state{peer="USA",state="up"} 1.0' in text
    assert "path" not in text.replace("warnlink_", "")


def test_openapi_documents_the_api(display: Display) -> None:
    with TestClient(create_app(display)) as client:
        paths = client.get("/openapi.json").json()["paths"]
        assert client.get("/docs").status_code == 200
    assert {"/api/state", "/api/events/{event_id}", "/api/areas"} <= set(paths)


def test_the_page_is_served(display: Display) -> None:
    with TestClient(create_app(display)) as client:
        page = client.get("/")
        script = client.get("/static/display.js")
    assert page.status_code == 200
    assert "/static/display.js" in page.text
    assert script.status_code == 200


def test_the_websocket_pushes_the_state_and_then_its_changes(
    display: Display, node: SimpleNamespace
) -> None:
    with TestClient(create_app(display)) as client, client.websocket_connect("/ws") as ws:
        first = ws.receive_json()
        assert [e["event_id"] for e in first["events"]] == ["JPN-E1"]
        node.picture.apply(envelope(impact(), originator="ROK", seq=3), T0)
        second = ws.receive_json()
    assert second["events"][0]["impact_by"] == "ROK"
    assert first["events"][0]["impact_by"] is None


def test_a_display_shows_only_its_own_party_node(node: SimpleNamespace) -> None:
    with pytest.raises(ConfigError, match="ROK's display cannot show JPN's node"):
        Display("ROK", "Republic of Korea", ["USA"]).attach(node)  # type: ignore[arg-type]


def test_an_event_exports_as_geojson_and_kml(node: SimpleNamespace) -> None:
    shown = Display("JPN", "Japan", ["USA"])
    shown.attach(node)  # type: ignore[arg-type]
    with TestClient(create_app(shown)) as client:
        geojson = client.get("/api/events/JPN-E1/export")
        kml = client.get("/api/events/JPN-E1/export", params={"format": "kml"})
        assert client.get("/api/events/JPN-E1/export", params={"format": "shp"}).status_code == 422
        assert client.get("/api/events/JPN-E9/export").status_code == 404
    assert geojson.headers["content-type"] == "application/geo+json"
    features = geojson.json()["features"]
    assert {f["properties"]["role"] for f in features} >= {"launch", "launch_ellipse_95"}
    assert kml.content.startswith(b"<?xml")
    assert b"<Placemark" in kml.content


def test_an_audit_tail_reads_only_what_was_appended(tmp_path: Path) -> None:
    """The relay host's display follows its relay's log: new complete lines only."""
    path = tmp_path / "relay-USA.jsonl"
    tail = AuditTail(path, keep=3)
    assert tail() == ()  # not written yet
    log = AuditLog(path, KEYS["USA"].own, head_every=2)
    for i in range(2):
        log.append(_record(i))
    assert [r.msg_id for r in tail()] == [f"{i:032x}" for i in range(2)]
    log.append(_record(2))
    with path.open("ab") as f:
        f.write(b'{"type":"entry","index":3')  # a line being written: wait for it
        f.flush()
    assert [r.msg_id for r in tail()] == [f"{i:032x}" for i in range(3)]
    log.close()


def _record(i: int) -> DecisionRecord:
    return decision_record(i, time=T0, content_sha256="0" * 64)


def _health() -> list[SourceHealth]:
    return [
        SourceHealth("c2-main", SourceState.LIVE, T0 + 9 * NS_PER_S, 58, 120, 2, (), 1.0, "REAL"),
        SourceHealth(
            "tak-east",
            SourceState.SILENT,
            T0 - 60 * NS_PER_S,
            0,
            7,
            0,
            (("speed", 3),),
            5.0,
            "REAL",
        ),
    ]


def test_sources_health_is_in_the_state_and_the_metrics(node: SimpleNamespace) -> None:
    """Each national source's health: in /api/state for the page, in /metrics for
    monitoring, with the port's refusals by reason."""
    node.counters.inc("ingest_rejected.altitude", 2)
    node.counters.inc("ingest.accepted", 120)
    shown = Display("JPN", "Japan", ["USA"], sources=_health)
    shown.attach(node)
    with TestClient(create_app(shown)) as client:
        state = client.get("/api/state").json()
        text = client.get("/metrics").text
    live, silent = state["sources"]
    assert (live["name"], live["state"], live["records_last_minute"]) == ("c2-main", "live", 58)
    assert live["last_record"].endswith("Z")
    assert (silent["state"], silent["refused"]) == ("silent", {"speed": 3})
    assert 'warnlink_ingest_rejected_total{reason="altitude"} 2.0' in text
    assert 'warnlink_ingest_records_total{outcome="accepted"} 120.0' in text
    assert 'warnlink_source_state{source="tak-east",state="silent"} 1.0' in text
    assert Display("JPN", "Japan", ["USA"]).state().sources == []
