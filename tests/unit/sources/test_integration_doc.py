"""docs/integration.md stays true: its example is taken, its reasons are the code's."""

from __future__ import annotations

import re
from pathlib import Path

from warnlink.sources.base import REASONS
from warnlink.sources.udl import parse_batch

DOC = Path(__file__).parents[3] / "docs" / "integration.md"


def test_the_example_body_is_taken_whole() -> None:
    text = DOC.read_text(encoding="utf-8")
    example = re.search(r"### An example.*?```json\n(.*?)```", text, re.DOTALL)
    assert example is not None
    records, refused = parse_batch(example.group(1).encode(), party="ROK", source="rok-c2")
    assert refused == []
    assert len(records) == 1
    assert records[0].launch is not None
    assert records[0].impact is not None


def test_every_refusal_reason_is_documented_as_the_code_says() -> None:
    rows = dict(re.findall(r"^\| `(\w+)` \| (.+?) \|$", DOC.read_text(encoding="utf-8"), re.M))
    assert {reason: rows.get(reason) for reason in REASONS} == REASONS
