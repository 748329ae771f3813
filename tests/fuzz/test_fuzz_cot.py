"""Fuzzing the CoT input: a stream of mutated CoT XML and TAK protocol events, cut anywhere,
gives events or an `IngestError`, and every event a record or an `IngestError`; never
another exception and never a hang."""

from __future__ import annotations

from functools import partial

import pytest
import takproto
from hypothesis import given
from hypothesis import strategies as st

from tests.cot_events import missile_event
from tests.fuzz.harness import mutated, typed_or_value
from tests.property.profiles import fuzz_settings
from warnlink.errors import IngestError
from warnlink.model.record import DataMode, SourceRecord
from warnlink.sources.cot import CotSender, record_from_tak, record_from_xml
from warnlink.sources.cot_framing import CotSplitter, Frame, Refused, XmlEvent

pytestmark = pytest.mark.fuzz

SHORT = 300
SENDER = CotSender("tak-a", "JPN", DataMode.REAL)
XML_SEEDS = [
    missile_event(),
    missile_event("j", kind="a-j-A-W-M", marks={"phase": "boost", "dataMode": "EXERCISE"}),
    b'<?xml version="1.0"?>' + missile_event(point={"ce": "9999999"}),
]
TAK_SEEDS = [bytes(takproto.xml2proto(x, takproto.TAKProtoVer.STREAM)) for x in XML_SEEDS]


def _records(frames: list[Frame]) -> list[SourceRecord | None]:
    out: list[SourceRecord | None] = []
    for frame in frames:
        if isinstance(frame, Refused):
            continue
        if isinstance(frame, XmlEvent):
            parse = partial(record_from_xml, frame.data, SENDER)
        else:
            parse = partial(record_from_tak, frame.payload, SENDER)
        out.append(typed_or_value(f"cot.{type(frame).__name__}", parse, IngestError))
    return out


@fuzz_settings(SHORT)
@given(data=st.data())
def test_a_mutated_stream_cut_anywhere_gives_events_or_a_typed_error(data: st.DataObject) -> None:
    seeds = data.draw(st.lists(st.sampled_from(XML_SEEDS + TAK_SEEDS), min_size=1, max_size=4))
    stream = data.draw(mutated(b"".join(seeds), max_edits=6))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=5)))
    splitter = CotSplitter()

    def frames() -> list[Frame]:
        out: list[Frame] = []
        for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
            out.extend(splitter.feed(stream[start:end]))
        return out

    got = typed_or_value("cot.stream", frames, IngestError)
    if got is not None:
        _records(got)


@fuzz_settings(SHORT)
@given(payload=st.binary(max_size=512))
def test_any_tak_payload_gives_a_record_or_a_typed_error(payload: bytes) -> None:
    typed_or_value("cot.tak.random", lambda: record_from_tak(payload, SENDER), IngestError)
