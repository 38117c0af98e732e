"""Alembic migrations of the Bayit+ schema."""
