"""Teams (osu-web `teams`): a named group of players with one leader, shown on user cards."""
