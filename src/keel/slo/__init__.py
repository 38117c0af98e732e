"""Service-level objectives, burn-rate alerts and their generators."""
