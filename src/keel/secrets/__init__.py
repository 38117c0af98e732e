"""Secret providers and rotation."""
