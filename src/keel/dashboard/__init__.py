"""The web dashboard and dashboard exports."""
