"""knelpunt."""
