"""Benchmarks, run by hand with their figures in BENCHMARKS.md: simulator, consensus,
perception, ingest, API."""
