"""Nothing acknowledged is lost when the broker dies (issue 17.2).

With the backend down, cam-001 publishes 1,000 QoS 1 messages that the broker
acknowledges and queues in the backend's persistent session; then the broker is
SIGKILLed (no shutdown save) and restarted. Before the fix 0 of 1,000 were stored
(Mosquitto saved only at shutdown or every 30 minutes); with the project's settings
(``autosave_on_changes``) every one is stored, exactly once.

The save follows an acknowledgement at the broker's next main-loop wake-up, not
before the PUBACK: for a shared subscription (the backend's) Mosquitto 2.0.11 lost the
latest message when killed at once, never after a pause of ``SAVE_WAKEUP_S``
(measured in this session; docs/deploy/provisioning.md states the window).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from backend.core.orm import MessageRow
from edgeqi.protocol import TOPIC_ROOT, encode
from tests.backend import factory as f
from tests.backend.adversarial.conftest import Backend, publish

N = 1000
SAVE_WAKEUP_S = 0.5


def test_messages_acknowledged_before_a_sigkill_are_stored_exactly_once(
    make_backend: Callable[..., Backend],
) -> None:
    backend = make_backend()
    backend.start()  # creates the persistent session and its subscription
    backend.stop()
    lines = b"\n".join(encode(f.log("cam-001", seq)) for seq in range(N))
    out = publish("cam-001", backend.broker, f"{TOPIC_ROOT}/nodes/cam-001/log", lines, lines=True)
    assert "failed" not in out.stderr
    time.sleep(SAVE_WAKEUP_S)
    backend.broker.kill()
    backend.broker.start()
    revived = make_backend()
    revived.start()
    deadline = time.monotonic() + 30
    while revived.stored() < N and time.monotonic() < deadline:
        time.sleep(0.05)
    revived.settle()
    assert revived.stored(MessageRow.node_id == "cam-001") == N
    assert revived.reasons() == []
