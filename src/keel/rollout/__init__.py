"""The rollout state machine: gated releases, canary steps, promotion and rollback."""
