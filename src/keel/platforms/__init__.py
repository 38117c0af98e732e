"""Where revisions run: the platform protocol and its implementations (local processes, Cloud Run)."""
