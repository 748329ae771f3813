"""A CoT stream cut into events: XML events back to back and TAK protocol frames.

A TAK client streams events on one connection (TAK Server's streaming port): CoT XML
events one after the other, each optionally after an XML declaration, or TAK protocol
frames (``0xbf``, the payload's length as a protobuf varint, the ``TakMessage``
payload), and may switch from one to the other between events. Reads cut the stream
anywhere: `CotSplitter` keeps what is unfinished and hands out whole events.

XML events are delimited by an expat scan (the element depth; the end of the root
element) that forbids any DTD, so no entity is ever declared or expanded while framing;
the event is then parsed, again without DTD or entities, by `cot_decode`.

What the stream cannot recover from raises `IngestError` (the connection closes): bytes
that start neither an XML event nor a TAK frame (``not_xml``), an event longer than
`MAX_EVENT_BYTES` (``too_large``). One malformed or too deeply nested XML event is
refused alone (`Refused`): the scan skips past its ``</event>``, or to the next event's
start if that comes first (an ``<event .../>`` with a bad attribute), and goes on.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final
from xml.parsers import expat

from warnlink.errors import IngestError
from warnlink.sources.cot_decode import TAK_MAGIC, tak_length

#: The longest event (XML, or TAK payload) a stream may carry, bytes.
MAX_EVENT_BYTES: Final = 64 * 1024
#: The deepest an XML event may nest (a CoT event needs 4: event, detail, shape, ellipse).
MAX_DEPTH: Final = 16
#: Bytes given to expat at once: what is re-read when several events arrive in one read.
_FEED_BYTES: Final = 4096
_END_TAG: Final = b"</event>"
_EVENT_START: Final = re.compile(rb"<\?xml[\s?]|<event[\s/>]")
_WHITESPACE: Final = b" \t\r\n"


@dataclass(frozen=True, slots=True)
class XmlEvent:
    """One whole XML event's bytes (with its declaration, if it had one)."""

    data: bytes


@dataclass(frozen=True, slots=True)
class TakEvent:
    """One TAK protocol frame's payload: the ``TakMessage`` bytes."""

    payload: bytes


@dataclass(frozen=True, slots=True)
class Refused:
    """An event refused by the framing alone; the stream goes on after it."""

    reason: str
    message: str


Frame = XmlEvent | TakEvent | Refused


class _Forbidden(Exception):
    """Raised from inside expat to stop a scan (a DTD)."""


class _XmlScan:
    """The expat scan of one XML event: its depth, and whether its root element closed."""

    def __init__(self, max_depth: int) -> None:
        self.parser = expat.ParserCreate()
        if hasattr(self.parser, "SetReparseDeferralEnabled"):  # expat >= 2.6
            self.parser.SetReparseDeferralEnabled(False)  # see every event as it arrives
        self.parser.StartElementHandler = self._start
        self.parser.EndElementHandler = self._end
        self.parser.StartDoctypeDeclHandler = self._doctype
        self.max_depth = max_depth
        self.depth = 0
        self.deepest = 0
        self.closed = False
        self.fed = 0  # bytes of the event given to expat so far
        self.skip_from: int | None = None  # malformed: look for the end tag from here
        self.next_from: int | None = None  # and for the next event's start from here
        self.problem = ""

    def _start(self, _name: str, _attributes: dict[str, str]) -> None:
        self.depth += 1
        self.deepest = max(self.deepest, self.depth)

    def _end(self, _name: str) -> None:
        self.depth -= 1
        self.closed = self.depth == 0

    def _doctype(self, *_args: object) -> None:
        raise _Forbidden("a DTD (<!DOCTYPE>) is not accepted in a CoT stream")


class CotSplitter:
    """Cuts a CoT byte stream into events (see the module docstring)."""

    def __init__(self, *, max_event_bytes: int = MAX_EVENT_BYTES, max_depth: int = MAX_DEPTH):
        self.max_event_bytes = max_event_bytes
        self.max_depth = max_depth
        self._buffer = bytearray()
        self._scan: _XmlScan | None = None

    @property
    def pending(self) -> int:
        """Bytes held of an event not yet whole (0 between events)."""
        return len(self._buffer)

    def feed(self, data: bytes) -> Iterator[Frame]:
        """The events that `data` completes, in order, as they are cut.

        Raises:
            IngestError: (while iterating) the stream cannot go on (``not_xml``,
                ``too_large``); the events before it were given.
        """
        self._buffer += data
        return iter(self._next, None)

    def _next(self) -> Frame | None:
        if self._scan is None:
            start = len(self._buffer) - len(self._buffer.lstrip(_WHITESPACE))
            del self._buffer[:start]
            if not self._buffer:
                return None
            first = self._buffer[0]
            if first == TAK_MAGIC:
                return self._tak()
            if first != ord("<"):
                raise IngestError(
                    f"the stream is neither CoT XML nor TAK protocol (byte 0x{first:02x})",
                    reason="not_xml",
                )
            self._scan = _XmlScan(self.max_depth)
        if self._scan.skip_from is not None:
            return self._skip(self._scan)
        return self._xml(self._scan)

    def _tak(self) -> Frame | None:
        found = tak_length(self._buffer)
        if found is None:
            return None
        length, start = found
        if length > self.max_event_bytes:
            raise IngestError(
                f"a TAK protocol frame of {length} bytes (limit {self.max_event_bytes})",
                reason="too_large",
            )
        if len(self._buffer) < start + length:
            return None
        payload = bytes(self._buffer[start : start + length])
        del self._buffer[: start + length]
        return TakEvent(payload)

    def _xml(self, scan: _XmlScan) -> Frame | None:
        while scan.fed < len(self._buffer):
            piece = bytes(self._buffer[scan.fed : scan.fed + _FEED_BYTES])
            scan.fed += len(piece)
            try:
                scan.parser.Parse(piece, False)
                if scan.closed:
                    scan.parser.Parse(b"", True)  # a partial token after the root is the next
                    return self._cut(scan, scan.fed)
            except expat.ExpatError as exc:
                return self._malformed(scan, scan.parser.ErrorByteIndex, str(exc))
            except _Forbidden as exc:
                return self._malformed(scan, scan.parser.CurrentByteIndex, str(exc), dtd=True)
            self._check_size(scan.fed)
        return None

    def _malformed(
        self, scan: _XmlScan, at: int, problem: str, *, dtd: bool = False
    ) -> Frame | None:
        if scan.closed:  # the event was whole; what made expat stop is the next one
            return self._cut(scan, at)
        # Resume after this event's end tag, or (an event that closed itself) before the next
        # event's start. Not after a DTD: its own root element is the next start.
        scan.skip_from = max(at - len(_END_TAG) + 1, 0)
        scan.next_from = None if dtd else max(at, 0) + 1
        scan.problem = problem
        return self._skip(scan)

    def _skip(self, scan: _XmlScan) -> Frame | None:
        assert scan.skip_from is not None
        ended = self._buffer.find(_END_TAG, scan.skip_from)
        end = ended + len(_END_TAG) if ended >= 0 else -1
        if scan.next_from is not None:
            starts = _EVENT_START.search(self._buffer, scan.next_from)
            if starts is not None and (end < 0 or starts.start() < end):
                end = starts.start()
        if end < 0:
            self._check_size(len(self._buffer))
            scan.skip_from = max(scan.skip_from, len(self._buffer) - len(_END_TAG) + 1)
            return None
        self._check_size(end)
        del self._buffer[:end]
        self._scan = None
        return Refused("not_xml", f"not well-formed CoT XML: {scan.problem}")

    def _cut(self, scan: _XmlScan, end: int) -> Frame:
        end = end if 0 < end <= scan.fed else scan.fed
        self._check_size(end)
        data = bytes(self._buffer[:end])
        del self._buffer[:end]
        self._scan = None
        if scan.deepest > self.max_depth:
            return Refused(
                "too_deep", f"an event nested {scan.deepest} deep (limit {self.max_depth})"
            )
        return XmlEvent(data)

    def _check_size(self, size: int) -> None:
        if size > self.max_event_bytes:
            raise IngestError(
                f"an event of more than {self.max_event_bytes} bytes", reason="too_large"
            )
