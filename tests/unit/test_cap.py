"""CAP 1.2 of an alert message: valid against the OASIS schema, its status from the data mode."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from tests.factories import T0
from warnlink.alerting.assess import Threat, ThreatKind
from warnlink.alerting.cap import CAP_NS, cap_status, to_cap
from warnlink.alerting.lifecycle import Alert, MsgType, Reason
from warnlink.geo.areas import AreaKind
from warnlink.model.record import DataMode
from warnlink.model.time import NS_PER_S

CAP_XSD = Path(__file__).parents[1] / "data" / "cap" / "CAP-v1.2.xsd"
NS = {"cap": CAP_NS}


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(CAP_XSD)))


def _alert(mode: DataMode, msg_type: MsgType = MsgType.ALERT) -> Alert:
    threat = Threat(
        "JPN-E1",
        "JPN eez",
        AreaKind.EEZ,
        ThreatKind.IMPACT,
        0.93,
        T0 + 600 * NS_PER_S,
        T0 + 600 * NS_PER_S,
        ((40.0, 138.0), (40.1, 138.0), (40.1, 138.1), (40.0, 138.0)),
        ("a" * 32,),
        mode,
    )
    return Alert(
        "warnlink-JPN-JPN-E1-JPN_eez-impact-1", "JPN", msg_type, Reason.ISSUED, T0, threat, ()
    )


@pytest.mark.parametrize(
    ("mode", "status"),
    [
        (DataMode.REAL, "Actual"),
        (DataMode.EXERCISE, "Exercise"),
        (DataMode.TEST, "Test"),
        (DataMode.SIMULATED, "Test"),
    ],
)
def test_status_is_actual_only_for_real_data(
    mode: DataMode, status: str, schema: etree.XMLSchema
) -> None:
    document = etree.fromstring(to_cap(_alert(mode)))
    assert schema.validate(document), schema.error_log
    assert document.findtext("cap:status", namespaces=NS) == status
    assert cap_status(mode) == status
    parameters = {
        p.findtext("cap:valueName", namespaces=NS): p.findtext("cap:value", namespaces=NS)
        for p in document.iterfind("cap:info/cap:parameter", namespaces=NS)
    }
    assert parameters["dataMode"] == mode.value
    headline = document.findtext("cap:info/cap:headline", namespaces=NS) or ""
    assert headline.startswith("Missile impact" if mode is DataMode.REAL else f"{mode.value}: ")


def test_a_cancel_of_exercise_data_is_an_exercise_too(schema: etree.XMLSchema) -> None:
    document = etree.fromstring(to_cap(_alert(DataMode.EXERCISE, MsgType.CANCEL)))
    assert schema.validate(document), schema.error_log
    assert document.findtext("cap:status", namespaces=NS) == "Exercise"
    assert document.findtext("cap:msgType", namespaces=NS) == "Cancel"
