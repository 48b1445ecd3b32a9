"""Process mining on the store's events: projections, maps, variants, cases."""
