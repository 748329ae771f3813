"""The ingest route: who may send, what it takes, how it refuses, what it counts, its docs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import httpx2 as httpx
import pytest
from fastapi import FastAPI, Request

from tests.udl_records import body, record
from warnlink.counters import Counters
from warnlink.errors import IngestError
from warnlink.model.record import SourceRecord
from warnlink.sources.base import IngestAnswer
from warnlink.web.ingest import INGEST_PATH, ingest_router

JSON = {"content-type": "application/json"}
LIMIT = 4096


class MemorySink:
    """A RecordSink that keeps every batch it took."""

    def __init__(self) -> None:
        self.batches: list[tuple[str, list[SourceRecord]]] = []

    async def take(self, source: str, records: Sequence[SourceRecord]) -> IngestAnswer:
        self.batches.append((source, list(records)))
        return IngestAnswer(accepted=len(records))


def identify_by_header(request: Request) -> str:
    """The test's stand-in for the certificate check: the source named in a header."""
    name = request.headers.get("x-source")
    if name is None:
        raise IngestError("no client certificate", reason="unauthenticated")
    if name == "revoked-one":
        raise IngestError("revoked", reason="revoked")
    return name


@pytest.fixture
def sink() -> MemorySink:
    return MemorySink()


@pytest.fixture
def counters() -> Counters:
    return Counters()


@pytest.fixture
def app(sink: MemorySink, counters: Counters) -> FastAPI:
    app = FastAPI()
    router = ingest_router(
        sink, "ROK", identify_by_header, counters, max_body_bytes=LIMIT, read_timeout_s=0.2
    )
    app.include_router(router)
    return app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://node") as client:
        yield client


def headers(source: str = "rok-c2", **more: str) -> dict[str, str]:
    return {**JSON, "x-source": source, **more}


async def test_an_accepted_batch_reaches_the_sink_under_the_identified_source(
    client: httpx.AsyncClient, sink: MemorySink, counters: Counters
) -> None:
    response = await client.post(INGEST_PATH, content=body(), headers=headers())
    assert response.status_code == 200
    assert response.json() == {"accepted": 1, "duplicates": 0, "refused": []}
    assert [(source, len(records)) for source, records in sink.batches] == [("rok-c2", 1)]
    assert sink.batches[0][1][0].party == "ROK"
    assert counters.as_dict() == {}


async def test_a_bad_batch_is_answered_400_with_its_refusals_and_counted(
    client: httpx.AsyncClient, sink: MemorySink, counters: Counters
) -> None:
    bad = body(record(), record(dataMode="LIVE"))
    response = await client.post(INGEST_PATH, content=bad, headers=headers())
    assert response.status_code == 400
    assert response.json()["refused"] == [
        {
            "index": 1,
            "field": "[1].dataMode",
            "reason": "data_mode",
            "message": response.json()["refused"][0]["message"],
        }
    ]
    assert sink.batches == []
    assert counters.as_dict() == {"ingest_rejected.data_mode": 1}


@pytest.mark.parametrize(
    ("source", "status", "reason"),
    [(None, 401, "unauthenticated"), ("revoked-one", 403, "revoked")],
)
async def test_an_unidentified_sender_is_refused_before_its_body(
    client: httpx.AsyncClient,
    sink: MemorySink,
    counters: Counters,
    source: str | None,
    status: int,
    reason: str,
) -> None:
    sent = JSON if source is None else headers(source)
    response = await client.post(INGEST_PATH, content=body(), headers=sent)
    assert response.status_code == status
    assert response.json()["refused"][0]["reason"] == reason
    assert response.headers["connection"] == "close"
    assert sink.batches == []
    assert counters.as_dict() == {f"ingest_rejected.{reason}": 1}


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin-1", ""],
)
async def test_only_json_is_taken(
    client: httpx.AsyncClient, counters: Counters, content_type: str
) -> None:
    response = await client.post(
        INGEST_PATH, content=body(), headers={"x-source": "s", "content-type": content_type}
    )
    assert response.status_code == 415
    assert response.json()["refused"][0]["reason"] == "content_type"
    assert counters.get("ingest_rejected.content_type") == 1


async def test_json_with_a_utf8_charset_is_taken(client: httpx.AsyncClient) -> None:
    sent = headers(**{"content-type": "Application/JSON; charset=UTF-8"})
    assert (await client.post(INGEST_PATH, content=body(), headers=sent)).status_code == 200


async def test_a_declared_length_over_the_limit_is_refused_unread(
    client: httpx.AsyncClient, counters: Counters
) -> None:
    response = await client.post(INGEST_PATH, content=b" " * (LIMIT + 1), headers=headers())
    assert response.status_code == 413
    assert response.json()["refused"][0]["reason"] == "too_large"
    assert counters.get("ingest_rejected.too_large") == 1


async def test_an_undeclared_body_is_cut_at_the_limit(client: httpx.AsyncClient) -> None:
    async def endless() -> AsyncIterator[bytes]:
        while True:
            yield b" " * 1024

    response = await client.post(INGEST_PATH, content=endless(), headers=headers())
    assert response.status_code == 413
    assert response.headers["connection"] == "close"


async def test_a_slow_drip_is_refused_when_the_time_is_up(
    client: httpx.AsyncClient, counters: Counters
) -> None:
    never = asyncio.Event()

    async def drip() -> AsyncIterator[bytes]:
        yield b"[{"
        await never.wait()  # the rest never comes
        yield b"}]"

    response = await client.post(INGEST_PATH, content=drip(), headers=headers())
    assert response.status_code == 408
    assert response.json()["refused"][0]["reason"] == "slow"
    assert counters.get("ingest_rejected.slow") == 1


async def test_an_empty_batch_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(INGEST_PATH, content=b"[]", headers=headers())
    assert response.status_code == 400
    assert response.json()["refused"][0]["reason"] == "shape"


async def test_the_route_is_documented_with_its_request_schema(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    operation = app.openapi()["paths"][INGEST_PATH]["post"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    record_schema = schema["items"]
    assert schema["type"] == "array"
    assert {"classificationMarking", "dataMode", "ts", "trackId", "vectors"} <= set(
        record_schema["required"]
    )
    vector_schema = record_schema["properties"]["vectors"]["items"]
    assert vector_schema["properties"]["cov"]["anyOf"][0]["maxItems"] == 45
    assert "$ref" not in str(schema)
    assert {"200", "400", "401", "403", "408", "413", "415", "429"} <= set(operation["responses"])
    assert (await client.get("/docs")).status_code == 200
