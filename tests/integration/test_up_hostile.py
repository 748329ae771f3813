"""A running `warnlink up` refuses hostile input at its real ports, typed and counted, and
goes on taking good input.

One `up` for the module; ROK's node is the target. Over HTTPS (``createBulk``): the whole
hostile corpus (tests/udl_corpus.py: every check of issue 16 item 6), then what only
the route and the intake see: content type, a body over 4 MiB declared or streamed, a
slow drip, stale and future states, a track changing its data mode, a repeat, and who
may send (no certificate, another party's, an operator's, a revoked source's). Over
NATS and CoT, their own cases. Each refusal is checked as the sender sees it (HTTP status
and ``refused[].reason``, or the stream closed) and as the operator sees it, on the
node's ``/metrics`` (``warnlink_ingest_rejected_total{reason}``). Refusals in the TLS
handshake (no certificate, another party's CA) never reach the node: no counter says
them. Last, a flood from one source fills its backlog (`sources.intake.SOURCE_BACKLOG`)
until it is refused ``flood`` (429) while another source keeps flowing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any, Final
from urllib.parse import urlsplit

import httpx
import nats
import numpy as np
import pytest

from tests.cot_events import missile_event, other_event
from tests.integration.running_up import PATIENCE_S, RunningUp, Source, wait_until
from tests.udl_corpus import CORPUS
from tests.udl_records import body, record, vector
from warnlink.geo.wgs84 import enu_rotation, lla_to_ecef
from warnlink.model.payloads import Phase
from warnlink.model.record import DataMode, SourceRecord
from warnlink.model.time import NS_PER_S
from warnlink.sharing.nats_topology import INGEST_SUBJECT
from warnlink.sources.intake import SOURCE_BACKLOG
from warnlink.sources.udl import MAX_BODY_BYTES, MAX_RECORDS
from warnlink.sources.udl_encode import iso_ns, udl_body
from warnlink.web.ingest import INGEST_PATH

pytestmark = [pytest.mark.nats, pytest.mark.slow]

PARTY: Final = "ROK"
JSON: Final = "application/json"


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningUp]:
    running = RunningUp.start(tmp_path_factory.mktemp("hostile") / "data")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def source(up: RunningUp) -> Source:
    return up.add_source(PARTY, "kamd-c2")


@contextlib.contextmanager
def counted(up: RunningUp) -> Iterator[Counter[str]]:
    """What the node counted as refused (by reason) while the block ran."""
    before = up.rejected(PARTY)
    change: Counter[str] = Counter()
    yield change
    after = up.rejected(PARTY)
    change.update({r: round(n - before.get(r, 0.0)) for r, n in after.items()})
    change += Counter()  # drop the reasons that did not move


def post(
    up: RunningUp, tls: ssl.SSLContext, data: bytes, content_type: str = JSON
) -> tuple[int, dict[str, Any]]:
    """POST a createBulk body to ROK's node: (status, answer)."""
    with httpx.Client(verify=tls, timeout=PATIENCE_S) as client:
        response = client.post(
            up.http(PARTY) + INGEST_PATH.lstrip("/"),
            content=data,
            headers={"content-type": content_type},
        )
    return response.status_code, response.json()


def reasons(answer: dict[str, Any]) -> Counter[str]:
    return Counter(r["reason"] for r in answer["refused"])


async def post_in_pieces(
    up: RunningUp,
    tls: ssl.SSLContext,
    headers: dict[str, str],
    pieces: Iterable[bytes],
    pace_s: float,
) -> tuple[int, dict[str, Any], int]:
    """POST a body piece by piece, `pace_s` apart, looking for the node's answer between
    pieces (it may answer before the body is whole): (status, answer, bytes sent)."""
    where = urlsplit(up.http(PARTY))
    reader, writer = await asyncio.open_connection(where.hostname, where.port, ssl=tls)
    head = "".join(f"{k}: {v}\r\n" for k, v in {"Host": where.netloc, **headers}.items())
    writer.write(f"POST {INGEST_PATH} HTTP/1.1\r\n{head}\r\n".encode())
    sent, received = 0, b""
    async with asyncio.timeout(PATIENCE_S):
        for piece in pieces:
            try:
                writer.write(piece)
                await writer.drain()
            except ConnectionError:
                break  # the node hung up: its answer is waiting
            sent += len(piece)
            with contextlib.suppress(TimeoutError):
                received = await asyncio.wait_for(reader.read(65536), pace_s)
                break
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            while chunk := await reader.read(65536):  # to the close the node asks
                received += chunk
    writer.close()
    status_line, _, rest = received.partition(b"\r\n")
    content = rest.partition(b"\r\n\r\n")[2]
    return int(status_line.split()[1]), json.loads(content), sent


# ------------------------------------------------------------------------------------
# The hostile corpus over HTTPS


@pytest.mark.parametrize(
    ("data", "reason", "index", "field"),
    [pytest.param(d, r, i, f, id=name) for name, d, r, i, f in CORPUS],
)
async def test_each_hostile_body_is_refused_typed_and_counted(
    up: RunningUp, source: Source, data: bytes, reason: str, index: int | None, field: str
) -> None:
    with counted(up) as change:
        if len(data) > MAX_BODY_BYTES:  # refused on its length, maybe while still sent
            pieces = (data[i : i + 65536] for i in range(0, len(data), 65536))
            headers = {"Content-Type": JSON, "Content-Length": str(len(data))}
            status, answer, _ = await post_in_pieces(
                up, up.source_tls(source), headers, pieces, 0.01
            )
        else:
            status, answer = await asyncio.to_thread(post, up, up.source_tls(source), data)
    assert status == (413 if reason in ("too_large", "too_many") else 400)
    first = answer["refused"][0]
    assert (first["reason"], first["index"], first["field"]) == (reason, index, field)
    assert answer["accepted"] == 0
    assert change == reasons(answer)


# ------------------------------------------------------------------------------------
# What only the route and the intake see


def now_record(epoch_ns: int, **changes: Any) -> dict[str, Any]:
    """A good MissileTrack whose state and receipt time are `epoch_ns`."""
    stamp = iso_ns(epoch_ns)
    return record(ts=stamp, vectors=[vector(epoch=stamp)], **changes)


@pytest.mark.parametrize(
    ("content_type", "status", "reason"),
    [
        ("text/plain", 415, "content_type"),
        ("application/json; charset=latin-1", 415, "content_type"),
        ("application/x-www-form-urlencoded", 415, "content_type"),
        ("application/json; charset=utf-8", 200, None),
    ],
)
def test_only_utf8_json_is_taken(
    up: RunningUp, source: Source, content_type: str, status: int, reason: str | None
) -> None:
    data = body(now_record(time.time_ns(), trackId=f"CT-{status}-{len(content_type)}"))
    with counted(up) as change:
        got, answer = post(up, up.source_tls(source), data, content_type)
    assert (got, [r["reason"] for r in answer["refused"]]) == (status, [reason] if reason else [])
    assert change == reasons(answer)


async def test_a_body_streamed_past_4_mib_is_cut_off(up: RunningUp, source: Source) -> None:
    """No Content-Length (chunked): the node counts as it reads and stops at the limit."""
    piece = b"[" + b" " * 65535

    def chunked() -> Iterator[bytes]:
        for _ in range(MAX_BODY_BYTES // len(piece) + 2):
            yield f"{len(piece):x}\r\n".encode() + piece + b"\r\n"

    headers = {"Content-Type": JSON, "Transfer-Encoding": "chunked"}
    with counted(up) as change:
        status, answer, sent = await post_in_pieces(
            up, up.source_tls(source), headers, chunked(), 0.01
        )
    assert (status, reasons(answer)) == (413, Counter(too_large=1))
    assert change == reasons(answer)
    assert sent > MAX_BODY_BYTES


async def test_a_slow_drip_is_answered_408_within_the_nodes_read_deadline(
    up: RunningUp, source: Source
) -> None:
    """A byte a second of a body of over a minute: the node gives up at its deadline (10 s,
    `web.ingest.READ_TIMEOUT_S`), long before the body is whole."""
    data = body(now_record(time.time_ns(), trackId="DRIP"), now_record(time.time_ns() + 1))
    headers = {"Content-Type": JSON, "Content-Length": str(len(data))}
    drip = (data[i : i + 1] for i in range(len(data)))
    with counted(up) as change:
        status, answer, sent = await post_in_pieces(up, up.source_tls(source), headers, drip, 1.0)
    assert (status, reasons(answer)) == (408, Counter(slow=1))
    assert change == reasons(answer)
    assert sent < len(data)


@pytest.mark.parametrize(
    ("offset_s", "reason"), [(-400.0, "stale"), (400.0, "future")], ids=["stale", "future"]
)
def test_a_state_outside_the_freshness_window_is_refused(
    up: RunningUp, source: Source, offset_s: float, reason: str
) -> None:
    now = time.time_ns()
    data = body(
        now_record(now, trackId="FW-1"),
        now_record(now + round(offset_s * NS_PER_S), trackId="FW-2"),
    )
    with counted(up) as change:
        status, answer = post(up, up.source_tls(source), data)
    assert status == 400
    assert answer["accepted"] == 0  # the good record is refused with the batch
    [refused] = answer["refused"]
    assert (refused["index"], refused["field"], refused["reason"]) == (
        1,
        "[1].vectors[0].epoch",
        reason,
    )
    assert change == reasons(answer)


def test_a_track_may_not_change_its_data_mode(up: RunningUp, source: Source) -> None:
    now = time.time_ns()
    assert post(up, up.source_tls(source), body(now_record(now, trackId="MODE")))[0] == 200
    changed = body(now_record(now + NS_PER_S, trackId="MODE", dataMode="REAL"))
    with counted(up) as change:
        status, answer = post(up, up.source_tls(source), changed)
    assert (status, reasons(answer)) == (400, Counter(mode_changed=1))
    assert answer["refused"][0]["field"] == "[0].dataMode"
    assert change == reasons(answer)


def test_a_repeat_is_acknowledged_and_not_taken_again(up: RunningUp, source: Source) -> None:
    now = time.time_ns()
    data = body(*(now_record(now + i * NS_PER_S, trackId="REPEAT") for i in range(3)))
    first = post(up, up.source_tls(source), data)
    again = post(up, up.source_tls(source), data)
    assert first == (200, {"accepted": 3, "duplicates": 0, "refused": []})
    assert again == (200, {"accepted": 0, "duplicates": 3, "refused": []})


# ------------------------------------------------------------------------------------
# Who may send


def test_an_operator_certificate_is_no_source(up: RunningUp) -> None:
    operator = up.operator(PARTY)
    with counted(up) as change:
        status, answer = post(up, operator, body(now_record(time.time_ns())))
    assert (status, reasons(answer)) == (403, Counter(unregistered=1))
    assert change == reasons(answer)


def test_a_revoked_source_is_refused_at_once(up: RunningUp) -> None:
    doomed = up.add_source(PARTY, "doomed")
    now = time.time_ns()
    assert post(up, up.source_tls(doomed), body(now_record(now, trackId="D")))[0] == 200
    up.revoke_source(doomed)
    with counted(up) as change:
        status, answer = post(up, up.source_tls(doomed), body(now_record(now + 1, trackId="D")))
    assert (status, reasons(answer)) == (403, Counter(revoked=1))
    assert change == reasons(answer)


def _handshake_refused(up: RunningUp, tls: ssl.SSLContext, party: str = PARTY) -> bool:
    try:
        with httpx.Client(verify=tls, timeout=PATIENCE_S) as client:
            client.post(
                up.http(party) + INGEST_PATH.lstrip("/"),
                content=body(now_record(time.time_ns())),
                headers={"content-type": JSON},
            )
    except httpx.TransportError:  # the TLS handshake, or the first read after it
        return True
    return False


def test_no_certificate_or_another_partys_opens_nothing(up: RunningUp, source: Source) -> None:
    """Refused in the TLS handshake, before the node: nothing to count."""
    jpn = up.add_source("JPN", "jadge")
    with counted(up) as change:
        assert _handshake_refused(up, up.tls(PARTY))  # no certificate
        assert _handshake_refused(up, up.tls(PARTY, jpn.cert, jpn.key))  # JPN's source
        # ROK's source writing to JPN's node, as JPN's: refused by JPN's CA.
        assert _handshake_refused(up, up.tls("JPN", source.cert, source.key), "JPN")
    assert change == Counter()


async def test_a_source_cannot_write_over_nats_or_cot_as_another_party(
    up: RunningUp, source: Source
) -> None:
    tls = up.tls("JPN", source.cert, source.key)
    await _nats_refused(up.endpoints["JPN"]["nats"], tls)  # by JPN's CA, in the handshake
    host, port = up.endpoints["JPN"]["cot"].rsplit(":", 1)
    try:
        reader, writer = await asyncio.open_connection(host, int(port), ssl=tls)
        writer.write(missile_event("as-jpn"))
        assert await asyncio.wait_for(reader.read(), PATIENCE_S) == b""
    except (ConnectionError, ssl.SSLError):
        pass


# ------------------------------------------------------------------------------------
# NATS and CoT, their own cases


async def test_over_nats_a_bad_body_gets_the_same_typed_answer_and_count(
    up: RunningUp, source: Source
) -> None:
    client = await nats.connect(
        up.endpoints[PARTY]["nats"],
        tls=up.source_tls(source),
        allow_reconnect=False,
        connect_timeout=PATIENCE_S,
    )
    try:
        with counted(up) as change:
            reply = await client.request(INGEST_SUBJECT, b'[{"trackId": ', timeout=PATIENCE_S)
        answer = json.loads(reply.data)
        assert reasons(answer) == Counter(not_json=1)
        assert change == reasons(answer)
    finally:
        await client.close()
    said = await _nats_refused(up.endpoints[PARTY]["nats"], up.operator(PARTY))
    assert "authorization violation" in said.lower()  # an operator is no source


async def _nats_refused(url: str, tls: ssl.SSLContext) -> str:
    """How the party's NATS server refused a connection (it must)."""
    try:
        client = await nats.connect(
            url, tls=tls, allow_reconnect=False, max_reconnect_attempts=0, connect_timeout=5.0
        )
    except Exception as exc:  # nats-py raises several kinds
        return repr(exc)
    await client.close()
    raise AssertionError(f"{url} let the connection in")


@contextlib.asynccontextmanager
async def cot_stream(
    up: RunningUp, source: Source
) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    host, port = up.endpoints[PARTY]["cot"].rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port), ssl=up.source_tls(source))
    try:
        yield reader, writer
    finally:
        writer.close()


async def test_over_cot_each_bad_event_is_counted_and_garbage_ends_the_stream(
    up: RunningUp, source: Source
) -> None:
    stale = missile_event("old")  # 2026-11-24: long out of the window
    with counted(up) as change:
        async with cot_stream(up, source) as (reader, writer):
            writer.write(other_event() + stale + b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            with contextlib.suppress(ConnectionError, ssl.SSLError):
                # To the end of the stream (the party's picture comes out meanwhile):
                # what came whole before the garbage was handled (the stale event
                # given to the intake) before the node hung up.
                await asyncio.wait_for(reader.read(), PATIENCE_S)
    assert change == Counter(not_a_missile=1, stale=1, not_xml=1)


# ------------------------------------------------------------------------------------
# A flood from one source while another keeps flowing (last: it leaves a backlog)


def straight_track(
    track_id: str, start_ns: int, count: int, lon_deg: float, step_ns: int = NS_PER_S // 100
) -> list[SourceRecord]:
    """`count` states, `step_ns` apart, of a body flying east at 2 km/s, 400 km up."""
    rotation = enu_rotation(39.0, lon_deg)
    start = lla_to_ecef(39.0, lon_deg, 400_000.0)
    vel = rotation.T @ np.array([2000.0, 0.0, 0.0])
    return [
        SourceRecord(
            source="named-by-the-node",
            party=PARTY,
            track_id=track_id,
            epoch_ns=start_ns + i * step_ns,
            data_mode=DataMode.TEST,
            pos_ecef_m=tuple((start + vel * i * step_ns / NS_PER_S).tolist()),  # type: ignore[arg-type]
            vel_ecef_mps=tuple(vel.tolist()),  # type: ignore[arg-type]
            phase=Phase.MIDCOURSE,
            quality=9,
        )
        for i in range(count)
    ]


FLOOD_BATCH: Final = MAX_RECORDS - 1000
STEADY_TRACK: Final = "7002"  # a free decimal id: the node numbers the track 7002


async def test_a_flooding_source_is_refused_429_while_another_keeps_flowing(
    up: RunningUp, source: Source
) -> None:
    """The flood sends batches of 9,000 states as fast as the node takes them, faster
    than the node hands them on, until its backlog would pass `SOURCE_BACKLOG`; all the
    while, and after, the other source's small batches are taken and handed on."""
    flood = up.add_source(PARTY, "flood")
    now = time.time_ns()
    steady = straight_track(STEADY_TRACK, now - 60 * NS_PER_S, 80, 140.0, NS_PER_S)
    flooding = asyncio.Event()
    flood_answers: list[tuple[int, dict[str, Any]]] = []
    steady_statuses: list[int] = []

    async def flood_it() -> None:
        try:
            for n in range(2 * SOURCE_BACKLOG // FLOOD_BATCH + 4):  # bounded
                records = straight_track(f"F{n}", now - 100 * NS_PER_S, FLOOD_BATCH, 125.0)
                flood_answers.append(
                    await asyncio.to_thread(post, up, up.source_tls(flood), udl_body(records))
                )
                if flood_answers[-1][0] != 200:
                    return
        finally:
            flooding.set()

    async def keep_flowing() -> None:
        for i in range(0, len(steady), 2):
            status, _ = await asyncio.to_thread(
                post, up, up.source_tls(source), udl_body(steady[i : i + 2])
            )
            steady_statuses.append(status)
            if flooding.is_set() and len(steady_statuses) > 1:
                return

    with counted(up) as change:
        await asyncio.gather(flood_it(), keep_flowing())
    *taken, (status, answer) = flood_answers
    assert {s for s, _ in taken} == {200}, "the node handed the flood on as fast as it came"
    assert (status, reasons(answer)) == (429, Counter(flood=1))
    assert len(taken) >= SOURCE_BACKLOG // FLOOD_BATCH  # not refused before its share
    assert change == Counter(flood=1)
    assert set(steady_statuses) == {200}
    sent = 2 * len(steady_statuses)

    def steady_reports() -> int:
        return sum(
            c["track_reports"]
            for e in up.state(PARTY)["events"]
            for c in e["contributions"]
            if (c["originator"], c["track_number"]) == (PARTY, int(STEADY_TRACK))
        )

    await asyncio.to_thread(
        wait_until, "the steady source's records handed on", steady_reports, lambda n: n == sent
    )
    counts = up.ingested(PARTY)
    assert counts["accepted"] - counts["applied"] > 0  # the flood still waits its turn
