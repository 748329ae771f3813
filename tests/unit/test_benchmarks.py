"""The benchmark suite's quick mode, end to end on its smallest figure: the JSON it writes.

No time is asserted: the figures are whatever this machine measures.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from warnlink.benchmarks.figure import Figure
from warnlink.benchmarks.runner import BENCHMARKS, format_table, run_suite
from warnlink.cli import main
from warnlink.errors import ConfigError


def test_quick_relay_figure_writes_every_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "results.json"
    assert main(["bench", "--quick", "--only", "relay", "--out", str(out)]) == 0
    suite = json.loads(out.read_text(encoding="utf-8"))
    assert suite["quick"] is True
    assert suite["command"] == "warnlink bench --quick --only relay"
    machine = suite["machine"]
    assert machine["cpu_count"] >= 1
    assert machine["python"]
    assert {"msgspec", "cryptography", "numpy", "nats-server"} <= machine["versions"].keys()
    [relay] = suite["benchmarks"]
    assert relay["name"] == "relay"
    assert relay["inputs"]["messages"] > 0
    assert relay["wall_s"] > 0
    names = {f["name"] for f in relay["figures"]}
    assert {"relay.rate.stub", "relay.p99.stub", "relay.rate.memory"} <= names
    for f in relay["figures"]:
        assert set(f) == set(Figure.__struct_fields__)
        assert f["value"] > 0
        assert f["reference_value"] > 0
        assert f["ratio"] == pytest.approx(f["value"] / f["reference_value"])
        assert (f["target"] is None) == (f["met"] is None)
    table = capsys.readouterr().out
    assert table == format_table(suite) + "\n"
    assert "relay.rate.stub" in table


def test_an_unknown_benchmark_is_refused() -> None:
    with pytest.raises(ConfigError, match="nope"):
        run_suite(["nope"])
    assert "relay" in BENCHMARKS


def test_bench_accuracy_is_still_its_own_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "accuracy", "--seeds", "0"]) == 2
    assert "--seeds must be at least 1" in capsys.readouterr().err
