"""Security labels: who an originator releases a message, and each field, to.

A label travels with every message. ``rel_to`` lists the parties the whole message
is released to ("REL TO"); ``field_rel_to`` narrows single payload fields further
(a field listed there is released only to the parties named for it, always a
subset of ``rel_to``). Anything not named is not released: deny by default.

A product derived from several messages (a fused track) carries the *meet* of
their labels (`SecurityLabel.meet`): released only to whom every source released
it, each field only to whom every source released that field, at the highest
classification among them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Final

import msgspec

from warnlink.errors import LabelError
from warnlink.model.codes import PARTY_CODE_PATTERN, WirePartyCode

#: Classifications from least to most restrictive, for the meet of labels.
CLASSIFICATIONS: Final = ("UNCLASSIFIED", "RESTRICTED", "CONFIDENTIAL", "SECRET", "TOP SECRET")

#: A party's code wherever it is decoded outside a message (in a message: `WirePartyCode`).
PartyCode = Annotated[str, msgspec.Meta(pattern=PARTY_CODE_PATTERN, max_length=16)]


class SecurityLabel(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True, rename="camel"
):
    """Releasability of one message.

    Attributes:
        classification: the marking's classification part, e.g. ``UNCLASSIFIED``.
        rel_to: parties the message is released to, sorted, no duplicates.
        field_rel_to: payload field name -> the parties that field is released to.
    """

    classification: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    rel_to: tuple[WirePartyCode, ...]
    field_rel_to: dict[str, tuple[WirePartyCode, ...]] = {}

    def releases_to(self, party: str) -> bool:
        """Whether the message as a whole is released to `party`."""
        return party in self.rel_to

    def withheld_from(self, party: str) -> tuple[str, ...]:
        """The payload fields not released to `party` (sorted)."""
        if party not in self.rel_to:
            return tuple(sorted(self.field_rel_to))
        return tuple(sorted(f for f, to in self.field_rel_to.items() if party not in to))

    def marking(self) -> str:
        """The banner line, e.g. ``UNCLASSIFIED//REL TO JPN, ROK, USA``."""
        return f"{self.classification}//REL TO {', '.join(self.rel_to)}"

    def restricted_to(self, party: str) -> SecurityLabel:
        """The label of a product made for `party` alone: withheld fields are gone."""
        kept: dict[str, tuple[str, ...]] = {
            f: (party,) for f, to in self.field_rel_to.items() if party in to
        }
        return SecurityLabel(self.classification, (party,), kept)

    def field_released_to(self, field: str) -> frozenset[str]:
        """The parties `field` is released to under this label."""
        to = self.field_rel_to.get(field, self.rel_to)
        return frozenset(to) & frozenset(self.rel_to)

    def including(self, party: str) -> SecurityLabel:
        """This label with `party` added everywhere: how an originator holds its own data."""
        if party in self.rel_to and all(party in to for to in self.field_rel_to.values()):
            return self
        return SecurityLabel(
            self.classification,
            tuple(sorted({*self.rel_to, party})),
            {f: tuple(sorted({*to, party})) for f, to in self.field_rel_to.items()},
        )

    @staticmethod
    def meet(labels: Iterable[SecurityLabel]) -> SecurityLabel:
        """The most restrictive label that respects every one of `labels`.

        Raises:
            ValueError: no labels given.
            LabelError: a classification outside `CLASSIFICATIONS` cannot be ordered
                against a different one (rule ``incomparable_classification``).
        """
        labels = list(labels)
        if not labels:
            raise ValueError("the meet of no labels is undefined")
        rel_to = frozenset(labels[0].rel_to).intersection(*(lb.rel_to for lb in labels[1:]))
        fields = sorted({f for lb in labels for f in lb.field_rel_to})
        field_rel_to = {
            f: tuple(sorted(rel_to.intersection(*(lb.field_released_to(f) for lb in labels))))
            for f in fields
        }
        return SecurityLabel(
            _highest({lb.classification for lb in labels}), tuple(sorted(rel_to)), field_rel_to
        )


def _highest(classifications: set[str]) -> str:
    if len(classifications) == 1:
        return next(iter(classifications))
    unknown = classifications - set(CLASSIFICATIONS)
    if unknown:
        raise LabelError(
            f"cannot order classifications {sorted(classifications)}",
            rule="incomparable_classification",
        )
    return max(classifications, key=CLASSIFICATIONS.index)
