"""Canary analysis: metric sources, statistics and the judges that give a verdict."""
