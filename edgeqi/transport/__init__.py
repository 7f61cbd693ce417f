"""Transports: how a node's protocol messages reach the backend.

``buffer`` is pure (a bounded priority store-and-forward queue); ``mqtt`` and
``memory`` are the thin I/O adapters around it that a runtime (the field node, the
simulator's hardware-in-the-loop mode) instantiates. Importing this package does
not import paho; ``netio.mqtt_transport`` does.
"""

from edgeqi.transport.base import Transport, TransportStats
from edgeqi.transport.buffer import Buffer, Envelope, ForwardBuffer, SendPriority, priority_of
from edgeqi.transport.memory import InMemoryTransport

__all__ = [
    "Buffer",
    "Envelope",
    "ForwardBuffer",
    "InMemoryTransport",
    "SendPriority",
    "Transport",
    "TransportStats",
    "priority_of",
]
