"""The node's input port: national systems' track states in, one path to the node.

Every input reaches a node as `model.record.SourceRecord`s through one `RecordSink`
(`intake.Intake`): the built-in simulation (`simulation`), UDL MissileTrack over HTTPS
and NATS (`udl`), Cursor-on-Target from TAK feeds (`cot`). Each adapter turns its wire
form into records and typed refusals (`errors.IngestError`); the intake checks what is
common to every source (its party, freshness, repeats), makes an accepted batch durable
before it answers, and hands the records to the node in order.

A source is registered with its party (`registry`: ``warnlink sources add``, one client
certificate of the party's CA each, `admin`), authenticated by that certificate on
every port, and its health followed (`health`). On NATS each source has an account of
its own on its party's server (`nats_accounts`) and the node answers its requests
(`nats_ingest`).
"""

from warnlink.sources.base import REASONS, IngestAnswer, RecordSink, Refusal
from warnlink.sources.health import HealthTracker, SourceHealth, SourceState
from warnlink.sources.registry import SourceEntry, SourceRegistry
from warnlink.sources.udl import ingest_udl, parse_batch

__all__ = [
    "REASONS",
    "HealthTracker",
    "IngestAnswer",
    "RecordSink",
    "Refusal",
    "SourceEntry",
    "SourceHealth",
    "SourceRegistry",
    "SourceState",
    "ingest_udl",
    "parse_batch",
]
