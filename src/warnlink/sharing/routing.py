"""Routing: the one way each message goes from its originator to each recipient.

Pure functions of the federation and the message (its originator, kind and label),
used alike by the gateway (where to send) and the relay (whom to pass on to), so the
two always agree and every (message, recipient) has one route: no duplicates by
design.

The rules, in order:

1. A direct link, when the originator and the recipient share one, also when the
   recipient hosts a relay: a relay's host gets its own traffic directly.
2. Otherwise one relay, hosted by a party linked to both, that may carry the
   message: its host is released the message (it is on the label's REL TO), or the
   originator's rule for this kind names it in ``transit`` (trusted to pass on what
   its host may not read). Among several, a released host before a transit one,
   then alphabetically.
3. Nothing else: a relay delivers only to its own link peers and never to another
   relay, so a route holds at most one relay and no chain or cycle of relays can
   form. A recipient beyond that has no route; `undeliverable` names the release
   rules that would need one, and the federation file is refused for them.

Heartbeats and the audit's tree heads are link-local: they go to link peers only,
never through a relay. A
`ResendRequest` carries no released data (an originator and a time range), so any
relay between the two may carry it; so may a `Resend`, whose messages are routed one
by one: `Gateway.answer` groups them by their own routes, and a relay refuses one not
routed through it (``not_routed``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from warnlink.model import PAYLOAD_TYPES, Envelope, SecurityLabel
from warnlink.model.payloads import LINK_LOCAL

if TYPE_CHECKING:
    from warnlink.sharing.federation import Federation

#: Kinds that go to link peers only (heartbeats, a relay's tree heads and their
#: cosignatures: `model.payloads.LINK_LOCAL`).
LINK_LOCAL_KINDS: Final = frozenset(k for k, t in PAYLOAD_TYPES.items() if t in LINK_LOCAL)
#: Kinds any relay between the two ends may carry: a request carries no released
#: data; an answer's messages are each checked by the relay against their own routes.
CONTROL_KINDS: Final = frozenset({"resend_request", "resend"})


@dataclass(frozen=True, slots=True)
class Route:
    """How one message reaches one recipient: directly (`via` None) or through one relay."""

    recipient: str
    via: str | None


@dataclass(frozen=True, slots=True)
class Undeliverable:
    """A release an originator's rules make that no route can carry.

    Attributes:
        rule: index of the first ``[[release]]`` rule making it.
        originator, kind, recipient: what cannot be delivered.
        relays: relays linked to both ends (none carry it: not released, not trusted).
    """

    rule: int
    originator: str
    kind: str
    recipient: str
    relays: tuple[str, ...]

    def message(self) -> str:
        """One line saying why."""
        why = (
            f"relay {', '.join(self.relays)} is neither released the data nor named in "
            "the rule's transit"
            if self.relays
            else "no link, and no relay linked to both (relays do not pass on to relays)"
        )
        return (
            f"{self.originator} releases {self.kind} to {self.recipient}, "
            f"which it can never reach: {why}"
        )


def relays_between(federation: Federation, a: str, b: str) -> tuple[str, ...]:
    """The relays that could carry from `a` to `b`: hosted by a party linked to both."""
    return tuple(
        sorted(
            r
            for r in federation.relays
            if r not in (a, b) and federation.adjacent(a, r) and federation.adjacent(r, b)
        )
    )


def route(
    federation: Federation, originator: str, kind: str, label: SecurityLabel, recipient: str
) -> Route | None:
    """The route of an `originator`'s message of `kind` with `label` to `recipient`;
    None when there is none (see the module docstring for the rules)."""
    if recipient == originator:
        return None
    if federation.adjacent(originator, recipient):
        return Route(recipient, None)
    if kind in LINK_LOCAL_KINDS:
        return None
    candidates = relays_between(federation, originator, recipient)
    if kind not in CONTROL_KINDS:
        trusted = federation.transit_for(originator, kind)
        released = [r for r in candidates if label.releases_to(r)]
        candidates = (*released, *(r for r in candidates if r in trusted and r not in released))
    return Route(recipient, candidates[0]) if candidates else None


def routes(federation: Federation, envelope: Envelope) -> Iterator[Route | str]:
    """Each recipient on the envelope's label (its originator excepted), in order: its
    route, or the recipient alone when it has none."""
    for recipient in envelope.label.rel_to:
        if recipient == envelope.originator:
            continue
        found = route(federation, envelope.originator, envelope.kind, envelope.label, recipient)
        yield recipient if found is None else found


def passes_on(federation: Federation, relay: str, envelope: Envelope) -> tuple[str, ...]:
    """Whom the relay at `relay` passes `envelope` on to: the recipients whose route
    from its originator goes through that relay (sorted)."""
    return tuple(
        sorted(
            r.recipient
            for r in routes(federation, envelope)
            if isinstance(r, Route) and r.via == relay
        )
    )


class RelayRoutes:
    """`passes_on` for the relay at `relay`, remembered per (originator, kind, REL TO):
    all a message's routes depend on (`route` reads its label's REL TO only).

    A relay asks for every message it is sent; the answers are few, and working one
    out scans the federation's links several times over. At most `size` are kept
    (an originator may put any parties on its labels); past that the memory starts
    again.
    """

    def __init__(self, federation: Federation, relay: str, *, size: int = 1024) -> None:
        self.federation = federation
        self.relay = relay
        self.size = size
        self._known: dict[tuple[str, str, tuple[str, ...]], tuple[str, ...]] = {}

    def __call__(self, envelope: Envelope) -> tuple[str, ...]:
        """`passes_on(federation, relay, envelope)`."""
        key = (envelope.originator, envelope.kind, envelope.label.rel_to)
        known = self._known.get(key)
        if known is None:
            if len(self._known) >= self.size:
                self._known.clear()
            known = self._known[key] = passes_on(self.federation, self.relay, envelope)
        return known


def reachable(federation: Federation, originator: str) -> Iterator[Route]:
    """How `originator` can reach each other party at best (any relay between may carry
    what its host is released): one route per party that can be reached at all."""
    for recipient in sorted(federation.parties):
        if recipient == originator:
            continue
        if federation.adjacent(originator, recipient):
            yield Route(recipient, None)
        elif via := relays_between(federation, originator, recipient):
            yield Route(recipient, via[0])


def undeliverable(federation: Federation) -> Iterator[Undeliverable]:
    """Every (originator, kind, recipient) the standing rules release that no route can
    carry, with the first rule releasing it."""
    for index, rule in enumerate(federation.rules):
        for kind in sorted(rule.kinds):
            label = federation.label_for(rule.originator, kind)
            for recipient in sorted(rule.to):
                if route(federation, rule.originator, kind, label, recipient) is not None:
                    continue
                first = next(
                    i
                    for i, r in enumerate(federation.rules)
                    if r.originator == rule.originator and kind in r.kinds and recipient in r.to
                )
                if first == index:
                    yield Undeliverable(
                        index,
                        rule.originator,
                        kind,
                        recipient,
                        relays_between(federation, rule.originator, recipient),
                    )


def how(federation: Federation, originator: str, kind: str, found: Route) -> str:
    """Why a route is allowed, in words: ``direct``, ``via relay R (released to R)`` or
    ``via relay R (trusted for transit)``."""
    if found.via is None:
        return "direct"
    if federation.label_for(originator, kind).releases_to(found.via):
        return f"via relay {found.via} (released to {found.via})"
    return f"via relay {found.via} (trusted for transit)"


def rule_routes(federation: Federation, originator: str) -> dict[str, dict[str, list[str]]]:
    """recipient -> how (`how`) -> the kinds the originator's standing rules send that
    way: what ``warnlink validate`` shows."""
    shown: dict[str, dict[str, list[str]]] = {}
    for kind in sorted(
        {k for r in federation.rules if r.originator == originator for k in r.kinds}
    ):
        label = federation.label_for(originator, kind)
        for recipient in label.rel_to:
            found = route(federation, originator, kind, label, recipient)
            if found is not None:
                way = how(federation, originator, kind, found)
                shown.setdefault(recipient, {}).setdefault(way, []).append(kind)
    return shown
