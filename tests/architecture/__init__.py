"""Tests of the project's structure: import contracts, module names."""
