"""Declarative smoke and latency-regression suites."""
