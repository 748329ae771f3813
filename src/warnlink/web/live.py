"""The demo, served: every party's display live while the scenario plays, and after.

`serve_demo` starts one display server per party, plays the scenario paced to
`speed` scenario seconds per wall-clock second (`demo.run_demo`), attaches each
party's node to its own display when the nodes start, and keeps serving the final
picture after the scenario until `stop` is set (Ctrl-C or SIGTERM in the CLI).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ssl
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Final, Protocol

from warnlink.demo import default_federation_path, run_demo
from warnlink.interop.cot_feed import CotFeed, PartySource
from warnlink.interop.party import PartyView
from warnlink.sharing.audit import DecisionRecord
from warnlink.sharing.federation import load_federation
from warnlink.sharing.relay import Relay
from warnlink.web.app import create_app
from warnlink.web.display import AlertSource, Display
from warnlink.web.serve import DisplayServers
from warnlink.web.sockets import SocketLimits

#: Scenario seconds per wall-clock second when served: the default flight (~13 min)
#: plays in about 40 s.
DEFAULT_SPEED: Final = 20.0


class LiveNode(PartyView, Protocol):
    """What the served demo reads of a running node: its party (`PartyView`) and relay."""

    @property
    def relay(self) -> Relay | None:
        """The relay it hosts, if any."""
        ...


def relay_decisions(nodes: Mapping[str, LiveNode]) -> Iterator[DecisionRecord]:
    """Every decision of every relay hosted by these nodes, in each log's order."""
    for node in nodes.values():
        if node.relay is not None:
            yield from node.relay.audit


def _party_of(nodes: Mapping[str, LiveNode], party: str) -> PartySource:
    def source() -> PartyView | None:
        return nodes.get(party)

    return source


async def serve_demo(
    stop: asyncio.Event,
    *,
    federation_path: Path | None = None,
    scenario_path: Path | None = None,
    seed: int = 1,
    speed: float = DEFAULT_SPEED,
    host: str = "127.0.0.1",
    base_port: int = 8000,
    ssl_context: ssl.SSLContext | None = None,
    alerts: Mapping[str, AlertSource] | None = None,
    cot_base_port: int | None = None,
    on_ready: Callable[[dict[str, str]], None] | None = None,
    on_summary: Callable[[dict[str, Any]], None] | None = None,
    sockets: SocketLimits | None = None,
) -> dict[str, Any] | None:
    """Play the demo with every party's display served; serve on until `stop` is set.

    Args:
        stop: set it to stop (the scenario too, if it is still playing).
        federation_path, scenario_path, seed: as for `run_demo`.
        speed: scenario seconds per wall-clock second.
        host, base_port, ssl_context: as for `DisplayServers` (ports in party order).
        alerts: party -> its alert source (by default the alerts in force at its node).
        cot_base_port: also stream every party's picture to TAK clients as CoT over TCP
            (`interop.cot_feed`), on this port and the next ones (0: ephemeral ports);
            None streams nothing.
        on_ready: called with the URLs once the servers listen: ``<party>`` -> display,
            ``<party> cot`` -> CoT feed.
        on_summary: called with the demo's summary when the scenario ends.
        sockets: the bounds on each display's WebSocket clients (`web.sockets`).

    Returns:
        The summary, or None if stopped before the scenario ended.
    """
    federation = load_federation(federation_path or default_federation_path())
    nodes: dict[str, LiveNode] = {}
    displays = [
        Display(
            party,
            name,
            federation.peers(party),
            decisions=lambda: relay_decisions(nodes),
            alerts=(alerts or {}).get(party),
        )
        for party, name in federation.parties.items()
    ]

    def observe(second: int, running: Mapping[str, LiveNode]) -> None:
        if not nodes:
            nodes.update(running)
            for display in displays:
                display.attach(running[display.party])

    servers = DisplayServers(
        displays,
        host=host,
        base_port=base_port,
        ssl_context=ssl_context,
        app_for=functools.partial(create_app, sockets=sockets),
    )
    serving = asyncio.create_task(servers.run(stop))
    urls = dict(servers.urls)
    feeds: list[asyncio.Task[None]] = []
    if cot_base_port is not None:
        for i, party in enumerate(federation.parties):
            feed = CotFeed(party)
            port = await feed.start(host, cot_base_port + i if cot_base_port else 0)
            urls[f"{party} cot"] = f"tcp://{host}:{port}"
            feeds.append(asyncio.create_task(feed.run(_party_of(nodes, party), stop)))
    if on_ready is not None:
        on_ready(urls)
    demo = asyncio.create_task(
        run_demo(federation_path, scenario_path, seed=seed, observe=observe, speed=speed)
    )
    stopped = asyncio.create_task(stop.wait())
    summary: dict[str, Any] | None = None
    try:
        await asyncio.wait([demo, stopped], return_when=asyncio.FIRST_COMPLETED)
        if demo.done():
            summary = demo.result()
            if on_summary is not None:
                on_summary(summary)
            await stopped
    finally:
        stop.set()
        demo.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await demo
        await serving
        await asyncio.gather(*feeds)
        stopped.cancel()
    return summary
