"""Prometheus metrics of one party's node (GET /metrics).

Read at scrape time from the node's counters and picture: messages received, sent and
rejected per kind or reason, the relay's decisions per outcome (at the relay's host),
the events held, and each link's state; and each national source's health
(`SourceHealthCollector`); the display's WebSocket clients (`SocketCollector`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from warnlink.sources.health import SourceHealth, SourceState
from warnlink.web.display import Display
from warnlink.web.sockets import StateFeed
from warnlink.web.view import link_view

#: Counter key prefix -> (metric name, help, label name).
_COUNTERS = {
    "received": ("warnlink_messages_received", "Messages accepted, by kind", "kind"),
    "sent": ("warnlink_messages_sent", "Messages sent, by kind", "kind"),
    "rejected": ("warnlink_messages_rejected", "Messages refused at the edge, by reason", "reason"),
    "relay": ("warnlink_relay_decisions", "The relay's decisions, by outcome", "outcome"),
    "ingest": (
        "warnlink_ingest_records",
        "National sources' records at the node's input port, by outcome "
        "(accepted, duplicates, applied, apply_failed)",
        "outcome",
    ),
    "ingest_rejected": (
        "warnlink_ingest_rejected",
        "National sources' input refused at the node's input port, by reason",
        "reason",
    ),
}


class DisplayCollector(Collector):
    """Collects one display's node metrics when scraped."""

    def __init__(self, display: Display) -> None:
        self.display = display

    def collect(self) -> Iterator[Metric]:
        node = self.display.node
        counters = {} if node is None else node.counters.as_dict()
        for prefix, (name, doc, label) in _COUNTERS.items():
            family = CounterMetricFamily(name, doc, labels=[label])
            for key, value in counters.items():
                head, _, rest = key.partition(".")
                if head == prefix and rest and "." not in rest:
                    family.add_metric([rest], value)
            yield family
        events = GaugeMetricFamily("warnlink_events", "Events (missiles) in the picture")
        events.add_metric([], 0 if node is None else len(node.picture.events))
        yield events
        links = GaugeMetricFamily(
            "warnlink_link_state",
            "1 for each link's current state (up, late, down)",
            labels=["peer", "state"],
        )
        for peer in self.display.peers:
            last = None if node is None else node.picture.heartbeats.get(peer)
            now = 0 if node is None else node.clock.now_ns()
            current = link_view(peer, last, now).state
            for state in ("up", "late", "down"):
                links.add_metric([peer, state], 1.0 if state == current else 0.0)
        yield links


class SourceHealthCollector(Collector):
    """Collects each national source's health (`sources.health.HealthTracker.snapshot`).

    Args:
        health: gives the sources' health now, at every scrape.
    """

    def __init__(self, health: Callable[[], Sequence[SourceHealth]]) -> None:
        self.health = health

    def collect(self) -> Iterator[Metric]:
        sources = self.health()
        label = ["source"]
        accepted = CounterMetricFamily(
            "warnlink_source_records_accepted", "Records taken from each source", labels=label
        )
        duplicates = CounterMetricFamily(
            "warnlink_source_records_duplicate",
            "Records a source sent again, acknowledged and not applied twice",
            labels=label,
        )
        refused = CounterMetricFamily(
            "warnlink_source_refused",
            "Records and requests refused, by source and reason",
            labels=["source", "reason"],
        )
        recent = GaugeMetricFamily(
            "warnlink_source_records_last_minute",
            "Records taken from each source over the last minute",
            labels=label,
        )
        last = GaugeMetricFamily(
            "warnlink_source_last_record_timestamp_seconds",
            "When each source's last record was taken (Unix time; absent: none yet)",
            labels=label,
        )
        state = GaugeMetricFamily(
            "warnlink_source_state",
            "1 for each source's current state (live, silent, revoked)",
            labels=["source", "state"],
        )
        for source in sources:
            accepted.add_metric([source.name], source.accepted)
            duplicates.add_metric([source.name], source.duplicates)
            for reason, count in source.refused:
                refused.add_metric([source.name, reason], count)
            recent.add_metric([source.name], source.records_last_minute)
            if source.last_record_ns is not None:
                last.add_metric([source.name], source.last_record_ns / 1e9)
            for each in SourceState:
                state.add_metric([source.name, each.value], 1.0 if each is source.state else 0.0)
        yield from (accepted, duplicates, refused, recent, last, state)


class SocketCollector(Collector):
    """Collects a display's WebSocket clients: connected now, and refused or dropped."""

    def __init__(self, feed: StateFeed) -> None:
        self.feed = feed

    def collect(self) -> Iterator[Metric]:
        clients = GaugeMetricFamily("warnlink_websocket_clients", "WebSocket clients connected")
        clients.add_metric([], len(self.feed.clients))
        yield clients
        refused = CounterMetricFamily(
            "warnlink_websocket_refused",
            "WebSocket clients refused or dropped, by reason (capacity, too_big, rate, slow)",
            labels=["reason"],
        )
        for key, value in self.feed.counters.as_dict().items():
            head, _, reason = key.rpartition(".")
            if head == "ws.refused":
                refused.add_metric([reason], value)
        yield refused
