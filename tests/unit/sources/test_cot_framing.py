"""A CoT stream cut into events however reads split it; hostile streams refused, typed."""

from __future__ import annotations

import pytest
import takproto

from tests.cot_events import missile_event
from warnlink.errors import IngestError
from warnlink.sources.cot_framing import (
    MAX_DEPTH,
    MAX_EVENT_BYTES,
    CotSplitter,
    Frame,
    Refused,
    TakEvent,
    XmlEvent,
)

DECLARATION = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'


def _stream(xml: bytes) -> bytes:
    return bytes(takproto.xml2proto(xml, takproto.TAKProtoVer.STREAM))


def _feed(splitter: CotSplitter, data: bytes, size: int) -> list[Frame]:
    frames: list[Frame] = []
    for at in range(0, len(data), size):
        frames.extend(splitter.feed(data[at : at + size]))
    return frames


def _fatal(data: bytes) -> IngestError:
    with pytest.raises(IngestError) as caught:
        list(CotSplitter().feed(data))
    return caught.value


FIRST, SECOND = missile_event("one"), missile_event("two")


def test_xml_events_back_to_back_come_out_whole_at_every_split() -> None:
    stream = DECLARATION + FIRST + b"\n" + SECOND + b"  \r\n"
    for cut in range(1, len(stream)):
        splitter = CotSplitter()
        frames = [*splitter.feed(stream[:cut]), *splitter.feed(stream[cut:])]
        assert [type(f) for f in frames] == [XmlEvent, XmlEvent], cut
        second = frames[1]
        assert isinstance(second, XmlEvent)
        assert second.data.rstrip() == SECOND  # with what whitespace had come
        assert splitter.pending == 0


def test_one_byte_reads_and_mixed_encodings() -> None:
    tak = _stream(SECOND)
    stream = DECLARATION + FIRST + tak + FIRST + tak + tak
    frames = _feed(CotSplitter(), stream, 1)
    assert [type(f) for f in frames] == [XmlEvent, TakEvent, XmlEvent, TakEvent, TakEvent]
    assert frames[0] == XmlEvent(DECLARATION + FIRST)
    assert frames[1] == TakEvent(tak[2:])  # 0xbf, a one-byte length, the payload


def test_an_event_may_end_in_a_self_closing_root_and_carry_comments() -> None:
    stream = b'<event uid="a"/><!-- between --><event uid="b"><![CDATA[</event>]]></event>'
    for size in (1, 3, len(stream)):
        frames = _feed(CotSplitter(), stream, size)
        assert all(isinstance(f, XmlEvent) for f in frames)
        assert len(frames) == 2
        assert frames[0].data.startswith(b'<event uid="a"/>')  # type: ignore[union-attr]
        assert frames[1].data.endswith(b"<![CDATA[</event>]]></event>")  # type: ignore[union-attr]


def test_a_partial_event_is_held_until_it_is_whole() -> None:
    splitter = CotSplitter()
    assert list(splitter.feed(FIRST[:50])) == []
    assert splitter.pending == 50
    assert list(splitter.feed(FIRST[50:])) == [XmlEvent(FIRST)]


@pytest.mark.parametrize(
    "bad",
    [
        b'<event uid="&undefined;"/>',
        b"<event><point></event>",
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 '
        b'"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><event>&lol2;</event>',
        b'<!DOCTYPE event [<!ENTITY x SYSTEM "file:///etc/passwd">]><event>&x;</event>',
        b"<event>\xff\xfe</event>",
        b'<event uid="a" callsign="A&B"/>',
        b'<event uid="a"><detail><eventlog a="&"/></detail></event>',
    ],
    ids=[
        "undefined entity",
        "not well-formed",
        "billion laughs",
        "external entity",
        "not utf-8",
        "bare ampersand",
        "bare ampersand deeper",
    ],
)
def test_one_malformed_event_is_refused_alone_and_the_stream_goes_on(bad: bytes) -> None:
    for size in (1, 7, 4096):
        frames = _feed(CotSplitter(), FIRST + bad + SECOND, size)
        assert [type(f) for f in frames] == [XmlEvent, Refused, XmlEvent], size
        assert getattr(frames[1], "reason", None) == "not_xml"
        assert frames[2] == XmlEvent(SECOND)


def test_a_deeply_nested_event_is_refused_alone() -> None:
    deep = b"<event>" + b"<a>" * 5_000 + b"</a>" * 5_000 + b"</event>"
    frames = _feed(CotSplitter(), deep + FIRST, 1024)
    assert frames[0] == Refused("too_deep", f"an event nested 5001 deep (limit {MAX_DEPTH})")
    assert frames[1] == XmlEvent(FIRST)


def test_the_events_before_a_broken_stream_are_given() -> None:
    frames = CotSplitter().feed(FIRST + b"garbage")
    assert next(frames) == XmlEvent(FIRST)
    with pytest.raises(IngestError):
        next(frames)


def test_an_event_over_the_size_limit_ends_the_stream() -> None:
    huge = b'<event uid="' + b"x" * (10 * 1024 * 1024) + b'"/>'
    assert _fatal(huge).reason == "too_large"
    splitter = CotSplitter()
    with pytest.raises(IngestError) as caught:
        _feed(splitter, b"<event>" + b"<a/>" * MAX_EVENT_BYTES, 65_536)
    assert caught.value.reason == "too_large"


def test_a_tak_frame_over_the_size_limit_ends_the_stream_before_its_payload() -> None:
    length = MAX_EVENT_BYTES + 1
    header = bytes([0xBF, 0x80 | (length & 0x7F), 0x80 | ((length >> 7) & 0x7F), length >> 14])
    assert _fatal(header).reason == "too_large"
    assert _fatal(b"\xbf\xff\xff\xff\xff\xff\x01").reason == "too_large"


@pytest.mark.parametrize(
    "garbage",
    [b"GET / HTTP/1.1\r\n\r\n", b"\x16\x03\x01\x02\x00", b"\x00" * 10, b"hello <event/>"],
)
def test_a_stream_that_is_not_cot_ends(garbage: bytes) -> None:
    assert _fatal(FIRST + garbage).reason == "not_xml"


def test_a_malformed_event_without_an_end_tag_runs_into_the_size_limit() -> None:
    splitter = CotSplitter()
    assert list(splitter.feed(b"<event><&")) == []
    with pytest.raises(IngestError) as caught:
        _feed(splitter, b"x" * (MAX_EVENT_BYTES + 1), 4096)
    assert caught.value.reason == "too_large"
