"""The codes a message names things by (party codes, message ids, field names), and
their checks.

msgspec checks a ``pattern`` constraint with a regular expression search per string,
about a microsecond each, and a message holds ten or so: most of the cost of decoding
a track report at the relay (issue 18). A message's codes are therefore typed here
with their pattern in the JSON Schema only (``extra_json_schema``: the published
schema is unchanged), and `codec.decode` checks them once a message is decoded, with
string methods (`is_party_code`, `is_msg_id`, `is_field_name`). These are stricter
than a search by a ``...$`` pattern by one case: a trailing newline, which ``$``
lets through, is refused. Wherever else a party code is decoded (configuration,
source records), `label.PartyCode` is checked by msgspec as before.

Ground floor: imports msgspec only.
"""

from __future__ import annotations

from typing import Annotated, Final

import msgspec

PARTY_CODE_PATTERN: Final = r"^[A-Z][A-Z0-9_]{1,15}$"
MSG_ID_PATTERN: Final = r"^[0-9a-f]{32}$"
FIELD_NAME_PATTERN: Final = r"^[a-z][a-z0-9_]{0,63}$"

#: A party's code in a message (`PARTY_CODE_PATTERN`, checked by `codec.decode`).
WirePartyCode = Annotated[
    str, msgspec.Meta(max_length=16, extra_json_schema={"pattern": PARTY_CODE_PATTERN})
]
#: A message id (`MSG_ID_PATTERN`, checked by `codec.decode`).
MsgId = Annotated[str, msgspec.Meta(extra_json_schema={"pattern": MSG_ID_PATTERN})]
#: A payload field's name (`FIELD_NAME_PATTERN`, checked by `codec.decode`).
FieldName = Annotated[str, msgspec.Meta(extra_json_schema={"pattern": FIELD_NAME_PATTERN})]

_UPPER: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LOWER: Final = "abcdefghijklmnopqrstuvwxyz"
_DIGITS: Final = "0123456789"
_PARTY_CHARS: Final = _UPPER + _DIGITS + "_"
_HEX: Final = _DIGITS + "abcdef"
_FIELD_CHARS: Final = _LOWER + _DIGITS + "_"


def is_party_code(code: str) -> bool:
    """Whether `code` matches `PARTY_CODE_PATTERN`, whole."""
    # strip(chars) leaves nothing exactly when every character is one of them
    return 2 <= len(code) <= 16 and code[0] in _UPPER and not code.strip(_PARTY_CHARS)


def is_msg_id(msg_id: str) -> bool:
    """Whether `msg_id` matches `MSG_ID_PATTERN`, whole."""
    return len(msg_id) == 32 and not msg_id.strip(_HEX)


def is_field_name(name: str) -> bool:
    """Whether `name` matches `FIELD_NAME_PATTERN`, whole."""
    return 1 <= len(name) <= 64 and name[0] in _LOWER and not name.strip(_FIELD_CHARS)
