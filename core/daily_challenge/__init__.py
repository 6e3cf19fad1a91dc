"""The daily challenge: one playlists room a day (category `daily_challenge`), its map pool, and
each player's daily challenge statistics (osu-web `DailyChallengeUserStats`)."""
