"""The receiver benchmark applies every relayed and direct message of its salvo."""

from __future__ import annotations

from warnlink.benchmarks import receiver
from warnlink.benchmarks.receiver import deliveries, measure
from warnlink.demo import default_federation_path
from warnlink.model import decode
from warnlink.security.signing import ephemeral_keys
from warnlink.sharing.federation import load_federation


def test_the_salvo_reaches_jpn_countersigned_through_the_relay_and_directly() -> None:
    federation = load_federation(default_federation_path())
    keys = ephemeral_keys(federation.parties)
    given = [decode(data) for _, data, _ in deliveries(federation, keys, 4, 2, receiver.T0)]
    relayed = [e for e in given if e.originator == "ROK"]
    direct = [e for e in given if e.originator == "USA"]
    assert relayed
    assert direct
    assert all(e.countersig for e in relayed)
    assert all(not e.countersig for e in direct)
    assert all(getattr(e.payload, "sensor", None) is None for e in relayed)  # withheld
    for originator in ("ROK", "USA"):  # each originator's in order
        seqs = [e.seq for e in given if e.originator == originator]
        assert seqs == sorted(seqs)


def test_a_tiny_run_applies_every_message_and_refuses_none() -> None:
    result = measure(missiles=4, rounds=2, runs=1)
    rate, cpu = result.figures
    assert rate.name == "receiver.rate"
    assert rate.value > 0
    assert rate.reference_value > 0
    assert cpu.name == "receiver.cpu_us"
    assert result.inputs["applied"] == result.inputs["messages"]
    assert result.inputs["rejected"] == {}
