"""The display's web app: the page, its JSON API, the live WebSocket and /metrics.

A thin face over `Display.state` (`view.build_state`): one app serves one party's
display, so per-party truth is the app's only source being that party's node.

Routes: ``/`` the page; ``/static/...`` its files (the map library and Natural Earth
outlines included: no tile server, nothing fetched from elsewhere); ``GET /api/state``;
``GET /api/events/{event_id}``; ``GET /api/events/{event_id}/export?format=`` (a format
of `interop.formats.EXPORTS`); ``GET /api/areas`` (GeoJSON); ``/ws`` (the state,
pushed when it changes, at most `web.sockets.PUSH_HZ` times a second, to a bounded
number of clients: `web.sockets`); ``/metrics`` (Prometheus); ``/docs`` (OpenAPI).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import msgspec
from fastapi import FastAPI, HTTPException, WebSocket
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from warnlink.interop.formats import EXPORTS, FORMATS
from warnlink.interop.projection import project_party
from warnlink.web.display import Display
from warnlink.web.metrics import DisplayCollector, SocketCollector, SourceHealthCollector
from warnlink.web.sockets import SocketLimits, StateFeed
from warnlink.web.view import EventView, StateView

STATIC: Final = Path(__file__).parent / "static"
_JSON: Final = "application/json"


def _json(value: object) -> Response:
    return Response(msgspec.json.encode(value), media_type=_JSON)


def create_app(display: Display, *, sockets: SocketLimits | None = None) -> FastAPI:
    """The web app of one party's display; `sockets` bounds its WebSocket clients."""
    app = FastAPI(
        title=f"warnlink display: {display.party}",
        description=f"What {display.party_name} may see: its node's picture, its links, "
        "the relay decisions that concern it, its alerts.",
    )
    registry = CollectorRegistry(auto_describe=True)
    feed = StateFeed(display.state, sockets)
    registry.register(DisplayCollector(display))
    registry.register(SocketCollector(feed))
    if display.sources is not None:
        registry.register(SourceHealthCollector(display.sources))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    # Every route is `async def`: it runs on the event loop, between the node's own
    # steps, never in a worker thread beside them (the picture is not thread-safe).
    @app.get("/api/state", response_model=StateView)
    async def state() -> Response:
        """The party's display state: events, links, relay decisions, alerts."""
        return _json(display.state())

    @app.get("/api/events/{event_id}", response_model=EventView)
    async def event(event_id: str) -> Response:
        """One event of the party's picture."""
        for view in display.state().events:
            if view.event_id == event_id:
                return _json(view)
        raise HTTPException(
            status_code=404, detail=f"no event {event_id} in {display.party}'s picture"
        )

    @app.get("/api/events/{event_id}/export")
    async def export(event_id: str, format: str = "geojson") -> Response:
        """One event in an export format (`interop.formats`: GeoJSON, KML): launch point,
        tracks, ellipses, ground track, data mode."""
        fmt = FORMATS.get(format)
        if fmt is None or not fmt.per_event:
            raise HTTPException(
                status_code=422, detail=f"format must be one of {', '.join(EXPORTS)}"
            )
        node = display.node
        projection = None if node is None else project_party(node, {event_id})
        if projection is None or not projection.events:
            raise HTTPException(
                status_code=404, detail=f"no event {event_id} in {display.party}'s picture"
            )
        return Response(fmt.export(projection), media_type=fmt.media_type)

    @app.get("/api/areas")
    def areas() -> dict[str, Any]:
        """The party's areas (territory, 12 nm, EEZ) as a GeoJSON FeatureCollection."""
        return dict(display.areas)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @app.websocket("/ws")
    async def live(websocket: WebSocket) -> None:
        """The state, pushed whenever it changed (`web.sockets.StateFeed`)."""
        await feed.serve(websocket)

    return app
