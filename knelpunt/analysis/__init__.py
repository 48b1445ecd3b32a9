"""Analysis: why cases wait (the waiting-cause split) and whose decision causes it (blockers)."""
