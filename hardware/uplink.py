"""The node's uplink from its ``node.yaml``: the durable queue and the MQTT transport on it.

One place turns the ``broker`` and ``queue`` sections into objects, so the runtime,
the provisioning tests and a bench script connect exactly as a deployed node does.
The caller starts the transport (``transport.start()``) and, when done, closes the
transport first and the queue second (the queue outlives the connection).
"""

from __future__ import annotations

from dataclasses import dataclass

from edgeqi.transport.base import AckHook
from hardware.disk_buffer import DiskForwardBuffer
from hardware.node_config import NodeRuntimeConfig
from netio.mqtt_transport import MqttTls, MqttTransport, broker_host_port


@dataclass
class Uplink:
    transport: MqttTransport
    queue: DiskForwardBuffer

    def close(self) -> None:
        self.transport.close()
        self.queue.close()


def open_uplink(config: NodeRuntimeConfig, on_ack: AckHook | None = None) -> Uplink:
    """Open the queue file and build (not start) the transport the config describes."""
    broker = config.broker
    queue = DiskForwardBuffer(
        config.queue.path,
        capacity=config.queue.capacity_messages,
        capacity_bytes=config.queue.capacity_bytes,
        synchronous=config.queue.synchronous,
    )
    tls = None
    if broker.tls is not None:
        tls = MqttTls(broker.tls.ca_file, broker.tls.cert_file, broker.tls.key_file)
    host, port = broker_host_port(broker.url)
    try:
        transport = MqttTransport(
            host,
            port,
            config.client_id,
            username=broker.username,
            password=broker.password(),
            window=broker.window,
            keepalive=broker.keepalive_s,
            reconnect_min_s=broker.reconnect_min_s,
            reconnect_max_s=broker.reconnect_max_s,
            on_ack=on_ack,
            buffer=queue,
            tls=tls,
        )
    except (OSError, ValueError):
        queue.close()
        raise
    return Uplink(transport, queue)
