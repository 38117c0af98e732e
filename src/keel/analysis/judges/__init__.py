"""Judges: pure functions of the canary's (and baseline's) windows that give a verdict with reasons."""
