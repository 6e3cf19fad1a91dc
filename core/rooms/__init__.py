"""Rooms: item rules, room scores and JSON shapes shared by the hub and the API.

Tables and SQL are in core.rooms.store.
"""
