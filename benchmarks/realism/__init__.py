"""Realism of simulated logs: measured in a separate environment (see benchmarks/simulation.py)."""
