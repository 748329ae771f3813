"""Each national source's health as Prometheus metrics."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from warnlink.sources.base import IngestAnswer, Refusal
from warnlink.sources.health import HealthTracker
from warnlink.sources.registry import SourceEntry
from warnlink.web.metrics import SourceHealthCollector

S = 1_000_000_000
T0 = 1_800_000_000 * S


def _entry(name: str, *, revoked: bool = False) -> SourceEntry:
    return SourceEntry(
        name=name,
        party="ROK",
        serial="1f",
        fingerprint="0" * 64,
        added_ns=T0,
        revoked_ns=T0 if revoked else None,
    )


def test_every_source_is_scraped_with_its_counts_and_state() -> None:
    tracker = HealthTracker()
    tracker.observe("radar", IngestAnswer(accepted=7, duplicates=2), T0 + S)
    tracker.observe("radar", IngestAnswer(refused=(Refusal(1, "ts", "stale", ""),)), T0 + S)
    tracker.refuse("radar", "too_large")
    entries = [_entry("radar"), _entry("ir-sat"), _entry("old", revoked=True)]
    registry = CollectorRegistry()
    registry.register(SourceHealthCollector(lambda: tracker.snapshot(entries, T0 + 30 * S)))
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(generate_latest(registry).decode())
        for s in family.samples
    }
    radar = (("source", "radar"),)
    assert samples[("warnlink_source_records_accepted_total", radar)] == 7
    assert samples[("warnlink_source_records_duplicate_total", radar)] == 2
    assert samples[("warnlink_source_refused_total", (("reason", "stale"), *radar))] == 1
    assert samples[("warnlink_source_refused_total", (("reason", "too_large"), *radar))] == 1
    assert samples[("warnlink_source_records_last_minute", radar)] == 9
    assert samples[("warnlink_source_last_record_timestamp_seconds", radar)] == (T0 + S) / 1e9
    assert ("warnlink_source_last_record_timestamp_seconds", (("source", "ir-sat"),)) not in samples

    def state(source: str) -> str:
        (current,) = [
            dict(labels)["state"]
            for (name, labels), value in samples.items()
            if name == "warnlink_source_state" and dict(labels)["source"] == source and value
        ]
        return current

    # ir-sat never sent, 30 s after it was added with a 5 s interval.
    assert (state("radar"), state("ir-sat"), state("old")) == ("silent", "silent", "revoked")
