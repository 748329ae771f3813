"""The federation: parties, bilateral links, relays and standing release rules.

Read from TOML (see ``scenarios/trilateral.toml``)::

    [federation]
    name = "trilateral"
    classification = "UNCLASSIFIED"
    freshness_window_s = 300         # optional: replay window, seconds either side of
                                     # now, 1 s to 1 day

    [parties.ROK]
    name = "Republic of Korea"

    [[links]]
    id = "ROK-USA"
    parties = ["ROK", "USA"]

    [[relays]]
    party = "USA"

    [[release]]                      # ROK's standing rule: deny by default
    originator = "ROK"
    kinds = ["launch_report", "track_report"]
    to = ["USA", "JPN"]
    withhold = { JPN = ["sensor"] }  # fields withheld per recipient
    transit = []                     # relays trusted to pass on what their host may not see

How each message travels is `sharing.routing`'s: a direct link where there is one,
otherwise one relay linked to both ends whose host is released the message, or which
the rule names in ``transit``. A rule releasing to a party no route can reach is
refused, as are numbers out of their bounds. A message kind an originator names in
no rule goes to nobody. Heartbeats are link-local (each gateway tells its link peers
it is alive) and are not subject to release rules. Every error names the file, the
key and, where it can be found, the line.
"""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Final

import msgspec

from warnlink.errors import ConfigError
from warnlink.model import PAYLOAD_TYPES, SecurityLabel
from warnlink.model.payloads import LINK_LOCAL
from warnlink.sharing import routing
from warnlink.tomlkeys import locate_key

_Code = Annotated[str, msgspec.Meta(pattern=r"^[A-Z][A-Z0-9_]{1,15}$")]
RELEASABLE_KINDS: tuple[str, ...] = tuple(
    k for k, t in PAYLOAD_TYPES.items() if t not in LINK_LOCAL
)


DEFAULT_FRESHNESS_WINDOW_S: Final = 300.0
#: Bounds of the freshness window: under a second, ordinary clock skew and queueing
#: refuse every message; beyond a day, the replay store keeps a day of ids and the
#: window stops meaning fresh (and a huge one overflows the store's integer times).
FRESHNESS_WINDOW_BOUNDS_S: Final = (1.0, 86_400.0)
_Name = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]


class _FederationHeader(msgspec.Struct, forbid_unknown_fields=True):
    name: _Name
    # Goes into every label: the label's own bounds, or no receiver could decode it.
    classification: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] = "UNCLASSIFIED"
    freshness_window_s: float = DEFAULT_FRESHNESS_WINDOW_S


class _PartyDoc(msgspec.Struct, forbid_unknown_fields=True):
    name: _Name


class _LinkDoc(msgspec.Struct, forbid_unknown_fields=True):
    id: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
    parties: Annotated[list[_Code], msgspec.Meta(min_length=2, max_length=2)]


class _RelayDoc(msgspec.Struct, forbid_unknown_fields=True):
    party: _Code


class _RuleDoc(msgspec.Struct, forbid_unknown_fields=True):
    originator: _Code
    kinds: Annotated[list[str], msgspec.Meta(min_length=1)]
    to: Annotated[list[_Code], msgspec.Meta(min_length=1)]
    withhold: dict[str, list[str]] = {}
    transit: list[_Code] = []


class _FederationDoc(msgspec.Struct, forbid_unknown_fields=True):
    federation: _FederationHeader
    parties: dict[_Code, _PartyDoc]
    links: list[_LinkDoc]
    relays: list[_RelayDoc] = []
    release: list[_RuleDoc] = []


@dataclass(frozen=True, slots=True)
class Link:
    """A bilateral link between two parties."""

    id: str
    parties: tuple[str, str]

    def peer_of(self, party: str) -> str:
        a, b = self.parties
        return b if party == a else a


@dataclass(frozen=True, slots=True)
class ReleaseRule:
    """One standing rule of an originator.

    Attributes:
        originator: the party whose data the rule releases.
        kinds: message kinds the rule covers.
        to: recipients.
        withhold: recipient -> payload fields withheld from that recipient.
        transit: relays trusted to pass these kinds on to recipients their host is
            not released them for (`sharing.routing`).
    """

    originator: str
    kinds: frozenset[str]
    to: frozenset[str]
    withhold: Mapping[str, frozenset[str]]
    transit: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Federation:
    """A validated federation; see the module docstring for the file format.

    Attributes:
        freshness_window_s: how far a message's creation time may lie from the
            receiver's now, either way, before it is refused (`sharing.replay`).
    """

    name: str
    classification: str
    parties: Mapping[str, str]
    links: tuple[Link, ...]
    relays: frozenset[str]
    rules: tuple[ReleaseRule, ...]
    freshness_window_s: float = DEFAULT_FRESHNESS_WINDOW_S
    _pairs: frozenset[frozenset[str]] = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Every message's checks ask `adjacent` several times: a set, not a scan.
        object.__setattr__(self, "_pairs", frozenset(frozenset(lk.parties) for lk in self.links))

    def peers(self, party: str) -> tuple[str, ...]:
        """The parties `party` has a bilateral link with, sorted."""
        return tuple(sorted(lk.peer_of(party) for lk in self.links if party in lk.parties))

    def adjacent(self, a: str, b: str) -> bool:
        """Whether `a` and `b` share a link."""
        return frozenset((a, b)) in self._pairs

    def reach(self, relay: str) -> tuple[str, ...]:
        """The parties a relay delivers to: its own party and its link peers."""
        return tuple(sorted({relay, *self.peers(relay)}))

    def routes(self, originator: str) -> Iterator[tuple[str, str | None]]:
        """How an originator's messages can reach each other party at best.

        Yields (recipient, via), sorted by recipient: `via` None for a direct link,
        otherwise the first relay linked to both. A given message's route also
        depends on its label (`routing.route`). Parties with no route are not yielded.
        """
        for found in routing.reachable(self, originator):
            yield found.recipient, found.via

    def transit_for(self, originator: str, kind: str) -> frozenset[str]:
        """The relays `originator`'s rules for `kind` trust to pass on its messages."""
        return frozenset().union(
            *(r.transit for r in self.rules if r.originator == originator and kind in r.kinds)
        )

    def label_for(self, originator: str, kind: str) -> SecurityLabel:
        """The label the originator's standing rules give a message of `kind`.

        The message goes to the union of the matching rules' recipients; a field is
        withheld from a recipient if any matching rule withholds it. No matching rule:
        released to nobody.
        """
        matching = [r for r in self.rules if r.originator == originator and kind in r.kinds]
        rel_to = sorted(set().union(*(r.to for r in matching)))
        has_field = PAYLOAD_TYPES[kind].releasable_fields
        withheld: dict[str, set[str]] = {}
        for rule in matching:
            for recipient, fields in rule.withhold.items():
                for field in fields & set(has_field):
                    withheld.setdefault(field, set()).add(recipient)
        field_rel_to = {
            field: tuple(p for p in rel_to if p not in parties)
            for field, parties in sorted(withheld.items())
        }
        return SecurityLabel(self.classification, tuple(rel_to), field_rel_to)


def load_federation(path: str | Path) -> Federation:
    """Read and validate a federation file.

    Raises:
        ConfigError: the file cannot be read, is not TOML, or is not a valid federation.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read federation file: {exc.strerror}", path=str(path)) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"federation file is not UTF-8 text: {exc}", path=str(path)) from exc
    return parse_federation(text, source=str(path))


def parse_federation(text: str, *, source: str = "<federation>") -> Federation:
    """Validate federation TOML text; `source` names it in errors."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", path=source) from exc
    except RecursionError as exc:  # tomllib recurses into nested arrays and tables
        raise ConfigError("not valid TOML: nested too deeply", path=source) from exc
    try:
        doc = msgspec.convert(raw, type=_FederationDoc)
    except msgspec.ValidationError as exc:
        message, _, where = str(exc).partition(" - at `$")
        key = where.rstrip("`").lstrip(".") or None
        unknown = re.search(r"unknown field `([^`]+)`", message)
        if unknown:
            key = f"{key}.{unknown.group(1)}" if key else unknown.group(1)
        raise ConfigError(message, path=source, key=key, line=locate_key(text, key)) from exc
    return _Validator(doc, text, source).federation()


class _Validator:
    """Checks what the schema cannot: references between parties, links and rules."""

    def __init__(self, doc: _FederationDoc, text: str, source: str) -> None:
        self.doc = doc
        self.text = text
        self.source = source

    def fail(self, message: str, key: str) -> ConfigError:
        return ConfigError(message, path=self.source, key=key, line=locate_key(self.text, key))

    def party(self, code: str, key: str) -> str:
        if code not in self.doc.parties:
            known = ", ".join(sorted(self.doc.parties))
            raise self.fail(f"unknown party {code!r} (known: {known})", key)
        return code

    def federation(self) -> Federation:
        doc = self.doc
        if not doc.parties:
            raise self.fail("a federation needs at least two parties", "parties")
        window_s = doc.federation.freshness_window_s
        low, high = FRESHNESS_WINDOW_BOUNDS_S
        if not (math.isfinite(window_s) and low <= window_s <= high):
            raise self.fail(
                f"freshness_window_s must be {low:g} to {high:g} seconds, not {window_s}",
                "federation.freshness_window_s",
            )
        links = tuple(self._link(i, lk) for i, lk in enumerate(doc.links))
        seen: dict[frozenset[str], str] = {}
        for i, lk in enumerate(links):
            pair = frozenset(lk.parties)
            if pair in seen or lk.id in seen.values():
                raise self.fail(f"link {lk.id!r} repeats an earlier link", f"links[{i}]")
            seen[pair] = lk.id
        relays = frozenset(
            self.party(r.party, f"relays[{i}].party") for i, r in enumerate(doc.relays)
        )
        rules = tuple(self._rule(i, r) for i, r in enumerate(doc.release))
        linked = {p for lk in links for p in lk.parties}
        for code in doc.parties:
            if code not in linked:
                raise self.fail(f"party {code!r} has no link", f"parties.{code}")
        federation = Federation(
            name=doc.federation.name,
            classification=doc.federation.classification,
            parties={code: p.name for code, p in doc.parties.items()},
            links=links,
            relays=relays,
            rules=rules,
            freshness_window_s=window_s,
        )
        stuck = next(routing.undeliverable(federation), None)
        if stuck is not None:
            raise self.fail(stuck.message(), f"release[{stuck.rule}].to")
        return federation

    def _link(self, i: int, lk: _LinkDoc) -> Link:
        a, b = (self.party(p, f"links[{i}].parties") for p in lk.parties)
        if a == b:
            raise self.fail(f"link {lk.id!r} joins {a} to itself", f"links[{i}].parties")
        return Link(lk.id, (a, b))

    def _rule(self, i: int, rule: _RuleDoc) -> ReleaseRule:
        key = f"release[{i}]"
        originator = self.party(rule.originator, f"{key}.originator")
        for kind in rule.kinds:
            if kind not in RELEASABLE_KINDS:
                hint = (
                    "heartbeats are link-local and need no rule"
                    if kind == "heartbeat"
                    else f"kinds are {', '.join(RELEASABLE_KINDS)}"
                )
                raise self.fail(f"unknown message kind {kind!r}: {hint}", f"{key}.kinds")
        to = frozenset(self.party(p, f"{key}.to") for p in rule.to)
        if originator in to:
            raise self.fail(f"{originator} releases to itself", f"{key}.to")
        withhold: dict[str, frozenset[str]] = {}
        for recipient, fields in rule.withhold.items():
            self.party(recipient, f"{key}.withhold.{recipient}")
            if recipient not in to:
                raise self.fail(
                    f"withholds fields from {recipient}, which the rule does not release to",
                    f"{key}.withhold.{recipient}",
                )
            allowed = sorted({f for k in rule.kinds for f in PAYLOAD_TYPES[k].releasable_fields})
            for field in fields:
                if field not in allowed:
                    raise self.fail(
                        f"field {field!r} cannot be withheld from {', '.join(rule.kinds)} "
                        f"(withholdable: {', '.join(allowed) or 'none'})",
                        f"{key}.withhold.{recipient}",
                    )
            withhold[recipient] = frozenset(fields)
        transit = frozenset(self.party(p, f"{key}.transit") for p in rule.transit)
        hosts = {r.party for r in self.doc.relays}
        if transit - hosts:
            strangers = ", ".join(sorted(transit - hosts))
            raise self.fail(f"transit names {strangers}, which hosts no relay", f"{key}.transit")
        return ReleaseRule(originator, frozenset(rule.kinds), to, withhold, transit)
