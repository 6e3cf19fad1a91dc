"""User reports: a player reports a user, a score, a chat message or a beatmapset."""
