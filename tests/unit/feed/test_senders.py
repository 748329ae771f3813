"""How the feed's senders behave as a C2 system would: retries, answers counted, a
closed port told at once."""

from __future__ import annotations

import json
import socket
import ssl

import httpx2
import pytest

from tests.conformance.source_suite import track
from warnlink.errors import TransportError
from warnlink.feed import senders
from warnlink.feed.senders import HttpSender, sender_for
from warnlink.model.record import DataMode
from warnlink.sources.udl import parse_batch

RECORDS = track("7", DataMode.SIMULATED)


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(senders, "RETRY_FIRST_S", 0.001)
    monkeypatch.setattr(senders, "RETRY_MAX_S", 0.002)


def answering(
    *replies: tuple[int, dict[str, object]] | Exception,
) -> tuple[HttpSender, list[bytes]]:
    """A sender whose node answers `replies` in turn (an exception: the connection fails)."""
    bodies: list[bytes] = []
    left = list(replies)

    def handle(request: httpx2.Request) -> httpx2.Response:
        assert request.url.path == "/udl/missiletrack/createBulk"
        assert request.headers["content-type"] == "application/json"
        bodies.append(request.content)
        reply = left.pop(0)
        if isinstance(reply, Exception):
            raise reply
        status, body = reply
        return httpx2.Response(status, content=json.dumps(body).encode())

    tls = ssl.create_default_context()
    return HttpSender("https://node:8443/", tls, transport=httpx2.MockTransport(handle)), bodies


async def test_a_busy_or_failing_node_is_tried_again_with_the_same_batch() -> None:
    sender, bodies = answering(
        httpx2.ConnectError("refused"),
        (429, {"accepted": 0, "duplicates": 0, "refused": [{"reason": "flood"}]}),
        (503, {}),
        (200, {"accepted": 3, "duplicates": 0, "refused": []}),
    )
    await sender.send(RECORDS)
    await sender.close()
    assert len(bodies) == 4
    assert len(set(bodies)) == 1
    records, refused = parse_batch(bodies[0], party="ROK", source="feed-rok")
    assert (len(records), refused) == (3, [])
    assert sender.stats.as_json() == {
        "batches": 1,
        "records": 3,
        "accepted": 3,
        "duplicates": 0,
        "refused": {},
        "retries": 3,
        "failed": 0,
    }


async def test_a_refused_batch_is_counted_and_not_sent_again() -> None:
    sender, bodies = answering(
        (400, {"accepted": 0, "duplicates": 0, "refused": [{"reason": "stale"}] * 3})
    )
    await sender.send(RECORDS)
    await sender.close()
    assert len(bodies) == 1
    assert sender.stats.refused == {"stale": 3}
    assert sender.stats.retries == 0


async def test_a_batch_is_given_up_after_a_while(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(senders, "GIVE_UP_S", 0.0)
    sender, bodies = answering((503, {}))
    await sender.send(RECORDS)
    await sender.close()
    assert len(bodies) == 1
    assert sender.stats.failed == 3


@pytest.mark.parametrize("via", ["http", "cot"])
async def test_a_closed_port_is_told_at_once(via: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again when the block ends
    where = {"http": f"https://127.0.0.1:{port}/", "cot": f"127.0.0.1:{port}"}
    sender = sender_for(via, {via: where[via]}, ssl.create_default_context())
    with pytest.raises(TransportError, match=f"127.0.0.1:{port}"):
        await sender.open()
    await sender.close()
