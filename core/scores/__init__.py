"""Scores: submission, pp, views (tables and SQL are in core.scores.store)."""
