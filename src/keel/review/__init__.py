"""Production-readiness review."""
