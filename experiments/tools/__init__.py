"""Operator tools: consensus keys, node provisioning, the detector cache, calibration, detection."""
