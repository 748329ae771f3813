"""The node's UDL ingest route: ``POST /udl/missiletrack/createBulk`` (`sources.udl`).

UDL's bulk path, so that the official client (``udl-sdk``) pointed at a node with its
source's client certificate works unchanged. In order, a request is refused:

1. when `identify` refuses its sender (``unauthenticated``, ``unregistered``,
   ``revoked``: 401, 403), before any of its body is read;
2. when its Content-Type is not ``application/json`` (``content_type``: 415);
3. when its Content-Length, or the body as it arrives, passes `MAX_BODY_BYTES`
   (``too_large``: 413);
4. when the body has not arrived within `READ_TIMEOUT_S` (``slow``: 408): a slow drip
   holds a connection, never the node;
5. by `sources.udl.ingest_udl` (400 with a refusal per bad record, 413 ``too_many``,
   or the sink's word).

Every refusal is counted (``ingest_rejected.<reason>``). An accepted batch is answered
200 with the sink's `IngestAnswer` as JSON (UDL itself answers an empty 200; udl-sdk
reads no body from createBulk, so the JSON is for curl and other clients). A request
refused before its body was read is answered with ``Connection: close``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.requests import ClientDisconnect

from warnlink.counters import Counters
from warnlink.errors import IngestError
from warnlink.sources.base import REASONS, IngestAnswer, RecordSink, Refusal
from warnlink.sources.udl import MAX_BODY_BYTES, count_refusals, ingest_udl, status_for
from warnlink.sources.udl_schema import ingest_schema

INGEST_PATH: Final = "/udl/missiletrack/createBulk"
READ_TIMEOUT_S: Final = 10.0
"""Longest a request body may take to arrive, s."""
JSON_MEDIA_TYPE: Final = "application/json"

#: Names the registered source that sent a request, or raises `IngestError`
#: (``unauthenticated``, ``unregistered``, ``revoked``).
Identify = Callable[[Request], str]


def ingest_router(
    sink: RecordSink,
    party: str,
    identify: Identify,
    counters: Counters,
    *,
    max_body_bytes: int = MAX_BODY_BYTES,
    read_timeout_s: float = READ_TIMEOUT_S,
) -> APIRouter:
    """The ingest route of `party`'s node, giving what it takes to `sink`.

    Args:
        sink: the node's intake.
        party: the node's party (every record's party).
        identify: names the source of a request (from its client certificate).
        counters: where refusals are counted.
        max_body_bytes: the largest body taken (at most `MAX_BODY_BYTES`).
        read_timeout_s: how long a body may take to arrive.
    """
    router = APIRouter(tags=["ingest"])
    limit = min(max_body_bytes, MAX_BODY_BYTES)

    @router.post(
        INGEST_PATH,
        summary="Take a batch of UDL MissileTrack records",
        response_class=Response,
        responses=_RESPONSES,
        openapi_extra={"requestBody": _REQUEST_BODY},
    )
    async def create_bulk(request: Request) -> Response:
        """A JSON array of MissileTrack records (UDL's names and units), taken whole or
        refused whole with a typed refusal per bad record (``warnlink schema ingest``)."""
        try:
            source = identify(request)
            _check_content_type(request.headers.get("content-type"))
            body = await _read_body(request, limit, read_timeout_s)
        except IngestError as exc:
            answer = IngestAnswer(refused=(Refusal.of(exc),))
            count_refusals(counters, answer.refused)
            return _respond(status_for(answer.refused), answer.as_json(), close=True)
        except ClientDisconnect:
            return Response(status_code=400)  # nobody is left to answer
        status, answer_json = await ingest_udl(sink, source, party, body, counters=counters)
        return _respond(status, answer_json)

    return router


def _check_content_type(value: str | None) -> None:
    media, *parameters = (value or "").split(";")
    named = dict(p.strip().lower().split("=", 1) for p in parameters if "=" in p)
    charset = named.get("charset", "utf-8").strip('"')
    if media.strip().lower() != JSON_MEDIA_TYPE or charset not in ("utf-8", "utf8"):
        raise IngestError(
            f"Content-Type {value!r}: send {JSON_MEDIA_TYPE} (UTF-8)", reason="content_type"
        )


async def _read_body(request: Request, limit: int, timeout_s: float) -> bytes:
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise IngestError(f"Content-Length {length}; the limit is {limit}", reason="too_large")
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout_s):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise IngestError(f"more than {limit} bytes", reason="too_large")
                chunks.append(chunk)
    except TimeoutError:
        message = f"the body did not arrive within {timeout_s:g} s ({size} bytes came)"
        raise IngestError(message, reason="slow") from None
    return b"".join(chunks)


def _respond(status: int, answer: dict[str, object], *, close: bool = False) -> Response:
    headers = {"Connection": "close"} if close else None
    return Response(json.dumps(answer), status, headers, media_type=JSON_MEDIA_TYPE)


def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON Schema with its ``$defs`` written in place (OpenAPI resolves ``$ref`` elsewhere)."""
    defs = schema.get("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                rest = {k: v for k, v in node.items() if k != "$ref"}
                return resolve({**defs[ref.removeprefix("#/$defs/")], **rest})
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    body = {k: v for k, v in schema.items() if k not in ("$defs", "$schema")}
    return dict(resolve(body))


_REFUSAL_SCHEMA: Final = {
    "type": "object",
    "properties": {
        "index": {"type": ["integer", "null"], "description": "the record, from 0; null: all"},
        "field": {"type": "string", "description": "UDL field path, e.g. [3].vectors[0].pos"},
        "reason": {"type": "string", "enum": sorted(REASONS)},
        "message": {"type": "string"},
    },
    "required": ["index", "field", "reason", "message"],
}
_ANSWER_SCHEMA: Final = {
    "type": "object",
    "properties": {
        "accepted": {"type": "integer", "description": "records taken (durable)"},
        "duplicates": {"type": "integer", "description": "records taken before"},
        "refused": {"type": "array", "items": _REFUSAL_SCHEMA},
    },
    "required": ["accepted", "duplicates", "refused"],
}
_REQUEST_BODY: Final = {
    "required": True,
    "content": {JSON_MEDIA_TYPE: {"schema": _inline(ingest_schema())}},
}
_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    status: {"description": text, "content": {JSON_MEDIA_TYPE: {"schema": _ANSWER_SCHEMA}}}
    for status, text in (
        (200, "taken whole: durable before this answer; repeats acknowledged, not applied"),
        (400, "refused whole: a refusal per bad record (index, field, reason)"),
        (401, "no client certificate of this party's CA"),
        (403, "the certificate names no registered source, or a revoked one"),
        (408, "the body did not arrive in time"),
        (413, "the body or the batch is too large"),
        (415, "the body is not application/json"),
        (429, "the source sent more than its share; try again later"),
    )
}
