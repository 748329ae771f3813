"""Fuzzing the text decoders: federation TOML, scenarios, key sets, audit logs and the
launches table. Any input gives a value or a typed `WarnlinkError` (a `ConfigError`,
or a `StoreError` for the audit log), never another exception and never a hang."""

from __future__ import annotations

import json
import tempfile
import tomllib
from pathlib import Path

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.factories import KEYSET, ROOT, TRILATERAL
from tests.fuzz.harness import json_values, mutated, mutated_text, replaced, typed_or_value
from tests.property.profiles import fuzz_settings
from warnlink.errors import ConfigError, StoreError
from warnlink.security.keystore import KEYSET_FILE, load_keyset
from warnlink.security.signing import KeySet
from warnlink.sharing.audit import AuditLog, DecisionRecord, read_entries
from warnlink.sharing.federation import load_federation, parse_federation
from warnlink.sim.reference import read_launches
from warnlink.sim.scenario import default_scenario_path, load_scenario, scenario_from_mapping

pytestmark = pytest.mark.fuzz

SHORT = 200
FEDERATION_TEXT = TRILATERAL.read_text(encoding="utf-8")
SCENARIO_TEXT = default_scenario_path().read_text(encoding="utf-8")
SCENARIO_DOC = tomllib.loads(SCENARIO_TEXT)
LAUNCHES_TEXT = (ROOT / "scenarios" / "launches.csv").read_text(encoding="utf-8")
KEYSET_TEXT = KEYSET.to_json()
#: A scratch folder for decoders that read files (kept for the session).
SCRATCH = Path(tempfile.mkdtemp(prefix="warnlink-fuzz-"))


def _audit_text() -> bytes:
    log = AuditLog(SCRATCH / "seed-audit.jsonl")
    for i in range(3):
        log.append(
            DecisionRecord(
                time=i,
                decider="USA",
                msg_id=f"{i:032x}",
                originator="ROK",
                kind="track_report",
                recipient="JPN",
                outcome="redacted",
                reason="fields_withheld",
                content_sha256="0" * 64,
                withheld=("sensor",),
                product_id=f"{i + 1:032x}",
            )
        )
    log.close()
    return (SCRATCH / "seed-audit.jsonl").read_bytes()


AUDIT_BYTES = _audit_text()
TOML_PIECES = st.sampled_from(
    [
        "[federation]\n",
        'name = "x"\n',
        "[parties.AAA]\n",
        'name = "A"\n',
        "[[links]]\n",
        'id = "L"\n',
        'parties = ["AAA", "BBB"]\n',
        "[[relays]]\n",
        'party = "AAA"\n',
        "[[release]]\n",
        'originator = "AAA"\n',
        'kinds = ["track_report"]\n',
        'to = ["BBB"]\n',
        'withhold = { BBB = ["sensor"] }\n',
        "classification = 3\n",
        "[parties.BBB]\n",
    ]
)


# --- federation TOML ------------------------------------------------------------------


@fuzz_settings(SHORT)
@given(text=mutated_text(FEDERATION_TEXT, max_edits=6))
def test_federation_mutated_text(text: str) -> None:
    typed_or_value("federation.mutated", lambda: parse_federation(text), ConfigError)


@fuzz_settings(SHORT)
@given(raw=mutated(FEDERATION_TEXT.encode(), max_edits=6))
def test_federation_file_mutated(raw: bytes) -> None:
    path = SCRATCH / "federation.toml"
    path.write_bytes(raw)
    typed_or_value("federation.file", lambda: load_federation(path), ConfigError)


@fuzz_settings(SHORT)
@given(pieces=st.lists(TOML_PIECES, max_size=20))
def test_federation_assembled_from_pieces(pieces: list[str]) -> None:
    text = "".join(pieces)
    typed_or_value("federation.pieces", lambda: parse_federation(text), ConfigError)


@fuzz_settings(SHORT)
@given(text=st.text(max_size=300))
def test_federation_random_text(text: str) -> None:
    typed_or_value("federation.random", lambda: parse_federation(text), ConfigError)


# --- scenarios ------------------------------------------------------------------------


@fuzz_settings(SHORT)
@given(doc=replaced(SCENARIO_DOC, max_edits=3))
def test_scenario_structurally_altered(doc: object) -> None:
    typed_or_value(
        "scenario.structure",
        lambda: scenario_from_mapping(doc),  # type: ignore[arg-type]
        ConfigError,
    )


@fuzz_settings(SHORT)
@given(raw=mutated(SCENARIO_TEXT.encode(), max_edits=6))
def test_scenario_file_mutated(raw: bytes) -> None:
    path = SCRATCH / "scenario.toml"
    path.write_bytes(raw)
    typed_or_value("scenario.file", lambda: load_scenario(path), ConfigError)


# --- key sets -------------------------------------------------------------------------


@fuzz_settings(SHORT)
@given(text=mutated_text(KEYSET_TEXT, max_edits=4))
def test_keyset_mutated_json(text: str) -> None:
    typed_or_value("keyset.mutated", lambda: KeySet.from_json(text), ConfigError)


@fuzz_settings(SHORT)
@given(raw=mutated(KEYSET_TEXT.encode(), max_edits=4))
def test_keyset_file_mutated(raw: bytes) -> None:
    (SCRATCH / "keys").mkdir(exist_ok=True)
    (SCRATCH / "keys" / KEYSET_FILE).write_bytes(raw)
    typed_or_value("keyset.file", lambda: load_keyset(SCRATCH / "keys"), ConfigError)


@fuzz_settings(SHORT)
@given(doc=replaced(json.loads(KEYSET_TEXT), max_edits=3) | json_values)
def test_keyset_structurally_altered(doc: object) -> None:
    text = json.dumps(doc)
    typed_or_value("keyset.structure", lambda: KeySet.from_json(text), ConfigError)


# --- audit log lines ------------------------------------------------------------------


def _read_all(path: Path) -> int:
    return len(list(read_entries(path)))


@fuzz_settings(SHORT)
@given(raw=mutated(AUDIT_BYTES, max_edits=4))
def test_audit_log_mutated_lines(raw: bytes) -> None:
    path = SCRATCH / "audit.jsonl"
    path.write_bytes(raw)
    typed_or_value("audit.mutated", lambda: _read_all(path), StoreError)


@fuzz_settings(SHORT)
@given(entries=st.lists(replaced(msgspec.json.decode(AUDIT_BYTES.splitlines()[0])), max_size=3))
def test_audit_log_structurally_altered(entries: list[object]) -> None:
    path = SCRATCH / "audit.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in entries))
    typed_or_value("audit.structure", lambda: _read_all(path), StoreError)


# --- the launches table ---------------------------------------------------------------


@fuzz_settings(SHORT)
@given(raw=mutated(LAUNCHES_TEXT.encode(), max_edits=6))
def test_launches_table_mutated(raw: bytes) -> None:
    path = SCRATCH / "launches.csv"
    path.write_bytes(raw)
    typed_or_value("launches.mutated", lambda: read_launches(path), ConfigError)


@fuzz_settings(SHORT)
@given(
    rows=st.lists(
        st.lists(st.text(alphabet=st.characters(codec="utf-8"), max_size=12), max_size=9),
        max_size=4,
    )
)
def test_launches_table_random_rows(rows: list[list[str]]) -> None:
    header = LAUNCHES_TEXT.splitlines()[5]
    path = SCRATCH / "launches.csv"
    path.write_text(header + "\n" + "".join(",".join(r) + "\n" for r in rows), encoding="utf-8")
    typed_or_value("launches.rows", lambda: read_launches(path), ConfigError)


# --- deep nesting and long fields (what byte edits rarely reach) -------------------------


def _nested(opener: str, closer: str, depth: int) -> str:
    return opener * depth + closer * depth


@fuzz_settings(SHORT // 10)
@given(
    depth=st.integers(1, 5_000),
    brackets=st.sampled_from([("[", "]"), ("{a=", "}")]),
    where=st.sampled_from(["federation", "scenario"]),
)
def test_toml_nested_deeply(depth: int, brackets: tuple[str, str], where: str) -> None:
    text = "a = " + _nested(*brackets, depth) + "\n"
    if where == "federation":
        typed_or_value("federation.deep", lambda: parse_federation(text), ConfigError)
    else:
        path = SCRATCH / "deep.toml"
        path.write_text(text)
        typed_or_value("scenario.deep", lambda: load_scenario(path), ConfigError)


@fuzz_settings(SHORT // 10)
@given(depth=st.integers(1, 5_000), bracket=st.sampled_from(["[", '{"ed25519":', '{"a":[']))
def test_keyset_json_nested_deeply(depth: int, bracket: str) -> None:
    typed_or_value("keyset.deep", lambda: KeySet.from_json(bracket * depth), ConfigError)


@fuzz_settings(SHORT // 10)
@given(length=st.integers(1, 300_000), column=st.integers(0, 7))
def test_launches_table_long_field(length: int, column: int) -> None:
    header = LAUNCHES_TEXT.splitlines()[5]
    row = LAUNCHES_TEXT.splitlines()[6].split(",")
    row[column] = "x" * length
    path = SCRATCH / "launches.csv"
    path.write_text(f"{header}\n{','.join(row)}\n", encoding="utf-8")
    typed_or_value("launches.long_field", lambda: read_launches(path), ConfigError)
