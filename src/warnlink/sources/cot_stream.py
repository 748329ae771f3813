"""A node's CoT port: one TLS stream per TAK client, CoT in from sources, the picture out.

As TAK Server's streaming port: a client sends and receives CoT on one connection. TLS
with a client certificate of the party's CA (`security.certs.server_ssl_context`); the
certificate says who the client is (`identify`, the source registry's): a registered
source sends hostile missile tracks in, any client of the party's CA (an operator's
TAK client) receives the party's picture (`interop.cot_fanout`: about once a second,
the latest of every uid at once to a newcomer, a slow client never holding up others).

Per source connection, events (CoT XML or TAK protocol frames, `cot_framing`) become
records (`cot.record_from_xml`, `record_from_tak`), gathered into batches of at most
`CotStreamLimits.batch_records` or `batch_s` seconds for the node's `RecordSink`.
Refusals are counted (``ingest_rejected.<reason>``) and logged; one bad event never
closes a stream. A stream is closed (counted, logged, the server goes on) when it is
not CoT at all (``not_xml``), carries an event over the size limit (``too_large``),
leaves an event unfinished for `whole_event_s` (``slow``), or when the sink refuses the
source itself (revoked, unregistered). CoT has no acknowledgement: what the sink
refuses is logged and dropped (TAK sources send every track again with its next state).

Fairness: each connection reads at most `read_bytes` and yields before reading again;
each source may send `events_per_s` events a second (a token bucket, bursts up to
`burst_events`, shared by the source's connections): beyond, events are dropped unread
and counted as ``flood``, and the stream stays open.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from warnlink.counters import Counters
from warnlink.errors import IngestError, WarnlinkError
from warnlink.interop.cot import CotEvent
from warnlink.interop.cot_fanout import PUBLISH_EVERY_S, STALL_S, CotFanout
from warnlink.interop.cot_server import discard_input
from warnlink.model.record import DataMode, SourceRecord
from warnlink.model.time import NS_PER_S, Clock, SystemClock
from warnlink.sources.base import RecordSink
from warnlink.sources.cot import CotSender, record_from_tak, record_from_xml
from warnlink.sources.cot_framing import (
    MAX_DEPTH,
    MAX_EVENT_BYTES,
    CotSplitter,
    Frame,
    Refused,
    XmlEvent,
)

log = logging.getLogger(__name__)

#: Who a client certificate (DER) belongs to: a registered source's name, or None for a
#: client that may only receive. Raises `IngestError` (``revoked``, ``unregistered``...)
#: to refuse the connection.
Identify = Callable[[bytes], str | None]
#: A registered source's default data mode (for events that do not mark theirs).
DefaultMode = Callable[[str], DataMode]
#: Sink refusals of a whole batch that end the source's stream.
HANG_UP_REASONS: Final = frozenset({"revoked", "unregistered", "unauthenticated", "party"})


@dataclass(frozen=True, slots=True)
class CotStreamLimits:
    """The CoT port's limits (see the module docstring)."""

    max_event_bytes: int = MAX_EVENT_BYTES
    max_depth: int = MAX_DEPTH
    batch_records: int = 100
    batch_s: float = 0.1
    events_per_s: float = 1_000.0
    burst_events: float = 1_000.0
    whole_event_s: float = 10.0
    read_bytes: int = 65_536
    max_clients: int = 256
    handshake_s: float = 10.0
    stall_s: float = STALL_S


class _Hangup(Exception):
    """The sink will take nothing more from this connection's source."""


class _Bucket:
    """A token bucket: `rate` tokens a second, at most `burst` held."""

    def __init__(self, rate: float, burst: float, now_ns: int) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.at_ns = now_ns

    def take(self, now_ns: int) -> bool:
        elapsed_s = max(now_ns - self.at_ns, 0) / NS_PER_S
        self.tokens = min(self.burst, self.tokens + elapsed_s * self.rate)
        self.at_ns = now_ns
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True


class CotStreamServer:
    """The CoT port of one party's node (see the module docstring)."""

    def __init__(
        self,
        party: str,
        sink: RecordSink,
        *,
        identify: Identify,
        default_mode: DefaultMode,
        ssl_context: ssl.SSLContext,
        counters: Counters | None = None,
        clock: Clock | None = None,
        limits: CotStreamLimits | None = None,
    ) -> None:
        self.party = party
        self.sink = sink
        self.identify = identify
        self.default_mode = default_mode
        self.ssl_context = ssl_context
        self.counters = counters if counters is not None else Counters()
        self.clock = clock if clock is not None else SystemClock()
        self.limits = limits if limits is not None else CotStreamLimits()
        self.fanout = CotFanout(self.counters, stall_s=self.limits.stall_s)
        self.port: int | None = None
        self._server: asyncio.Server | None = None
        self._buckets: dict[str, _Bucket] = {}
        self._connections: set[asyncio.Task[None]] = set()

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen; returns the port (an ephemeral one when `port` is 0)."""
        self._server = await asyncio.start_server(
            self._serve,
            host,
            port,
            ssl=self.ssl_context,
            ssl_handshake_timeout=self.limits.handshake_s,
        )
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    def publish(self, events: Iterable[CotEvent]) -> int:
        """Send CoT events to every client now; returns how many."""
        return self.fanout.publish(events)

    async def run(
        self,
        events: Callable[[], Iterable[CotEvent]],
        stop: asyncio.Event,
        every_s: float = PUBLISH_EVERY_S,
    ) -> None:
        """Publish what `events` gives (the picture) every `every_s` until `stop`; then close."""
        try:
            await self.fanout.run(events, stop, every_s)
        finally:
            await self.close()

    async def close(self) -> None:
        """Stop listening and close every connection."""
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        await self.fanout.close()
        if self._server is not None:
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        if len(self._connections) >= self.limits.max_clients:
            self.counters.inc("cot_in.too_many_clients")
            writer.close()
            return
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        client = None
        try:
            source = self._who(writer)
            client = self.fanout.add(writer)
            if source is None:
                await discard_input(reader)
            else:
                log.info("CoT source %s connected from %s", source, peer)
                await self._ingest(source, reader)
        except IngestError as exc:
            self._count(exc.reason)
            log.warning("CoT stream from %s closed: %s (%s)", peer, exc, exc.reason)
        except _Hangup as exc:
            log.warning("CoT stream from %s closed: %s", peer, exc)
        except (ConnectionError, ssl.SSLError):
            pass
        except asyncio.CancelledError:
            pass  # the server is closing: this connection ends with it
        except Exception:  # the last resort: this connection ends, the server goes on
            self.counters.inc("cot_in.failed")
            log.exception("CoT stream from %s failed", peer)
        finally:
            if client is not None:
                self.fanout.remove(client)
            writer.close()
            self._connections.discard(task)

    def _who(self, writer: asyncio.StreamWriter) -> str | None:
        ssl_object = writer.get_extra_info("ssl_object")
        der = None if ssl_object is None else ssl_object.getpeercert(binary_form=True)
        if not der:
            raise IngestError("no client certificate", reason="unauthenticated")
        return self.identify(der)

    async def _ingest(self, source: str, reader: asyncio.StreamReader) -> None:
        limits = self.limits
        splitter = CotSplitter(max_event_bytes=limits.max_event_bytes, max_depth=limits.max_depth)
        sender = CotSender(source, self.party, self.default_mode(source))
        now = self.clock.monotonic_ns()
        bucket = self._buckets.setdefault(
            source, _Bucket(limits.events_per_s, limits.burst_events, now)
        )
        batch: list[SourceRecord] = []
        batch_since = event_since = now
        while True:
            waiting = bool(batch) or splitter.pending > 0
            try:
                data = await asyncio.wait_for(
                    reader.read(limits.read_bytes), limits.batch_s if waiting else None
                )
            except TimeoutError:
                data = None
            now = self.clock.monotonic_ns()
            if data == b"":
                break
            if data is not None:
                if not splitter.pending:
                    event_since = now
                try:
                    for frame in splitter.feed(data):
                        event_since = now
                        record = self._record(frame, sender, bucket, now)
                        if record is not None:
                            batch_since = now if not batch else batch_since
                            batch.append(record)
                except IngestError:
                    await self._flush(source, batch)  # what came whole before is good
                    raise
            if splitter.pending and now - event_since > limits.whole_event_s * NS_PER_S:
                raise IngestError(
                    f"an event unfinished after {limits.whole_event_s:.0f} s", reason="slow"
                )
            old = now - batch_since >= limits.batch_s * NS_PER_S
            while batch and (len(batch) >= limits.batch_records or data is None or old):
                await self._flush(source, batch[: limits.batch_records])
                del batch[: limits.batch_records]
            await asyncio.sleep(0)  # let the other connections read
        if batch:
            await self._flush(source, batch)

    def _record(
        self, frame: Frame, sender: CotSender, bucket: _Bucket, now_ns: int
    ) -> SourceRecord | None:
        if not bucket.take(now_ns):
            self._count("flood")
            return None
        try:
            if isinstance(frame, Refused):
                raise IngestError(frame.message, reason=frame.reason)
            if isinstance(frame, XmlEvent):
                return record_from_xml(frame.data, sender)
            return record_from_tak(frame.payload, sender)
        except IngestError as exc:
            self._count(exc.reason)
            log.info("CoT event from %s refused: %s (%s)", sender.source, exc, exc.reason)
            return None

    async def _flush(self, source: str, records: Sequence[SourceRecord]) -> None:
        """Give `records` to the sink; what it refuses is dropped and the rest given again."""
        pending = list(records)
        while pending:
            try:
                answer = await self.sink.take(source, pending)
            except WarnlinkError as exc:
                self.counters.inc("cot_in.sink_failed")
                raise _Hangup(f"the node could not take {source}'s records: {exc}") from exc
            if answer.ok:
                return
            whole = [r for r in answer.refused if r.index is None]
            if whole:
                if whole[0].reason in HANG_UP_REASONS:
                    raise _Hangup(f"{source}: {whole[0].message} ({whole[0].reason})")
                log.warning("CoT batch from %s refused: %s", source, whole[0].message)
                return
            refused = {r.index for r in answer.refused}
            for refusal in answer.refused:
                log.info("CoT record from %s refused: %s", source, refusal.message)
            pending = [r for i, r in enumerate(pending) if i not in refused]

    def _count(self, reason: str) -> None:
        self.counters.inc(f"ingest_rejected.{reason}")
