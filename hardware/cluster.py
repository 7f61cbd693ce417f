"""Layer 5 on a device: this camera's part in its intersection's PBFT cluster, over MQTT.

The camera runs the core's :class:`~edgeqi.consensus.cycle.CycleReplica`, the state
machine the simulator runs for every simulated camera, so both decide alike; this
module only gives it the wall clock, the camera's latest queues and the broker. Cycle
``k`` starts at ``k * cycle_s`` seconds of Unix time on every camera (their clocks are
NTP-synchronised, so no extra message is needed to agree on the numbering). The rules
(:class:`~edgeqi.consensus.cycle.CycleParams`) come from the ``consensus`` section of
``node.yaml``, with the simulator's values as defaults.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable, Mapping, Sequence

from edgeqi.consensus import KeyPair, Replica, Verifier
from edgeqi.consensus.cycle import CycleOutcome, CycleOutput, CycleParams, CycleReplica
from hardware.node_config import NodeRuntimeConfig
from netio.mqtt_consensus import Forward, MqttReplica, Stamp
from netio.mqtt_transport import broker_host_port

log = logging.getLogger(__name__)

Observe = Callable[[], Mapping[str, float]]
"""The camera's latest queue per approach it watches (vehicles)."""


class CameraCluster:
    """Reports, requests and decisions of one camera; call :meth:`step` often."""

    def __init__(
        self,
        cluster: str,
        members: Sequence[str],
        keys: KeyPair,
        public_keys: Mapping[str, bytes],
        visible: Mapping[str, Sequence[str]],
        observe: Observe,
        host: str,
        port: int,
        *,
        params: CycleParams,
        clock: Callable[[], float],
        username: str | None = None,
        password: str | None = None,
        stamp: Stamp | None = None,
        tls_context: ssl.SSLContext | None = None,
        reconnect_s: tuple[int, int] = (1, 30),
        forward: Forward | None = None,
    ) -> None:
        """``visible`` maps every member to the approaches its camera can see."""
        missing = [m for m in members if m not in public_keys]
        if missing:
            raise ValueError(f"cluster {cluster}: no public key for {', '.join(missing)}")
        if keys.node_id not in members:
            raise ValueError(f"{keys.node_id} is not a member of cluster {cluster}")
        self.params = params
        verifier = Verifier({m: public_keys[m] for m in members})
        self.machine = CycleReplica(params, cluster, members, keys.signer(), verifier, visible)
        self.observe = observe
        self.clock = clock
        self.current = -1
        self.outcomes: list[CycleOutcome] = []
        self.mqtt = MqttReplica(
            self.machine,
            host,
            port,
            clock=clock,
            username=username,
            password=password,
            stamp=stamp,
            tls_context=tls_context,
            reconnect_min_s=reconnect_s[0],
            reconnect_max_s=reconnect_s[1],
            forward=forward,
        )

    @classmethod
    def from_config(
        cls,
        cfg: NodeRuntimeConfig,
        approaches: Sequence[str],
        observe: Observe,
        *,
        clock: Callable[[], float],
        stamp: Stamp | None = None,
        forward: Forward | None = None,
    ) -> CameraCluster:
        """The cluster a node's ``node.yaml`` describes; ``approaches`` are its camera's."""
        from hardware.key_files import load_directory, load_keypair

        cc = cfg.consensus
        if cc is None:
            raise ValueError("node config has no consensus section")
        keys = load_keypair(cc.key_file, cfg.node_id)
        directory = load_directory(cc.directory_file)
        members = cc.peers or sorted(directory)
        if cfg.node_id not in members:
            members = [*members, cfg.node_id]
        host, port = broker_host_port(cfg.broker.url)
        tls = cfg.broker.tls
        context = None
        if tls is not None:
            from netio.mqtt_transport import MqttTls

            context = MqttTls(tls.ca_file, tls.cert_file, tls.key_file).context()
        return cls(
            cfg.cluster,
            members,
            keys,
            directory,
            # Which approaches a peer sees is not in this node's config: each camera of the
            # cluster is taken to see the same approaches, and the coverage rotates them.
            dict.fromkeys(members, tuple(approaches)),
            observe,
            host,
            port,
            params=cc,  # the section is the cycle's rules, keys and peers besides
            clock=clock,
            username=cfg.broker.username,
            password=cfg.broker.password(),
            stamp=stamp,
            tls_context=context,
            reconnect_s=(cfg.broker.reconnect_min_s, cfg.broker.reconnect_max_s),
            forward=forward,
        )

    @property
    def replica(self) -> Replica:
        return self.machine.replica

    @property
    def assigned(self) -> tuple[str, ...]:
        """The approaches this camera reports on next cycle."""
        return self.machine.assigned

    def wait_ready(self, timeout: float) -> bool:
        return self.mqtt.wait_ready(timeout)

    def step(self, timeout: float = 0.0) -> list[CycleOutcome]:
        """Start a cycle when its time has come, handle arrivals and timers; the outcomes
        of the cycles decided meanwhile."""
        outputs: list[CycleOutput] = []
        now = self.clock()
        cycle = int(now // self.params.cycle_s)
        if cycle > self.current:
            self.current = cycle
            latest = self.observe()
            queues = {a: float(latest.get(a, 0.0)) for a in self.machine.assigned}
            outputs.append(self.machine.start(now, cycle, queues))
            self.mqtt.publish(outputs[-1])
        outputs.extend(self.mqtt.step(timeout))
        new = [o for out in outputs for o in out.outcomes]
        for o in new:
            log.info(
                "consensus cycle %d decided: queues %s, plan cycle %.1f s split %.2f, "
                "suspects %s, next watch %s",
                o.cycle,
                {a: round(v, 3) for a, v in o.vehicles.items()},
                o.plan.cycle_s,
                o.plan.split_phase0,
                ",".join(sorted(o.suspects)) or "-",
                ",".join(o.coverage[self.machine.id]) or "-",
            )
        self.outcomes.extend(new)
        return new

    def close(self) -> None:
        self.mqtt.close()
