"""warnlink.transport: the bus between nodes.

`Bus` and `Subscription` are the interface (`base`); `MemoryBus` is the embedded
implementation over a SQLite durable log. Subject rules live in `subjects`.
"""

from warnlink.transport.base import Bus, Delivery, PublishAck, Subscription
from warnlink.transport.memory import MemoryBus

__all__ = ["Bus", "Delivery", "MemoryBus", "PublishAck", "Subscription"]
