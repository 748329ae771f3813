"""The relay's side of witnessed audit (`sharing.witness`): heads out, cosignatures in.

Every `WITNESS_INTERVAL_S` the relay signs a head over its log if it grew since its
last head, and sends every link peer of its host that has not yet countersigned that
head a `TreeHead`: the head and the RFC 9162 consistency proof from the head that
peer last countersigned. A peer answers with its countersignature
(`HeadCosignature`), which the relay checks (the witness's and its own signatures,
and that the head is one of its log's) and keeps in its cosigned file, beside its log.

Why 30 s: a relay can roll back or fork unnoticed only what no witness holds yet, so
the interval bounds that tail (about 30 s of decisions); each round costs one head
line in the log when it grew (at most 120 an hour, against a head every 100 entries
anyway), one signature, and per peer one proof: O(log^2 n) subtree hashes, kept once
computed (`merkle.SubtreeCache`; under 1 ms for a log of 10,000 entries here, the
first proof after a start about 30 ms, hashing the log once). Six heartbeat
intervals: a peer that misses one round is down by the heartbeats' measure anyway,
and gets the head the next.

Tree heads and cosignatures go straight on the bus, as heartbeats do: a late one says
nothing, so a failed send is counted (``witness.head_failed``) and the next round
sends the head again. The relay numbers them from `RELAY_SEQ_BASE`: it signs as its
host party, whose node (possibly another process) numbers that party's messages from
1, and the two must never reuse a seq.
"""

from __future__ import annotations

import logging
import re
from typing import Final

from warnlink.counters import Counters
from warnlink.errors import ConfigError, TransportError, WitnessError
from warnlink.model import Envelope, SecurityLabel, new_envelope
from warnlink.model.payloads import INSTANCE_PATTERN, HeadCosignature, TreeHead
from warnlink.model.time import NS_PER_S, Clock
from warnlink.security.signing import PartyKeys, sign
from warnlink.sharing.audit import AuditLog, SignedHead, canonical
from warnlink.sharing.federation import Federation
from warnlink.sharing.replay import SeenStore, SeqAllocator
from warnlink.sharing.subjects import node_inbox
from warnlink.sharing.wire import publish_envelope
from warnlink.sharing.witness import RecordFile, cosignature_problem, decode_record
from warnlink.transport import Bus

log = logging.getLogger(__name__)

WITNESS_INTERVAL_S: Final = 30.0
RELAY_SEQ_BASE: Final = 2**62


class HeadRounds:
    """Sends `audit`'s signed heads to the relay host's link peers, keeps their
    countersignatures in `cosigned`; `log` names the relay instance (a standby relay
    keeps a log of its own, witnessed apart)."""

    def __init__(
        self,
        party: str,
        federation: Federation,
        bus: Bus,
        clock: Clock,
        *,
        audit: AuditLog,
        keys: PartyKeys,
        seen: SeenStore,
        counters: Counters,
        cosigned: RecordFile,
        log: str = "",
        interval_s: float = WITNESS_INTERVAL_S,
    ) -> None:
        if not re.match(INSTANCE_PATTERN, log):
            raise ConfigError(f"relay instance name {log!r}: up to 32 letters, digits, _ or -")
        self.party = party
        self.federation = federation
        self.bus = bus
        self.clock = clock
        self.audit = audit
        self.keys = keys
        self.counters = counters
        self.cosigned = cosigned
        self.log = log
        self.interval_ns = round(interval_s * NS_PER_S)
        self._seqs = SeqAllocator(seen)
        self._next_ns: int | None = None
        #: Per witness, the head it last said it holds: what the next proof starts from.
        self.witnessed: dict[str, SignedHead] = {}
        for record in cosigned.records:
            self.witnessed[record.witness] = record.head

    async def tick(self) -> int:
        """A round when one is due (the first at once); how many heads went out."""
        now = self.clock.now_ns()
        if self._next_ns is not None and now < self._next_ns:
            return 0
        self._next_ns = now + self.interval_ns
        return await self.send_heads()

    async def send_heads(self) -> int:
        """Sign a head if the log grew, and send it to every peer that lacks it."""
        if not len(self.audit):
            return 0  # an empty log: nothing to witness yet
        self.audit.sign_head()
        if not self.audit.heads:
            return 0  # a log without a signer: nothing to witness
        head = self.audit.heads[-1]
        sent = 0
        for peer in self.federation.peers(self.party):
            kept = self.witnessed.get(peer)
            if kept is not None and kept.tree_size >= head.tree_size:
                continue
            since = 0 if kept is None else kept.tree_size
            payload = TreeHead(
                trk_id=0,
                head=canonical(head),
                log=self.log,
                since=since,
                consistency=tuple(self.audit.consistency(since, head.tree_size)),
            )
            try:
                await publish_envelope(
                    self.bus, node_inbox(peer, self.party), self._issue(payload, peer)
                )
            except TransportError as exc:
                self.counters.inc("witness.head_failed")
                log.info("relay %s: no tree head to %s: %s", self.party, peer, exc)
                continue
            self.counters.inc("witness.head_sent")
            sent += 1
        return sent

    def _issue(self, payload: TreeHead, peer: str) -> Envelope:
        envelope = new_envelope(
            originator=self.party,
            seq=RELAY_SEQ_BASE + self._seqs.next(),
            created=self.clock.now_ns(),
            label=SecurityLabel(self.federation.classification, (peer,)),
            payload=payload,
            data_mode=None,
        )
        return sign(envelope, self.keys.own)

    def take(self, envelope: Envelope, payload: HeadCosignature) -> None:
        """Keep a witness's countersignature of one of this relay's heads.

        Raises:
            DecodeError: the record is not a witnessed head.
            WitnessError: it is not the sender's, does not verify, or countersigns a
                head this relay's log does not hold.
            StoreError: the cosigned file cannot be written.
        """
        record = decode_record(payload.record)
        witness = envelope.originator

        def refuse(rule: str, what: str) -> WitnessError:
            return WitnessError(
                f"{witness}'s cosignature: {what}",
                rule=rule,
                relay=self.party,
                msg_id=envelope.msg_id,
                party=self.party,
            )

        if record.log != self.log:
            raise refuse("forked", f"it countersigned instance {record.log!r}'s log")
        if record.witness != witness or record.head.signer != self.party:
            raise refuse(
                "wrong_signer", f"{record.witness} countersigned {record.head.signer}'s head"
            )
        problem = cosignature_problem(record, self.keys.keyset)
        if problem is not None:
            raise refuse("bad_head", problem)
        size = record.head.tree_size
        if not any(h.tree_size == size and h.root == record.head.root for h in self.audit.heads):
            raise refuse("forked", f"its head of {size} entries is not one of this log's")
        kept = self.witnessed.get(witness)
        self.witnessed[witness] = record.head
        if kept is None or kept.tree_size < size:
            self.cosigned.append(record)
            self.counters.inc("witness.cosigned")
