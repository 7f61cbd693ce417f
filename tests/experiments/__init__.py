"""Tests of the lab: sweeps and reports, notebooks, the load test."""
