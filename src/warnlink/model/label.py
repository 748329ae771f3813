"""Security labels: who an originator releases a message, and each field, to.

A label travels with every message. ``rel_to`` lists the parties the whole message
is released to ("REL TO"); ``field_rel_to`` narrows single payload fields further
(a field listed there is released only to the parties named for it, always a
subset of ``rel_to``). Anything not named is not released: deny by default.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

PartyCode = Annotated[str, msgspec.Meta(pattern=r"^[A-Z][A-Z0-9_]{1,15}$", max_length=16)]


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
    rel_to: tuple[PartyCode, ...]
    field_rel_to: dict[str, tuple[PartyCode, ...]] = {}

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
