"""Simulation of a social team's case handling, and live capture of training simulations."""
