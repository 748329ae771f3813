"""Coverage-guided fuzzing of the decoders with atheris (libFuzzer), for `make fuzz`.

Optional: `make test` never needs it. Usage::

    python tests/fuzz/atheris_harness.py TARGET [libFuzzer options, e.g. -runs=100000]

TARGET is one of `TARGETS`. The property is the fuzz suite's: a value or the target's
typed error; any other exception is a crash that libFuzzer reports with its input.
A seed corpus of valid inputs is written to a temporary folder and used first.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import atheris  # type: ignore[import-not-found]

with atheris.instrument_imports():
    from warnlink.errors import ConfigError, MessageError, WarnlinkError
    from warnlink.model import decode
    from warnlink.security.signing import KeySet
    from warnlink.sharing.federation import parse_federation

ROOT = Path(__file__).resolve().parents[2]


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


TARGETS: dict[str, tuple[Callable[[bytes], object], type[WarnlinkError]]] = {
    "decode.msgpack": (lambda d: decode(d, "msgpack"), MessageError),
    "decode.json": (lambda d: decode(d, "json"), MessageError),
    "federation": (lambda d: parse_federation(_text(d)), ConfigError),
    "keyset": (lambda d: KeySet.from_json(_text(d)), ConfigError),
}


def _seeds(target: str) -> list[bytes]:
    sys.path.insert(0, str(ROOT))
    from tests.factories import KEYSET, TRILATERAL, envelope, impact, launch, track
    from warnlink.model import encode

    messages = [envelope(track()), envelope(launch()), envelope(impact())]
    if target == "decode.msgpack":
        return [encode(m) for m in messages]
    if target == "decode.json":
        return [encode(m, "json") for m in messages]
    if target == "federation":
        return [TRILATERAL.read_bytes()]
    return [KEYSET.to_json().encode()]


def main() -> None:
    target = sys.argv[1]
    parse, expected = TARGETS[target]
    corpus = Path(tempfile.mkdtemp(prefix=f"atheris-{target}-"))
    for i, seed in enumerate(_seeds(target)):
        (corpus / f"seed-{i}").write_bytes(seed)

    def one_input(data: bytes) -> None:
        with contextlib.suppress(expected):
            parse(data)

    atheris.Setup([sys.argv[0], *sys.argv[2:], str(corpus)], one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
