"""Metric sources: where per-revision request counts, errors and latency histograms come from."""
