"""Bayit+ API: the media backend (catalog, live channels, users, watchlist) that keel releases and watches."""

__version__ = "1.0.0"
