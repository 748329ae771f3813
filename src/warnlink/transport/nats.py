"""NatsBus: the `Bus` on NATS JetStream.

One JetStream stream holds the log; `Delivery.seq` is its stream sequence. A publish is
a JetStream publish carrying the bus id in the ``Nats-Msg-Id`` header, so the stream
drops a repeat within its duplicate window and answers with the original's sequence.
Each durable is a pull consumer with explicit acks: `Subscription.next_batch` asks the
server for as many messages as its caller takes at once (`next`: one), so nothing is
taken from the log that the caller did not ask for. Acks go out together, and
`ack_many` returns once the server has read them all (one round trip after them).

What JetStream does differently from `MemoryBus`, and how it is bridged:

- The server sends an unacked message again after the consumer's ack wait
  (`ack_wait_s`), even to a subscription that stays open. The subscription does not
  hand it out twice, as `MemoryBus` would not: the new delivery replaces the one held
  (an ack answers it). Closing a subscription (or the bus) hands its unacked messages
  back at once (a NAK), so the next subscriber gets them first and in order, flagged
  ``redelivered`` (the server's delivery count is above one).
- A process that dies without closing leaves its unacked messages to the ack wait,
  while the server hands newer ones to the next subscriber. That subscriber holds the
  newer ones back until the returned ones are in (`NatsSubscription`), so the order
  holds at the cost of a pause of up to the ack wait.
- Duplicates are dropped within the stream's duplicate window (`duplicate_window_s`,
  two minutes by default), not forever.

With `subject_prefix`, bus subjects are mapped into a namespace (``a.b`` travels as
``<prefix>.a.b``), so several buses can share a server, and a bus filter of ``>`` does
not reach the server's own subjects. Without it, bus subjects are NATS subjects as they
are, which is what per-party permissions are written against.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, TypeVar

import msgspec
import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import Error as NatsError

from warnlink.errors import BusClosed, TransportError
from warnlink.transport import jetstream as js
from warnlink.transport.base import PublishAck, Subscription
from warnlink.transport.nats_pipeline import Answers
from warnlink.transport.nats_subscription import NatsSubscription
from warnlink.transport.subjects import check_publish, check_subscribe, validate_subject

DEFAULT_API_PREFIX: Final = "$JS.API"
REQUEST_TIMEOUT_S: Final = 5.0
DEFAULT_MAX_ACK_PENDING: Final = 1000
_T = TypeVar("_T")
_TLS_EOF_WARNING: Final = "returning true from eof_received() has no effect when using ssl"


class _QuietTlsEof(logging.Filter):
    """Drops asyncio's warning on every close of a connection upgraded to TLS.

    nats-py upgrades its stream to TLS after the server's INFO (`loop.start_tls`); the
    stream's protocol was made for plain TCP and asks to keep the connection half open
    at EOF, which asyncio refuses under TLS with this warning. Nothing is lost.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != _TLS_EOF_WARNING


_QUIET_TLS_EOF: Final = _QuietTlsEof()


def quiet_tls_eof() -> None:
    """Drop asyncio's warning at every close of a nats-py TLS connection (`_QuietTlsEof`);
    any other nats-py client over TLS calls it too. Added once: a logger keeps one of
    each filter."""
    logging.getLogger("asyncio").addFilter(_QUIET_TLS_EOF)


@dataclass(frozen=True, slots=True)
class StreamSpec:
    """The stream a bus ensures exists when it connects.

    Attributes:
        name: the stream's name.
        subjects: bus subject filters the stream captures (before `subject_prefix`).
        duplicate_window_s: how long a msg_id is remembered for deduplication.
    """

    name: str
    subjects: tuple[str, ...]
    duplicate_window_s: float = 120.0


class NatsBus:
    """A `Bus` over one JetStream stream, on a connected NATS client.

    Use `NatsBus.connect`; the constructor takes an already connected client.

    Args:
        client: the connection; closed with the bus when `owns_client`.
        stream: the stream whose consumers `subscribe` opens.
        subject_prefix: namespace for bus subjects ("" for none).
        api_prefix: the JetStream API prefix (``$JS.<domain>.API`` for another domain).
        ack_wait_s: how long the server waits for an ack before redelivering.
        request_timeout_s: how long a publish or API call waits for its answer.
        owns_client: close the client when the bus closes.
        max_ack_pending: how many delivered, unacked messages a consumer it creates
            may have out at once (at least the largest batch a consumer takes).
    """

    def __init__(
        self,
        client: Client,
        *,
        stream: str,
        subject_prefix: str = "",
        api_prefix: str = DEFAULT_API_PREFIX,
        ack_wait_s: float = 30.0,
        request_timeout_s: float = REQUEST_TIMEOUT_S,
        owns_client: bool = True,
        max_ack_pending: int = DEFAULT_MAX_ACK_PENDING,
    ) -> None:
        if subject_prefix:
            validate_subject(subject_prefix)
        self._client = client
        self.stream = stream
        self._prefix = subject_prefix
        self._api = api_prefix
        self._ack_wait_s = ack_wait_s
        self._max_ack_pending = max_ack_pending
        self._timeout_s = request_timeout_s
        self._owns_client = owns_client
        self._subscriptions: dict[str, NatsSubscription] = {}
        self._closed = False
        self._answers = Answers(client, request_timeout_s)

    @classmethod
    async def connect(
        cls,
        servers: str | list[str],
        *,
        stream: str,
        ensure: StreamSpec | None = None,
        subject_prefix: str = "",
        user: str | None = None,
        password: str | None = None,
        inbox_prefix: str = "_INBOX",
        api_prefix: str = DEFAULT_API_PREFIX,
        ack_wait_s: float = 30.0,
        request_timeout_s: float = REQUEST_TIMEOUT_S,
        name: str | None = None,
        connect_timeout_s: float = 10.0,
        tls: ssl.SSLContext | None = None,
        max_ack_pending: int = DEFAULT_MAX_ACK_PENDING,
    ) -> NatsBus:
        """Connect to NATS, make sure the stream exists if `ensure` says how, and return the bus.

        Once connected, the client reconnects without limit; the first connection must
        succeed within `connect_timeout_s`. With `tls` (a client context with the
        client's certificate, see `warnlink.security.certs.client_ssl_context`) the
        connection uses mutual TLS; a refused handshake fails at once.

        Raises:
            TransportError: the connection or the stream set-up failed (refused
                credentials included); a refused TLS handshake says "TLS handshake
                refused" and why (`tls_refusal`).
        """
        who = name or "a client"
        refused: list[Exception] = []
        if tls is not None:
            quiet_tls_eof()
        tls_refused: list[tuple[str, Exception]] = []
        tls_refused_now = asyncio.Event()

        async def on_error(exc: Exception) -> None:
            # A dropped connection tells of a refused certificate only when nothing
            # else went wrong before it (after a refused password, it is just that).
            reason = tls_refusal(exc, tls_configured=tls is not None, first=not refused)
            refused.append(exc)
            if reason is not None:
                tls_refused.append((reason, exc))
                tls_refused_now.set()

        # nats-py retries a refused TLS handshake until the timeout: watch its errors
        # and give up at the first refusal instead.
        attempt = asyncio.ensure_future(
            nats.connect(
                servers,
                user=user,
                password=password,
                inbox_prefix=inbox_prefix,
                name=name,
                connect_timeout=min(connect_timeout_s, REQUEST_TIMEOUT_S),
                max_reconnect_attempts=-1,
                allow_reconnect=True,
                error_cb=on_error,
                tls=tls,
            )
        )
        watch = asyncio.ensure_future(tls_refused_now.wait())
        try:
            done, _ = await asyncio.wait(
                {attempt, watch}, timeout=connect_timeout_s, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            watch.cancel()
            if not attempt.done():
                attempt.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await attempt
        if attempt not in done:
            if tls_refused:
                reason, cause = tls_refused[0]
                raise TransportError(
                    f"{who}: TLS handshake refused by NATS at {servers}: {reason}"
                ) from cause
            why = f" ({refused[-1]!r})" if refused else ""
            raise TransportError(
                f"{who} cannot connect to NATS at {servers} within {connect_timeout_s} s{why}"
            )
        try:
            client = attempt.result()
        except Exception as exc:
            # nats-py reports a refused authentication as one of its errors or as a
            # bare Exception from its reader; either way it is a transport failure.
            raise TransportError(f"{who} cannot connect to NATS at {servers}: {exc!r}") from exc
        bus = cls(
            client,
            stream=stream,
            subject_prefix=subject_prefix,
            api_prefix=api_prefix,
            ack_wait_s=ack_wait_s,
            request_timeout_s=request_timeout_s,
            max_ack_pending=max_ack_pending,
        )
        if ensure is not None:
            try:
                await bus.ensure_stream(ensure)
            except BaseException:
                await bus.close()
                raise
        return bus

    async def ensure_stream(self, spec: StreamSpec) -> None:
        """Create the stream described by `spec` unless a stream of that name exists."""
        info = await self._api_request(f"STREAM.INFO.{spec.name}", b"", js.StreamInfo)
        if info.error is None:
            return
        config = js.StreamConfig(
            name=spec.name,
            subjects=[self._to_nats(s) for s in spec.subjects],
            duplicate_window=js.seconds_to_ns(spec.duplicate_window_s),
            max_msg_size=self.max_message_bytes,
        )
        created = await self._api_request(
            f"STREAM.CREATE.{spec.name}", msgspec.json.encode(config), js.StreamInfo
        )
        if created.error is not None:
            raise js.api_error(f"creating stream {spec.name!r}", created.error)

    @property
    def client(self) -> Client:
        """The NATS connection under the bus (to serve requests beside it, e.g. ingest)."""
        return self._client

    @property
    def max_message_bytes(self) -> int:
        """The largest payload the server accepts."""
        return int(self._client.max_payload)

    async def publish(self, subject: str, data: bytes, *, msg_id: str) -> PublishAck:
        """Append a message (see `Bus.publish`); on disk at the stream when this returns."""
        self._check_open()
        check_publish(subject, data, msg_id, limit_bytes=self.max_message_bytes)
        reply = await self._request(
            self._to_nats(subject), data, headers={js.MSG_ID_HEADER: msg_id}
        )
        ack = self._decode(reply, js.PubAck, f"publish on {subject!r}")
        if ack.error is not None:
            raise js.api_error(f"publish on {subject!r}", ack.error)
        return PublishAck(seq=ack.seq, duplicate=ack.duplicate)

    async def publish_pipelined(
        self, subject: str, data: bytes, *, msg_id: str
    ) -> asyncio.Future[PublishAck]:
        """Send a message now, its answer awaited later (see `Bus.publish_pipelined` and
        `nats_pipeline.Answers`)."""
        self._check_open()
        check_publish(subject, data, msg_id, limit_bytes=self.max_message_bytes)
        return await self._answers.send(subject, self._to_nats(subject), data, msg_id=msg_id)

    async def subscribe(self, subject_filter: str, *, durable: str) -> Subscription:
        """Open or resume a durable pull consumer (see `Bus.subscribe`).

        Raises:
            TransportError: also if `durable` already has an open subscription on this bus.
        """
        self._check_open()
        check_subscribe(subject_filter, durable, self._subscriptions)
        wanted = self._to_nats(subject_filter)
        info = await self._api_request(
            f"CONSUMER.INFO.{self.stream}.{durable}", b"", js.ConsumerInfo
        )
        ack_wait = js.seconds_to_ns(self._ack_wait_s)
        max_ack_pending = self._max_ack_pending
        if info.config is not None:
            if info.config.filter_subject != wanted:
                raise TransportError(
                    f"durable {durable!r} exists with filter "
                    f"{self._from_nats(info.config.filter_subject)!r}; "
                    f"cannot resubscribe with {subject_filter!r}"
                )
            if (info.config.ack_wait, info.config.max_ack_pending) != (ack_wait, max_ack_pending):
                # Made by an older version or other settings (max_ack_pending=1 before
                # batching): both are editable, so the durable keeps its position.
                updated = msgspec.structs.replace(
                    info.config, ack_wait=ack_wait, max_ack_pending=max_ack_pending
                )
                await self._put_consumer(updated, "update")
        else:
            config = js.ConsumerConfig(durable, wanted, ack_wait, max_ack_pending=max_ack_pending)
            await self._put_consumer(config, "create")
        subscription = NatsSubscription(
            self,
            durable,
            subject_filter,
            orphans=info.num_ack_pending,
            delivered_seq=info.delivered.stream_seq,
        )
        await subscription._open()
        self._subscriptions[durable] = subscription
        return subscription

    async def _put_consumer(self, config: js.ConsumerConfig, action: str) -> None:
        """Create or update (`action`) the durable consumer `config` names."""
        durable = config.durable_name
        request = js.CreateConsumer(stream_name=self.stream, config=config, action=action)
        answer = await self._api_request(
            f"CONSUMER.CREATE.{self.stream}.{durable}",
            msgspec.json.encode(request),
            js.ConsumerInfo,
        )
        if answer.error is not None:
            raise js.api_error(f"{action.removesuffix('e')}ing durable {durable!r}", answer.error)

    async def backlog(self) -> tuple[int, int]:
        """(stream's last sequence, messages its open subscriptions have not acked).

        For simulations that drive several buses from one event loop (see `wait_idle`).
        """
        self._check_open()
        info = await self._api_request(f"STREAM.INFO.{self.stream}", b"", js.StreamInfo)
        if info.error is not None or info.state is None:
            raise js.api_error(f"stream {self.stream!r}", info.error or js.ApiError(code=0))
        waiting = 0
        for durable in list(self._subscriptions):
            consumer = await self._api_request(
                f"CONSUMER.INFO.{self.stream}.{durable}", b"", js.ConsumerInfo
            )
            waiting += consumer.num_pending + consumer.num_ack_pending
        return info.state.last_seq, waiting

    async def close(self) -> None:
        """Close every subscription (handing back what they hold), then the connection."""
        if self._closed:
            return
        for subscription in list(self._subscriptions.values()):
            await subscription.close()
        self._closed = True
        if self._owns_client:
            with contextlib.suppress(NatsError, OSError):
                await self._client.drain()
            with contextlib.suppress(NatsError, OSError):
                await self._client.close()

    # Helpers

    def _check_open(self) -> None:
        if self._closed:
            raise BusClosed("the bus is closed")

    def _to_nats(self, subject: str) -> str:
        return f"{self._prefix}.{subject}" if self._prefix else subject

    def _from_nats(self, subject: str) -> str:
        return subject[len(self._prefix) + 1 :] if self._prefix else subject

    async def _request(
        self, subject: str, payload: bytes, *, headers: dict[str, str] | None = None
    ) -> Msg:
        try:
            return await self._client.request(
                subject, payload, timeout=self._timeout_s, headers=headers
            )
        except nats.errors.NoRespondersError as exc:
            raise TransportError(
                f"no JetStream stream answers on {subject!r} (is the stream there, and "
                "may this user publish to it?)"
            ) from exc
        except nats.errors.TimeoutError as exc:
            raise TransportError(
                f"no answer on {subject!r} within {self._timeout_s} s (is this user "
                "allowed to publish there?)"
            ) from exc
        except (NatsError, OSError) as exc:
            if self._closed:
                raise BusClosed("the bus is closed") from exc
            raise TransportError(f"request on {subject!r} failed: {exc!r}") from exc

    async def _send_and_flush(self, messages: Sequence[tuple[str, bytes]]) -> None:
        """Publish each (subject, payload), then wait for one round trip: the server has
        read them all when this returns.

        Acks go this way: the server (2.15) answers an ack sent as a request with
        "no responders" rather than a confirmation, so a request proves nothing more.
        """
        try:
            for subject, payload in messages:
                await self._client.publish(subject, payload)
            await self._client.flush(timeout=max(1, round(self._timeout_s)))
        except (NatsError, OSError) as exc:
            if self._closed:
                raise BusClosed("the bus is closed") from exc
            raise TransportError(f"sending {len(messages)} acks or naks failed: {exc!r}") from exc

    async def _api_request(self, call: str, payload: bytes, kind: type[_T]) -> _T:
        reply = await self._request(f"{self._api}.{call}", payload)
        return self._decode(reply, kind, call)

    @staticmethod
    def _decode(reply: Msg, kind: type[_T], where: str) -> _T:
        try:
            return msgspec.json.decode(reply.data, type=kind)
        except msgspec.DecodeError as exc:
            raise TransportError(f"{where}: unreadable answer {reply.data[:200]!r}") from exc


async def wait_idle(buses: Sequence[NatsBus], *, poll_s: float = 0.002) -> None:
    """Return once every open subscription on `buses` has been given and has acked everything.

    The counterpart of `MemoryBus.wait_idle` across servers: nothing is waiting in
    any consumer, and no stream grew while that was checked, twice in a row (a handler
    publishes before it acks, so a message in flight shows in one count or the other).
    The servers are asked again every `poll_s`: they do not announce idleness.
    """
    previous: list[int] | None = None
    while True:
        counts = [await bus.backlog() for bus in buses]
        seqs = [seq for seq, _ in counts]
        if all(waiting == 0 for _, waiting in counts):
            if seqs == previous:
                return
            previous = seqs
        else:
            previous = None
        await asyncio.sleep(poll_s)


def tls_refusal(exc: BaseException, *, tls_configured: bool, first: bool) -> str | None:
    """What a connection error says about a refused TLS handshake, or None if it is not one.

    With TLS 1.3 the server checks the client's certificate after the client thinks the
    handshake is done: the refusal then arrives as an alert on the first read, or as
    a closed connection when the alert is lost to the race. So a closed connection
    counts when the client uses TLS and it is the `first` error of the attempt.
    """
    if isinstance(exc, ssl.SSLCertVerificationError):
        if not tls_configured:
            return (
                f"the server requires TLS and this client has no certificates "
                f"({exc.verify_message})"
            )
        return f"the server's certificate does not verify ({exc.verify_message})"
    if isinstance(exc, ssl.SSLError):
        alert = str(exc.reason or exc).lower().replace("_", " ")
        if "certificate required" in alert:
            return f"certificate required: the server wants a client certificate ({alert})"
        return f"the server refused this client's certificate ({alert})"
    if tls_configured and first and isinstance(exc, BrokenPipeError | ConnectionResetError):
        return (
            "the server closed the connection in the TLS handshake: certificate required, "
            "or not accepted"
        )
    return None
