"""Notifiers: where rollout events and alerts are sent."""
