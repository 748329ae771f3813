"""The official UDL client (udl-sdk) posts MissileTracks to a node's ingest route over mTLS.

A real uvicorn server on a free port serves `web.ingest.ingest_router` with the party's
server certificate, client certificates required; udl-sdk's clients (sync, in a thread,
and async) carry a client certificate of the party's CA. What reaches the sink is what
was sent; a bad batch comes back as udl-sdk's own BadRequestError with the typed
refusals; another party's certificate opens nothing.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request
from unifieddatalibrary import (
    APIConnectionError,
    AsyncUnifieddatalibrary,
    BadRequestError,
    Omit,
    Unifieddatalibrary,
)

from tests.udl_records import COV21_KM, POS_KM, VEL_KM_S
from warnlink.counters import Counters
from warnlink.model.record import DataMode, SourceRecord
from warnlink.security.certs import client_ssl_context, init_certs, party_certs, server_ssl_context
from warnlink.sources.base import IngestAnswer
from warnlink.web.ingest import ingest_router

EPOCH = datetime(2026, 11, 24, 0, 10, 5, 250_000, tzinfo=UTC)


class MemorySink:
    def __init__(self) -> None:
        self.batches: list[tuple[str, list[SourceRecord]]] = []

    async def take(self, source: str, records: Sequence[SourceRecord]) -> IngestAnswer:
        self.batches.append((source, list(records)))
        return IngestAnswer(accepted=len(records))


def missile_track(**changes: Any) -> dict[str, Any]:
    """A record as a udl-sdk user writes it: snake_case keys, datetimes, UDL's extras."""
    return {
        "classification_marking": "U",
        "data_mode": "EXERCISE",
        "source": "ROK-KAMD",
        "ts": EPOCH,
        "track_id": "T-7",
        "boosting": False,
        "trk_qual": 9,
        "obj_ident": "HOSTILE",
        "acft_sub_type": "SRBM",
        "alert": "TGT",  # UDL fields the node does not use are taken and dropped
        "call_sign": "Alpha",
        "context_keys": ["exercise"],
        "context_values": ["Vigilant"],
        "launch_lat": 39.2,
        "launch_lon": 125.7,
        "launch_time": EPOCH - timedelta(seconds=125),
        "launch_aou_type": "ELLIPSE",
        "launch_aou_data": [30.0, 5.0, 2.0],
        "vectors": [
            {
                "epoch": EPOCH - timedelta(seconds=1),
                "pos": POS_KM,
                "vel": VEL_KM_S,
                "cov": COV21_KM,
                "cov_reference_frame": "ECR/ECEF",
                "id_sensor": "ROK-R1",
                "propagated": False,
            },
            {"epoch": EPOCH, "pos": POS_KM, "vel": VEL_KM_S, "reference_frame": "ECEF"},
        ],
        **changes,
    }


@pytest.fixture
def certs(tmp_path: Path) -> Path:
    init_certs(tmp_path, ["ROK", "JPN"])
    return tmp_path


def identify(request: Request) -> str:
    """The test's identity: TLS already required a client certificate of ROK's CA."""
    assert request.headers.get("authorization") in (None, "Bearer not-used-by-warnlink")
    return "rok-c2"


@pytest.fixture
async def node(certs: Path) -> AsyncIterator[tuple[str, MemorySink, Counters]]:
    """A node's ingest route on a free port over mTLS: (base URL, sink, counters)."""
    sink, counters = MemorySink(), Counters()
    app = FastAPI()
    app.include_router(ingest_router(sink, "ROK", identify, counters))
    context = server_ssl_context(certs, "ROK")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            log_level="warning",
            lifespan="off",
            ssl_context_factory=lambda _config, _default: context,
        )
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield f"https://127.0.0.1:{sock.getsockname()[1]}", sink, counters
    finally:
        server.should_exit = True
        await task
        sock.close()


def sdk_client(base_url: str, context: ssl.SSLContext) -> Unifieddatalibrary:
    """udl-sdk pointed at the node: the certificate is the identity.

    udl-sdk insists on some credential; the node ignores ``Authorization``, so a
    placeholder token does (never a real UDL token: it would be sent to the node).
    """
    return Unifieddatalibrary(
        base_url=base_url,
        access_token="not-used-by-warnlink",
        http_client=httpx.Client(verify=context, timeout=10.0),
        max_retries=0,
    )


async def test_udl_sdk_create_bulk_reaches_the_sink(
    node: tuple[str, MemorySink, Counters], certs: Path
) -> None:
    base_url, sink, counters = node
    client = sdk_client(base_url, client_ssl_context(certs, "ROK", "node"))
    with client:
        result = await asyncio.to_thread(client.missile_tracks.create_bulk, body=[missile_track()])
    assert result is None  # udl-sdk reads no body from createBulk: the JSON answer is harmless
    [(source, records)] = sink.batches
    assert source == "rok-c2"
    assert [r.track_id for r in records] == ["T-7", "T-7"]
    latest = records[-1]
    assert latest.data_mode == DataMode.EXERCISE
    assert latest.party == "ROK"
    assert latest.quality == 9
    assert latest.launch is not None
    assert latest.launch.aou.semi_major_m == 5000.0
    assert latest.pos_ecef_m == pytest.approx([x * 1000 for x in POS_KM])
    assert records[0].cov is not None
    assert records[0].sensor == "ROK-R1"
    assert counters.as_dict() == {}


async def test_udl_sdk_sees_a_bad_batch_as_its_bad_request_with_typed_refusals(
    node: tuple[str, MemorySink, Counters], certs: Path
) -> None:
    base_url, sink, counters = node
    client = sdk_client(base_url, client_ssl_context(certs, "ROK", "node"))
    bad = missile_track(launch_lat=91.0)
    with client, pytest.raises(BadRequestError) as raised:
        await asyncio.to_thread(client.missile_tracks.create_bulk, body=[missile_track(), bad])
    assert raised.value.status_code == 400
    assert isinstance(raised.value.body, dict)
    [refusal] = raised.value.body["refused"]
    assert (refusal["index"], refusal["field"], refusal["reason"]) == (
        1,
        "[1].launchLat",
        "latitude",
    )
    assert sink.batches == []
    assert counters.as_dict() == {"ingest_rejected.latitude": 1}


async def test_the_async_udl_client_works_too(
    node: tuple[str, MemorySink, Counters], certs: Path
) -> None:
    base_url, sink, _ = node
    client = AsyncUnifieddatalibrary(
        base_url=base_url,
        http_client=httpx.AsyncClient(verify=client_ssl_context(certs, "ROK", "node")),
        max_retries=0,
    )
    async with client:  # no credential at all: Authorization omitted per call
        await client.missile_tracks.create_bulk(
            body=[missile_track(track_id="T-8")], extra_headers={"Authorization": Omit()}
        )
    assert [r.track_id for _, records in sink.batches for r in records] == ["T-8", "T-8"]


async def test_another_partys_certificate_opens_nothing(
    node: tuple[str, MemorySink, Counters], certs: Path
) -> None:
    base_url, sink, _ = node
    jpn = party_certs(certs, "JPN")
    context = ssl.create_default_context(cafile=party_certs(certs, "ROK").ca)
    context.load_cert_chain(jpn.cert("node"), jpn.key("node"))
    client = sdk_client(base_url, context)
    with client, pytest.raises(APIConnectionError):
        await asyncio.to_thread(client.missile_tracks.create_bulk, body=[missile_track()])
    assert sink.batches == []
