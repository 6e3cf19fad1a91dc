"""Medals (osu-web "achievements"): the catalogue, who holds which, and awarding them.

`catalogue` loads the official medal list from `catalogue.json` (ids, names, descriptions,
grouping, ordering and icon URLs as osu-web's `achievements` table has them); `store` holds
`user_achievements` (one row per user and medal, never two); `awarding` runs the rules plugins
give through the `medal_rules` hook over a processed score and tells the player.

Ids 242-245 (osu! 9* and 10* skill medals) and their descriptions are hitcircle's choice: they
could not be checked against osu-web's data and may differ from the official ones.
"""
