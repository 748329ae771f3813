"""A reference model of releasability, written from the rules, not from the code.

Nothing here imports warnlink's release code (`sharing/release.py`, `model/label.py`,
`sharing/inbound.py`, `sharing/federation.py`): plain sets and dicts only, so that a
mistake in the implementation is not copied into its judge.

The rules, as the architecture states them:

- A label names the parties the whole message is released to (``rel_to``) and, per
  payload field, the parties that field is released to (``field_rel_to``). Anything
  not named is not released (deny by default).
- A recipient not in ``rel_to`` gets nothing (refused, ``not_released``).
- The fields withheld from a recipient are those named in ``field_rel_to`` whose
  parties do not include it. None withheld: the message as it is (forwarded).
- A withheld field the payload cannot lose (not one of its optional fields, or no
  field of it at all) makes the label a bad one: refused (``bad_label``), naming the
  fields at fault.
- Otherwise the recipient gets a product without the withheld fields (redacted,
  ``fields_withheld``) under the originator's own label (it is signed: the label
  stays, and tells the recipient what was withheld from it).
- At the receiving edge a message is accepted only if it is released to the receiver
  and carries no field withheld from the receiver: neither its value nor its salt
  (the key to its commitment, which a signed original holds for every optional
  field, None or not).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

#: Payload kind -> (fields it always carries, fields an originator may withhold).
#: Written out by hand; a test checks it against the payload classes so that a new
#: field is a conscious change here too.
PAYLOAD_FIELDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "launch_report": (
        frozenset(
            {"trk_id", "launch_time", "launch_time_sigma_s", "launch_lat", "launch_lon"}
            | {"launch_aou"}
        ),
        frozenset({"range_class", "sensor"}),
    ),
    "track_report": (
        frozenset({"trk_id", "epoch", "pos", "vel", "phase", "trk_qual"}),
        frozenset({"cov", "sensor"}),
    ),
    "impact_prediction": (
        frozenset(
            {"trk_id", "epoch", "impact_time", "impact_time_sigma_s", "impact_lat"}
            | {"impact_lon", "impact_aou"}
        ),
        frozenset(),
    ),
    "event_status": (frozenset({"trk_id", "epoch", "status"}), frozenset()),
    "heartbeat": (frozenset({"trk_id", "interval_s"}), frozenset()),
    "resend_request": (
        frozenset({"trk_id", "originator", "since", "until", "reason"}),
        frozenset(),
    ),
    "resend": (
        frozenset({"trk_id", "request", "to", "messages", "part", "last", "retained_since"}),
        frozenset(),
    ),
    "tree_head": (frozenset({"trk_id", "head", "log", "since", "consistency"}), frozenset()),
    "head_cosignature": (frozenset({"trk_id", "record"}), frozenset()),
}

RELEASABLE_KINDS = ("launch_report", "track_report", "impact_prediction", "event_status")


@dataclass(frozen=True)
class Label:
    classification: str
    rel_to: frozenset[str]
    field_rel_to: Mapping[str, frozenset[str]]


@dataclass(frozen=True)
class Message:
    """What the model needs of a message: its label, kind and the fields it carries."""

    label: Label
    kind: str
    present: frozenset[str]  # optional fields carried (not None)
    salted: frozenset[str] = frozenset()  # optional fields whose salt it holds

    def carries(self, field: str) -> bool:
        required, _ = PAYLOAD_FIELDS[self.kind]
        return field in required or field in self.present or field in self.salted


@dataclass(frozen=True)
class Verdict:
    """What a recipient may receive of one message.

    Attributes:
        outcome: ``forwarded`` (all of it), ``redacted`` (without `withheld`) or
            ``refused`` (nothing).
        reason: ``released``, ``fields_withheld``, ``not_released`` or ``bad_label``.
        withheld: the fields removed (redacted) or at fault (bad_label), sorted.
        received: the optional fields the recipient ends up with.
        label: the label of what it receives (None when refused).
    """

    outcome: str
    reason: str
    withheld: tuple[str, ...]
    received: frozenset[str]
    label: Label | None


def hidden_from(label: Label, recipient: str) -> set[str]:
    """The fields the label does not release to `recipient` (all named ones if the
    message itself is not released to it)."""
    if recipient not in label.rel_to:
        return set(label.field_rel_to)
    return {field for field, parties in label.field_rel_to.items() if recipient not in parties}


def verdict(message: Message, recipient: str) -> Verdict:
    """What `recipient` may receive of `message`."""
    label = message.label
    if recipient not in label.rel_to:
        return Verdict("refused", "not_released", (), frozenset(), None)
    hidden = hidden_from(label, recipient)
    if not hidden:
        return Verdict("forwarded", "released", (), message.present, label)
    _, optional = PAYLOAD_FIELDS[message.kind]
    at_fault = hidden - optional
    if at_fault:
        return Verdict("refused", "bad_label", tuple(sorted(at_fault)), frozenset(), None)
    return Verdict(
        "redacted", "fields_withheld", tuple(sorted(hidden)), message.present - hidden, label
    )


def edge_refusal(message: Message, receiver: str) -> str | None:
    """Why the receiving edge must refuse `message` (a rule name), or None to accept."""
    label = message.label
    if receiver not in label.rel_to:
        return "not_released"
    if any(message.carries(field) for field in hidden_from(label, receiver)):
        return "withheld_field"
    return None


@dataclass(frozen=True)
class Rule:
    """One standing rule: an originator releases `kinds` to `to`, withholding per recipient."""

    originator: str
    kinds: frozenset[str]
    to: frozenset[str]
    withhold: Mapping[str, frozenset[str]]


def standing_label(rules: Iterable[Rule], originator: str, kind: str, classification: str) -> Label:
    """The label an originator's standing rules give a message of `kind`.

    Computed recipient by recipient: a party receives the message if some matching
    rule releases it to them, and a field if no matching rule withholds it from them.
    Only fields the kind may lose are ever named.
    """
    matching = [r for r in rules if r.originator == originator and kind in r.kinds]
    recipients = frozenset(p for r in matching for p in r.to)
    _, optional = PAYLOAD_FIELDS[kind]
    field_rel_to: dict[str, frozenset[str]] = {}
    for field in optional:
        allowed = frozenset(
            p for p in recipients if not any(field in r.withhold.get(p, ()) for r in matching)
        )
        if allowed != recipients:
            field_rel_to[field] = allowed
    return Label(classification, recipients, field_rel_to)
