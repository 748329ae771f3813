"""Pipelined JetStream publishes for `NatsBus.publish_pipelined`: sent at once, answered later.

Each publish carries a reply subject of the bus's own (``<inbox>.<token>``); the
stream's acknowledgement arrives there and settles that publish's future. Publishes
leave in call order on the one connection, which JetStream keeps.
"""

from __future__ import annotations

import asyncio

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import Error as NatsError

from warnlink.errors import TransportError
from warnlink.transport import jetstream as js
from warnlink.transport.base import PIPELINE_WINDOW, PublishAck


class Answers:
    """The futures of a bus's pipelined publishes, at most `PIPELINE_WINDOW` unanswered.

    Args:
        client: the bus's connection.
        timeout_s: how long an answer may take; later, the future fails with a
            `TransportError`.
    """

    def __init__(self, client: Client, timeout_s: float) -> None:
        self._client = client
        self._timeout_s = timeout_s
        self._window = asyncio.Semaphore(PIPELINE_WINDOW)
        self._prefix: str | None = None
        self._waiting: dict[str, tuple[str, asyncio.Future[PublishAck]]] = {}
        self._count = 0

    async def send(
        self, subject: str, nats_subject: str, data: bytes, *, msg_id: str
    ) -> asyncio.Future[PublishAck]:
        """Publish `data` on `nats_subject` (the bus's `subject`) under `msg_id`; the
        future has the stream's answer. Waits while the window is full."""
        await self._window.acquire()
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[PublishAck] = loop.create_future()
        answer.add_done_callback(lambda _: self._window.release())
        try:
            if self._prefix is None:
                prefix = self._client.new_inbox()
                await self._client.subscribe(f"{prefix}.*", cb=self._on_answer)
                self._prefix = prefix
            self._count += 1
            token = str(self._count)
            self._waiting[token] = (subject, answer)
            answer.add_done_callback(lambda _: self._waiting.pop(token, None))
            await self._client.publish(
                nats_subject,
                data,
                reply=f"{self._prefix}.{token}",
                headers={js.MSG_ID_HEADER: msg_id},
            )
        except (NatsError, OSError) as exc:
            if not answer.done():
                answer.set_exception(TransportError(f"publish on {subject!r} failed: {exc!r}"))
            return answer
        loop.call_later(self._timeout_s, self._no_answer, subject, answer)
        return answer

    async def _on_answer(self, msg: Msg) -> None:
        waiting = self._waiting.get(msg.subject.rsplit(".", 1)[-1])
        if waiting is None or waiting[1].done():
            return
        subject, answer = waiting
        if not msg.data:  # a status without a body: 503, no stream captures the subject
            answer.set_exception(
                TransportError(
                    f"no JetStream stream answers on {subject!r} (is the stream there, "
                    "and may this user publish to it?)"
                )
            )
            return
        try:
            ack = msgspec.json.decode(msg.data, type=js.PubAck)
        except msgspec.DecodeError as exc:
            error = TransportError(f"publish on {subject!r}: unreadable answer {msg.data[:200]!r}")
            error.__cause__ = exc
            answer.set_exception(error)
            return
        if ack.error is not None:
            answer.set_exception(js.api_error(f"publish on {subject!r}", ack.error))
        else:
            answer.set_result(PublishAck(seq=ack.seq, duplicate=ack.duplicate))

    def _no_answer(self, subject: str, answer: asyncio.Future[PublishAck]) -> None:
        if not answer.done():
            answer.set_exception(
                TransportError(f"no answer on {subject!r} within {self._timeout_s} s")
            )
