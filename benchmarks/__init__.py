"""Ingestion benchmarks: knelpunt side by side with pm4py. Run ``python -m benchmarks.run``."""
