"""Alembic environment and versions; run through `hitcircle migrate` (core.migrate)."""
