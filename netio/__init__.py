"""I/O adapters beside the pure node core: MQTT transport, network loop, PBFT over MQTT.

The core (:mod:`edgeqi`) never opens a socket or reads a clock; these modules do both for the
field runtime (`hardware/`) and the simulator's hardware-in-the-loop mode."""
