"""Witnessed audit: consistency proofs, the head exchange between a relay and its
link peers (in-memory bus, fake clock), and what a witness refuses."""

from __future__ import annotations

import logging
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest

from tests.factories import KEYS, KEYSET, T0, decision_record, trilateral
from warnlink.cli import main
from warnlink.errors import WitnessError
from warnlink.model import SecurityLabel, encode, new_envelope
from warnlink.model.payloads import HeadCosignature, TreeHead
from warnlink.model.time import ManualClock
from warnlink.node import Node
from warnlink.security.keystore import KEYS_DIR, KEYSET_FILE
from warnlink.security.merkle import (
    consistency_proof,
    leaf_hash,
    merkle_root,
    verify_consistency,
)
from warnlink.security.signing import sign
from warnlink.sharing.audit import AuditLog, DecisionRecord, canonical
from warnlink.sharing.nats_topology import crossing
from warnlink.sharing.subjects import node_inbox, relay_inbox
from warnlink.sharing.witness import (
    Witness,
    cosign,
    cosigned_path,
    encode_record,
    witness_path,
)
from warnlink.transport import MemoryBus

USA, JPN, ROK = KEYS["USA"].own, KEYS["JPN"].own, KEYS["ROK"].own
LEAVES = [leaf_hash(i.to_bytes(2, "big")) for i in range(33)]


# --- RFC 9162 consistency proofs (section 2.1.4) ------------------------------------


def test_every_consistency_proof_verifies_and_altered_ones_do_not() -> None:
    for new in range(1, len(LEAVES) + 1):
        new_root = merkle_root(LEAVES[:new])
        for old in range(new + 1):
            old_root = merkle_root(LEAVES[:old])
            proof = consistency_proof(LEAVES[:new], old)
            assert verify_consistency(old, new, old_root, new_root, proof), (old, new)
            if 0 < old < new:
                other = merkle_root([*LEAVES[: old - 1], LEAVES[-1]])  # another old tree
                assert not verify_consistency(old, new, other, new_root, proof)
                assert not verify_consistency(old, new, old_root, other, proof)
                assert not verify_consistency(old, new, old_root, new_root, proof[:-1])
                assert not verify_consistency(old - 1, new, old_root, new_root, proof)


def test_the_hand_drawn_proof_from_3_to_7() -> None:
    """RFC 9162 section 2.1.5's example: from 3 leaves to 7 the proof is c, d, g, h."""
    d = LEAVES
    c_ = d[2]
    d_ = d[3]
    g_ = merkle_root(d[0:2])
    h_ = merkle_root(d[4:7])
    assert consistency_proof(d[:7], 3) == [c_, d_, g_, h_]
    assert consistency_proof(d[:7], 4) == [h_]
    assert consistency_proof(d[:7], 7) == []


# --- the exchange -------------------------------------------------------------------


def _record(i: int) -> DecisionRecord:
    return decision_record(i, time=T0)


class Running:
    def __init__(self, bus: MemoryBus, clock: ManualClock, nodes: dict[str, Node]) -> None:
        self.bus, self.clock, self.nodes = bus, clock, nodes
        relay = nodes["USA"].relay
        assert relay is not None
        self.relay = relay

    def grow(self, n: int) -> None:
        start = len(self.relay.audit)
        for i in range(start, start + n):
            self.relay.audit.append(_record(i))

    async def round(self) -> None:
        await self.nodes["USA"].tick()
        await self.bus.wait_idle()


@pytest.fixture
async def fed(tmp_path: Path) -> AsyncIterator[Running]:
    clock = ManualClock(T0)
    bus = MemoryBus(tmp_path / "bus", clock=clock)
    federation = trilateral()
    nodes = {
        p: Node(p, federation, bus, clock, keys=KEYS[p], audit_dir=tmp_path)
        for p in federation.parties
    }
    for node in nodes.values():
        await node.start()
    yield Running(bus, clock, nodes)
    for node in nodes.values():
        await node.stop()
    await bus.close()


async def test_link_peers_witness_the_relays_heads_and_it_keeps_their_cosignatures(
    fed: Running, tmp_path: Path
) -> None:
    fed.grow(5)
    await fed.round()
    relay = fed.relay
    head = relay.audit.heads[-1]
    assert head.tree_size == 5  # the round signed the entries its heads did not cover
    for party in ("ROK", "JPN"):
        latest = fed.nodes[party].witness.latest("USA")
        assert latest is not None
        assert latest.head == head
        assert fed.nodes[party].counters.get("witness.cosigned") == 1
        path = witness_path(tmp_path, party, "USA")
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert set(relay.heads.witnessed) == {"ROK", "JPN"}
    assert len(relay.heads.cosigned.records) == 2
    assert stat.S_IMODE(cosigned_path(tmp_path, "USA").stat().st_mode) == 0o600

    fed.grow(4)
    await fed.round()  # not due yet: nothing sent
    assert relay.counters.get("witness.head_sent") == 2
    fed.clock.advance_s(30)
    await fed.round()  # due: a head of 9, proven consistent with the head of 5
    assert relay.counters.get("witness.head_sent") == 4
    latest = fed.nodes["ROK"].witness.latest("USA")
    assert latest is not None
    assert latest.head.tree_size == 9
    assert fed.nodes["ROK"].counters.get("witness.cosigned") == 2
    fed.clock.advance_s(30)
    await fed.round()  # nothing new: nothing sent
    assert relay.counters.get("witness.head_sent") == 4
    assert fed.nodes["ROK"].counters.get("rejected.witness") == 0


async def test_the_witnessed_log_verifies_and_a_cut_back_copy_does_not(
    fed: Running, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fed.grow(5)
    await fed.round()
    fed.grow(4)
    fed.clock.advance_s(30)
    await fed.round()
    (tmp_path / KEYS_DIR).mkdir()
    (tmp_path / KEYS_DIR / KEYSET_FILE).write_text(KEYSET.to_json())
    log = tmp_path / "relay-USA.jsonl"
    witnesses = [
        "--witness",
        str(witness_path(tmp_path, "ROK", "USA")),
        "--witness",
        str(cosigned_path(tmp_path, "USA")),
    ]
    assert main(["audit", "verify", str(log), *witnesses]) == 0
    lines = log.read_bytes().splitlines(keepends=True)
    cut = tmp_path / "cut" / "relay-USA.jsonl"
    cut.parent.mkdir()
    cut.write_bytes(b"".join(lines[:6]))  # 5 entries and their head
    assert (
        main(["audit", "verify", str(cut), "--keyset", str(tmp_path / KEYS_DIR / KEYSET_FILE)]) == 0
    )
    assert (
        main(
            [
                "audit",
                "verify",
                str(cut),
                "--keyset",
                str(tmp_path / KEYS_DIR / KEYSET_FILE),
                *witnesses,
            ]
        )
        == 3
    )
    assert "rolled back: ROK witnessed a head of 9 entries" in capsys.readouterr().out


def _other_log(n: int, *, change_at: int | None = None) -> AuditLog:
    """USA's log of `n` entries in memory, entry `change_at` other than the real one's."""
    log = AuditLog(None, USA, head_every=1000)
    for i in range(n):
        record = _record(i)
        log.append(msgspec.structs.replace(record, outcome="refused") if i == change_at else record)
    log.sign_head()
    return log


def _tree_head(log: AuditLog, since: int) -> TreeHead:
    head = log.heads[-1]
    proof = tuple(log.consistency(since, head.tree_size))
    return TreeHead(trk_id=0, head=canonical(head), log="", since=since, consistency=proof)


def _witness() -> Witness:
    witness = Witness(ROK, KEYSET, {"USA"}, ManualClock(T0), None)
    witness.take("USA", _tree_head(_other_log(9), 0))
    return witness


@pytest.mark.parametrize(
    ("message", "rule"),
    [
        (_tree_head(_other_log(6), 0), "rolled_back"),
        (_tree_head(_other_log(9, change_at=4), 0), "forked"),
        (_tree_head(_other_log(12, change_at=4), 9), "inconsistent"),
        (TreeHead(trk_id=0, head=b"{}", log="", since=9), "bad_head"),
    ],
)
def test_a_head_that_rolls_back_or_forks_the_witnessed_log_is_refused(
    message: TreeHead, rule: str
) -> None:
    witness = _witness()
    with pytest.raises(WitnessError) as caught:
        witness.take("USA", message)
    assert (caught.value.rule, caught.value.relay) == (rule, "USA")
    latest = witness.latest("USA")
    assert latest is not None
    assert latest.head.tree_size == 9  # nothing countersigned, nothing kept


def test_a_head_that_is_not_the_senders_relays_is_refused() -> None:
    witness = _witness()
    jpn_log = AuditLog(None, JPN)
    jpn_log.append(msgspec.structs.replace(_record(0), decider="JPN"))
    jpn_log.sign_head()
    with pytest.raises(WitnessError, match="signed by JPN"):
        witness.take("USA", _tree_head(jpn_log, 0))
    with pytest.raises(WitnessError, match="hosts no relay"):
        witness.take("JPN", _tree_head(jpn_log, 0))
    forged = msgspec.structs.replace(_other_log(12).heads[-1], root="00" * 32)
    with pytest.raises(WitnessError, match="signature of USA does not verify"):
        witness.take("USA", TreeHead(trk_id=0, head=canonical(forged), log="", since=9))


def test_a_proof_from_another_head_gets_the_head_kept_back() -> None:
    """The relay missed the last cosignature: it proves from an older head; the witness
    countersigns nothing new and answers with the head it holds."""
    witness = _witness()
    answer = witness.take("USA", _tree_head(_other_log(12), 3))
    assert answer.head.tree_size == 9
    answer = witness.take("USA", _tree_head(_other_log(12), 9))
    assert answer.head.tree_size == 12


def test_witness_files_survive_a_restart(tmp_path: Path) -> None:
    first = Witness(ROK, KEYSET, {"USA"}, ManualClock(T0), tmp_path)
    first.take("USA", _tree_head(_other_log(9), 0))
    again = Witness(ROK, KEYSET, {"USA"}, ManualClock(T0), tmp_path)
    with pytest.raises(WitnessError, match="head of 6 entries after one of 9"):
        again.take("USA", _tree_head(_other_log(6), 0))


async def test_a_rolled_back_relay_is_counted_and_logged_loudly(
    fed: Running, caplog: pytest.LogCaptureFixture
) -> None:
    fed.grow(9)
    await fed.round()
    # The relay comes back from an old backup: its log holds 6 entries, and it forgot
    # what its witnesses hold.
    rolled = _other_log(6)
    fed.relay.heads.audit = rolled
    fed.relay.heads.witnessed.clear()
    fed.clock.advance_s(30)
    with caplog.at_level(logging.ERROR):
        await fed.round()
    rok = fed.nodes["ROK"]
    assert rok.counters.get("witness.rolled_back") == 1
    assert any("rolled_back" in r.message and r.levelno == logging.ERROR for r in caplog.records)
    latest = rok.witness.latest("USA")
    assert latest is not None
    assert latest.head.tree_size == 9


async def test_the_relay_keeps_only_sound_cosignatures_of_its_own_heads(fed: Running) -> None:
    fed.grow(3)
    await fed.round()
    relay = fed.relay
    head = relay.audit.heads[-1]

    def cosignature(record: bytes, originator: str, seq: int) -> object:
        made = new_envelope(
            originator=originator,
            seq=seq,
            created=T0,
            label=SecurityLabel("UNCLASSIFIED", ("USA",)),
            payload=HeadCosignature(trk_id=0, record=record),
            data_mode=None,
        )
        return sign(made, KEYS[originator].own)

    bad = [
        cosignature(encode_record(cosign(head, JPN, T0)), "ROK", 900),  # JPN's, sent by ROK
        cosignature(
            encode_record(cosign(_other_log(3, change_at=1).heads[-1], ROK, T0)), "ROK", 901
        ),
    ]
    for envelope in bad:
        with pytest.raises(WitnessError):
            relay.heads.take(envelope, envelope.payload)  # type: ignore[attr-defined]
    assert len(relay.heads.cosigned.records) == 2


async def test_a_tree_head_sent_to_the_relay_is_refused_not_relayed(fed: Running) -> None:
    made = new_envelope(
        originator="ROK",
        seq=5_000,
        created=T0,
        label=SecurityLabel("UNCLASSIFIED", ("USA", "JPN")),
        payload=_tree_head(_other_log(3), 0),
        data_mode=None,
    )
    await fed.bus.publish(relay_inbox("USA", "ROK"), encode(sign(made, ROK)), msg_id=made.msg_id)
    await fed.bus.wait_idle()
    assert fed.relay.counters.get("relay.rejected.mislabelled") == 1
    assert fed.nodes["JPN"].counters.get("received.tree_head") == 0


def test_a_standby_relays_log_is_witnessed_apart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two relay instances of one host keep two logs: not a fork, two witness files."""
    witness = Witness(ROK, KEYSET, {"USA"}, ManualClock(T0), tmp_path)
    first = _other_log(9)
    witness.take("USA", msgspec.structs.replace(_tree_head(first, 0), log="a"))
    witness.take("USA", msgspec.structs.replace(_tree_head(_other_log(4, change_at=1), 0), log="b"))
    assert witness_path(tmp_path, "ROK", "USA", "a").exists()
    assert witness_path(tmp_path, "ROK", "USA", "b").exists()
    (tmp_path / KEYS_DIR).mkdir()
    (tmp_path / KEYS_DIR / KEYSET_FILE).write_text(KEYSET.to_json())
    log = tmp_path / "relay-USA.jsonl"
    log.write_bytes(b"".join(canonical(line) + b"\n" for line in first.lines()))
    a = str(witness_path(tmp_path, "ROK", "USA", "a"))
    assert main(["audit", "verify", str(log), "--witness", a, "--instance", "a"]) == 0
    assert main(["audit", "verify", str(log), "--witness", a]) == 3
    assert "witnessed the log of relay instance 'a', not ''" in capsys.readouterr().out


def test_the_exchange_rides_subjects_nats_already_grants() -> None:
    """No new NATS permission: heads go where the relay's host sends its peers
    anything, cosignatures where a peer sends the relay its reports."""
    federation = trilateral()
    for relay in federation.relays:
        for peer in federation.peers(relay):
            assert node_inbox(peer, relay) in crossing(federation, relay, peer)
            assert relay_inbox(relay, peer) in crossing(federation, peer, relay)


def test_a_logs_proofs_from_its_kept_subtrees_match_the_rfc_recursion() -> None:
    log = _other_log(300)
    leaves = [leaf_hash(canonical(entry)) for entry in log]
    for new in (1, 63, 64, 65, 128, 200, 300):
        for old in (0, 1, 7, 64, 100, new):
            if old <= new:
                assert log.consistency(old, new) == consistency_proof(leaves[:new], old)
