"""Fuzz tests: see tests/fuzz/harness.py for how to run them longer."""
