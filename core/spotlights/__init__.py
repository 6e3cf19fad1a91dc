"""Spotlights (ranking charts): an operator's list of beatmapsets and a time window, and the
ranking of players by their best scores on those maps within it (osu-web `Spotlight`)."""
