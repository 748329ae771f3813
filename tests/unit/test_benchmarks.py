"""The benchmark suite's quick mode, end to end on its smallest figure: the JSON it writes.

No time is asserted: the figures are whatever this machine measures.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import msgspec
import pytest

from tests.factories import T0, envelope, impact, track
from warnlink.benchmarks import ingest
from warnlink.benchmarks.figure import Figure
from warnlink.benchmarks.ingest import (
    MISSILES,
    PACED_WARM_UP,
    PHASES,
    Measured,
    Run,
    Send,
    Sizes,
    closed_loop,
    figures,
    phase_name,
)
from warnlink.benchmarks.ingest_bare import ANSWER, bare_app
from warnlink.benchmarks.ingest_load import INGEST_PATH, HttpsClient, Salvo, client_tls
from warnlink.benchmarks.ingest_observe import (
    Applied,
    Sent,
    applied_rate,
    applied_track_reports,
    delays_ms,
)
from warnlink.benchmarks.runner import BENCHMARKS, format_table, run_suite
from warnlink.cli import main
from warnlink.errors import ConfigError
from warnlink.model import ImpactPrediction, TrackReport, encode
from warnlink.node.stores import queue_store
from warnlink.security.certs import CERTS_DIR, init_certs, party_certs, server_ssl_context
from warnlink.sources.udl import parse_batch
from warnlink.web.serve import EmbeddedServer, listen_socket, server_config

PATIENCE_S = 10.0  # a guard against a hang, never expected to elapse


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


# The ingest benchmark (`benchmarks.ingest`): its load, clients, reading back and figures.


def test_a_salvo_batch_is_what_the_udl_port_takes(tmp_path: Path) -> None:
    salvo = Salvo("salvo", "ROK", 20, T0)
    epoch = T0 + 7 * 10**9
    records, refused = parse_batch(salvo.body(epoch), party="ROK", source="salvo")
    assert refused == []
    assert [r.track_id for r in records] == salvo.track_ids == [str(k) for k in range(1, 21)]
    assert {r.epoch_ns for r in records} == {epoch}
    assert all(r.launch is not None and r.impact is not None for r in records)
    moved = salvo.records(epoch)[0].pos_ecef_m
    assert moved != salvo.records(T0)[0].pos_ecef_m  # the missiles fly


async def test_the_https_client_posts_on_one_connection_to_the_bare_server(
    tmp_path: Path,
) -> None:
    init_certs(tmp_path / CERTS_DIR, ["ROK"])
    certs = party_certs(tmp_path / CERTS_DIR, "ROK")
    server = EmbeddedServer(
        server_config(bare_app(), server_ssl_context(tmp_path / CERTS_DIR, "ROK"))
    )
    sock = listen_socket("127.0.0.1", 0)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    client = HttpsClient(
        f"https://127.0.0.1:{sock.getsockname()[1]}",
        client_tls(certs.ca, certs.cert("operator"), certs.key("operator")),
    )
    try:
        async with asyncio.timeout(PATIENCE_S):
            while not server.started:
                await asyncio.sleep(0.01)
            first = await client.request("POST", INGEST_PATH, b"[]")
            _, writer = await client.connect()
            second = await client.request("POST", INGEST_PATH, b"[1]")
            assert (await client.connect())[1] is writer  # the connection kept alive
            missing = await client.request("GET", "/nothing")
    finally:
        await client.close()
        server.should_exit = True
        await serving
        sock.close()
    assert first == second == (200, ANSWER)
    assert missing[0] == 404


async def test_a_closed_loop_sends_every_body_once_through_all_its_clients() -> None:
    seen: list[tuple[int, bytes]] = []

    def client(number: int) -> Send:
        async def send(body: bytes) -> None:
            await asyncio.sleep(0)
            seen.append((number, body))

        return send

    bodies = [f"{k}".encode() for k in range(10)]
    run = await closed_loop([client(n) for n in range(3)], bodies, pid=None)
    assert sorted(body for _, body in seen) == sorted(bodies)
    assert {number for number, _ in seen} == {0, 1, 2}
    assert run.records == 10 * MISSILES
    assert len(run.round_trips_s) == 10
    assert run.end_ns >= run.start_ns
    assert run.cpu_pct is None


def test_the_applied_log_is_read_back_and_matched_to_the_sent_records(tmp_path: Path) -> None:
    log = queue_store(tmp_path / "USA", "applied-USA", "applied-log")
    reports = [(msgspec.structs.replace(track(7), epoch=T0 + k), T0 + 10**9 + k) for k in range(3)]
    reports.append((reports[0][0], T0 + 5 * 10**9))  # applied again (handed over twice)
    others: list[tuple[TrackReport | ImpactPrediction, int]] = [(impact(7), T0 + 10**9)]
    for seq, (report, when) in enumerate([*reports, *others], start=1):
        made = envelope(report, seq=seq)
        log.append("", made.msg_id, encode(made), when)
    log.close()
    applied = applied_track_reports(tmp_path, "USA")
    assert len(applied) == 4  # the track reports alone
    assert applied[:3] == [Applied(T0 + 10**9 + k, "ROK", 7, T0 + k) for k in range(3)]
    sent = [Sent("paced", ("a",), T0 + k, T0 + 10**9 - 10**6) for k in range(4)]
    delays, missing = delays_ms(sent, {("paced", "a"): 7}, applied, "ROK", until_ns=T0 + 2 * 10**9)
    assert [round(d * 1e6) for d in delays] == [10**6, 10**6 + 1, 10**6 + 2, 10**9 + 10**6]
    assert missing == 1  # the fourth, counted with its wait so far
    assert applied_rate(applied, "ROK", T0 + 10**9, T0 + 10**9 + 2) == pytest.approx(1e9)
    assert applied_rate(applied, "JPN", T0, T0 + 10**9) == 0.0


def test_the_ingest_figures_stand_beside_their_references() -> None:
    def run(rate: float) -> Run:
        return Run(T0, T0 + 10**9, round(rate), [0.01, 0.02], 50.0)

    measured = Measured()
    for transport, clients in PHASES:
        name = phase_name(transport, clients)
        measured.node[name], measured.bare[name] = run(1_000.0), run(20_000.0)
        measured.applied[name] = 10.0
    measured.applied["tail"] = 12.0
    measured.tail = Run(T0, T0 + 10**9, 0, [], 30.0)
    measured.new_salvo = {"tracks": 100, "seconds": 4.0, "accepted_s": 0.05}
    measured.delays_ms = {"USA": [100.0, 200.0, 300.0], "JPN": [150.0, 250.0, 350.0]}
    measured.reference_trips_s = [0.001, 0.002, 0.003]
    shown = {f.name: f for f in figures(measured)}
    assert shown["ingest.accepted.http.1"].value == pytest.approx(1_000.0)
    assert shown["ingest.accepted.nats.4"].ratio == pytest.approx(0.05)
    assert shown["ingest.applied.http.4"].met is False
    assert shown["ingest.cpu.nats.1"].reference_value == 100.0
    assert shown["ingest.p99.JPN (via relay)"].value > shown["ingest.p50.JPN (via relay)"].value
    assert shown["ingest.p50.USA (direct)"].reference_value == pytest.approx(2.0)
    assert shown["ingest.applied.backlog"].ratio == pytest.approx(12.0 / 1_000.0)
    assert shown["ingest.cpu.backlog"].value == 30.0
    assert shown["ingest.new_salvo (100 tracks)"].ratio == pytest.approx(80.0)
    for f in shown.values():
        assert (f.target is None) == (f.met is None)


@pytest.mark.nats
@pytest.mark.slow
def test_a_tiny_ingest_run_measures_every_figure() -> None:
    result = ingest.run(
        sizes=Sizes(paced_batches=PACED_WARM_UP + 1, batches=2, tail_s=0.1, round_trips=2)
    )
    names = {f.name for f in result.figures}
    for transport, clients in PHASES:
        name = phase_name(transport, clients)
        assert {f"ingest.accepted.{name}", f"ingest.applied.{name}"} <= names
    assert {"ingest.p99.USA (direct)", "ingest.p99.JPN (via relay)"} <= names
    for f in result.figures:
        assert f.value >= 0.0
        assert f.reference_value > 0.0
    assert result.inputs["paced"]["never_arrived"] == {"USA": 0, "JPN": 0}
