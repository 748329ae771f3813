"""Where a node's and a relay's durable state lives: files in a data folder, or memory.

A node with a data folder keeps, beside its audit logs, the gateway's outbox
(``outbox-<party>.sqlite``: what it sent and the bus has not acknowledged), its
sent-archive (``sent-<party>.sqlite``: what the bus acknowledged, kept an hour to answer
a `ResendRequest`), its applied-log (``applied-<party>.sqlite``: every message its
picture applied, its own included, in order) and its seen-store
(``seen-<party>-node.sqlite``: replay protection). A relay keeps its audit log
(``relay-<party>.jsonl``), the countersignatures of its witnesses
(``cosigned-relay-<party>.jsonl``), seen-store and outbox
(``outbox-<party>-relay.sqlite``); a node, the relays' heads it witnessed
(``witness-<party>-relay-<relay>.jsonl``, `sharing.witness`).
Without a folder every store is in memory (tests).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from warnlink.counters import Counters
from warnlink.model.time import Clock
from warnlink.security.signing import PartyKeys
from warnlink.sharing.audit import AuditLog
from warnlink.sharing.federation import Federation
from warnlink.sharing.outbox import Outbox
from warnlink.sharing.relay import Relay
from warnlink.sharing.replay import MemorySeenStore, SeenStore, SqliteSeenStore
from warnlink.sharing.witness import RecordFile, cosigned_path
from warnlink.transport import Bus
from warnlink.transport.queue_store import MemoryQueueStore, QueueStore, SqliteQueueStore


class GroupCommit:
    """One consumer batch's writes made durable at once (`node.consume`), before its ack.

    `begin` makes the seen-stores hold what they are told (dropping what an earlier,
    failed try of the batch held); the batch is handled (applied entries appended
    `deferred`: committed, not synced; products published pipelined); `commit` then
    waits for the outboxes' answers, syncs the logs (one disk sync each) and only
    after that writes the seen entries (one transaction each). So no seen entry is on
    disk before the message it marks handled is applied durably and its products are
    in the next log: a crash or a power cut anywhere in between makes the batch come
    again (not acked), and each message is applied once (the applied-log says it was).

    Args:
        logs: stores appended with ``deferred=True`` in the batch (the applied-log).
        seen: seen-stores of the handlers.
        outboxes: pipelined outboxes the handlers publish through (the relay's).
    """

    def __init__(
        self,
        logs: Sequence[QueueStore] = (),
        seen: Sequence[SeenStore] = (),
        outboxes: Sequence[Outbox] = (),
    ) -> None:
        self.logs = tuple(logs)
        self.seen = tuple(seen)
        self.outboxes = tuple(outboxes)

    def begin(self) -> None:
        """Start holding seen entries for the batch, anew."""
        for store in self.seen:
            store.defer()

    async def commit(self) -> None:
        """Settle the outboxes, sync the logs, then write the seen entries; the batch may
        be acked after it.

        Raises:
            StoreError: a store failed, or a failed product could not be kept: the
                batch is to be handled again (from `begin`).
        """
        for outbox in self.outboxes:
            await outbox.settle()
        for log in self.logs:
            log.sync()
        for store in self.seen:
            store.commit()


def seen_store(audit_dir: Path | None, party: str, role: str) -> SeenStore:
    """The seen-store of `party`'s `role` (``node`` or ``relay``): a file in
    `audit_dir`, or memory when None."""
    if audit_dir is None:
        return MemorySeenStore()
    return SqliteSeenStore(audit_dir / f"seen-{party}-{role}.sqlite")


def queue_store(
    folder: Path | None, name: str, what: str, *, synchronous: str = "FULL"
) -> QueueStore:
    """A durable queue ``<name>.sqlite`` in `folder`, or memory when None."""
    if folder is None:
        return MemoryQueueStore()
    return SqliteQueueStore(folder / f"{name}.sqlite", what=what, synchronous=synchronous)


def sent_archive(folder: Path | None, party: str, clock: Clock) -> QueueStore:
    """`party`'s sent-archive in `folder` (memory when None). Made anew beside an
    outbox that already exists (the node sent before it had one: an upgrade, a file
    removed), it says it holds nothing sent before now."""
    if folder is None:
        return MemoryQueueStore()
    path = folder / f"sent-{party}.sqlite"
    anew = not path.exists() and (folder / f"outbox-{party}.sqlite").exists()
    archive = SqliteQueueStore(path, what="sent archive", synchronous="NORMAL")
    if anew:
        archive.mark_pruned(clock.now_ns())
    return archive


def build_relay(
    party: str,
    federation: Federation,
    bus: Bus,
    clock: Clock,
    keys: PartyKeys,
    folder: Path | None,
    counters: Counters,
    *,
    instance: str = "",
) -> Relay:
    """`party`'s relay, its audit log (heads signed with its key) and seen-store in
    `folder` (in memory when None)."""
    return Relay(
        party,
        federation,
        bus,
        clock,
        audit=AuditLog(folder / f"relay-{party}.jsonl" if folder else None, keys.own, clock=clock),
        counters=counters,
        keys=keys,
        seen=seen_store(folder, party, "relay"),
        outbox=queue_store(folder, f"outbox-{party}-relay", "relay outbox"),
        cosigned=RecordFile(cosigned_path(folder, party) if folder else None),
        instance=instance,
    )


def close_relay(relay: Relay) -> None:
    """Close `relay`'s audit log, seen-store and outbox."""
    relay.audit.close()
    relay.replay.store.close()
    relay.outbox.store.close()
