"""Beatmap logic shared by the surfaces: .osu parsing, archives, difficulty, sources, shapes."""
