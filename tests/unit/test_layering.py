"""The import floors of docs/architecture.md: a module imports only from its floor or below."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import warnlink

PACKAGE = Path(warnlink.__file__).parent

#: Lowest first; a module may import from its own floor and any floor below it.
FLOORS: tuple[frozenset[str], ...] = (
    frozenset({"errors", "counters", "tomlkeys", "model", "geo", "transport"}),
    frozenset({"physics", "security"}),
    frozenset({"sensors"}),
    frozenset({"estimation"}),
    frozenset({"sim", "sharing"}),
    frozenset({"fusion"}),
    frozenset({"alerting"}),
    frozenset({"interop", "sources"}),
    frozenset({"node"}),
    frozenset({"runtime"}),
    frozenset({"deploy", "demo", "report", "accuracy", "faults"}),
    frozenset({"web", "cli", "benchmarks", "party", "feed", "__main__"}),
)


def _floor(top: str) -> int:
    for level, names in enumerate(FLOORS):
        if top in names:
            return level
    raise AssertionError(f"warnlink.{top} is on no floor: add it to FLOORS and the docs")


def _imports(path: Path) -> set[str]:
    tops: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = (
            [a.name for a in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
            if isinstance(node, ast.ImportFrom) and node.level == 0
            else []
        )
        tops.update(n.split(".")[1] for n in names if n.startswith("warnlink."))
    return tops


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" or p.parent != PACKAGE)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_stay_on_or_below_their_floor(path: Path) -> None:
    top = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
    mine = _floor(top)
    above = sorted(t for t in _imports(path) if _floor(t) > mine)
    assert not above, f"{path.relative_to(PACKAGE)} imports from a higher floor: {above}"


def test_a_violation_is_seen(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("from warnlink.sim.launch import fly\nimport warnlink.demo\n")
    assert _imports(probe) == {"sim", "demo"}
