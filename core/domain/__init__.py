"""Rules shared by the surfaces: users, beatmaps, scores, statistics, pp, rankings.

Each module holds one area's tables (on `core.schema.metadata`) and the SQL that reads and writes
them; `core.schema` imports every module here, so a new area needs no registration.
"""
