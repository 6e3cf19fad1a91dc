"""Users: accounts (`store`, `accounts`), profiles and their JSON shapes (`profiles`), and
per-ruleset statistics (`user_statistics` for the tables and rules, `statistics` for the
shape)."""
