"""The node's input port: national systems' track states in, one path to the node.

Every input reaches a node as `model.record.SourceRecord`s through one `RecordSink`
(`intake.Intake`): the built-in simulation (`simulation`), UDL MissileTrack over HTTPS
and NATS (`udl`), Cursor-on-Target from TAK feeds (`cot`). Each adapter turns its wire
form into records and typed refusals (`errors.IngestError`); the intake checks what is
common to every source (its party, freshness, repeats), makes an accepted batch durable
before it answers, and hands the records to the node in order.
"""

from warnlink.sources.base import REASONS, IngestAnswer, RecordSink, Refusal
from warnlink.sources.udl import ingest_udl, parse_batch

__all__ = ["REASONS", "IngestAnswer", "RecordSink", "Refusal", "ingest_udl", "parse_batch"]
