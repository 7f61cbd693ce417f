"""Jetson / Raspberry Pi runtime pieces: power and health sensors, service supervision.

Everything here talks to the device (sysfs, I2C, ``tegrastats``, systemd); the node
core in ``edgeqi/`` stays free of I/O and is handed what these modules read.
"""
