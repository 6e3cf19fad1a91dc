"""Read what the server needs from a `.osu` file: metadata, ids, difficulty settings, lengths.

Star rating and max combo come from rosu-pp-py (`core.beatmaps.difficulty`); everything here is
plain text parsing, cheap enough for the event loop on files of the sizes `archive` allows.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from dataclasses import dataclass, field


class OsuFileError(ValueError):
    """The file is not a usable `.osu`; `str()` says why in one line."""


@dataclass
class OsuFile:
    checksum: str
    mode: int = 0
    title: str = ""
    title_unicode: str = ""
    artist: str = ""
    artist_unicode: str = ""
    creator: str = ""
    version: str = ""
    source: str = ""
    tags: str = ""
    beatmap_id: int = 0
    beatmapset_id: int = 0
    hp: float = 5.0
    cs: float = 5.0
    od: float = 5.0
    ar: float | None = None
    count_circles: int = 0
    count_sliders: int = 0
    count_spinners: int = 0
    total_length: int = 0
    hit_length: int = 0
    bpm: float = 0.0
    audio_filename: str = ""
    preview_time: int = -1
    video: bool = False
    storyboard: bool = False
    sections: set[str] = field(default_factory=set)

    @property
    def approach_rate(self) -> float:
        # Files older than v8 have no ApproachRate: it equals OverallDifficulty.
        return self.od if self.ar is None else self.ar


MAX_OBJECTS = 100_000


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM) only: anything else is refused, never guessed."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise OsuFileError(f"not UTF-8 text (byte {exc.start})") from None
    if "\x00" in text:
        raise OsuFileError("contains NUL bytes")
    return text


def parse(data: bytes) -> OsuFile:
    text = decode(data)
    lines = text.splitlines()
    if not lines or not lines[0].strip().startswith("osu file format v"):
        raise OsuFileError("missing the 'osu file format' header")
    result = OsuFile(checksum=hashlib.md5(data).hexdigest())
    section = ""
    timing: list[tuple[float, float, bool]] = []  # time, beat length, uninherited
    breaks: list[tuple[float, float]] = []
    objects: list[tuple[float, float]] = []  # start, end
    slider_multiplier = 1.4
    for raw in lines[1:]:
        line = raw.strip()
        if not line or line.startswith("//"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            result.sections.add(section)
            continue
        if section in ("General", "Metadata", "Difficulty"):
            key, sep, value = line.partition(":")
            if not sep:
                continue
            key, value = key.strip(), value.strip()
            try:
                slider_multiplier = _key_value(result, key, value, slider_multiplier)
            except ValueError:
                raise OsuFileError(f"bad value for {key}: {value[:40]!r}") from None
        elif section == "Events":
            _event(result, line, breaks)
        elif section == "TimingPoints":
            parts = line.split(",")
            try:
                time, beat_length = float(parts[0]), float(parts[1])
            except (ValueError, IndexError):
                raise OsuFileError(f"bad timing point: {line[:40]!r}") from None
            uninherited = len(parts) < 7 or parts[6].strip() != "0"
            if not (math.isfinite(time) and math.isfinite(beat_length)):
                raise OsuFileError("timing point out of range")
            timing.append((time, beat_length, uninherited and beat_length > 0))
        elif section == "HitObjects":
            if len(objects) >= MAX_OBJECTS:
                raise OsuFileError(f"more than {MAX_OBJECTS} hit objects")
            objects.append(_hit_object(result, line, timing, slider_multiplier))
    if "HitObjects" not in result.sections:
        raise OsuFileError("no [HitObjects] section")
    if result.mode not in (0, 1, 2, 3):
        raise OsuFileError(f"unknown mode {result.mode}")
    _lengths(result, objects, breaks)
    result.bpm = _bpm(timing, objects)
    return result


def _key_value(result: OsuFile, key: str, value: str, slider_multiplier: float) -> float:
    text_keys = {
        "Title": "title",
        "TitleUnicode": "title_unicode",
        "Artist": "artist",
        "ArtistUnicode": "artist_unicode",
        "Creator": "creator",
        "Version": "version",
        "Source": "source",
        "Tags": "tags",
        "AudioFilename": "audio_filename",
    }
    float_keys = {
        "HPDrainRate": "hp",
        "CircleSize": "cs",
        "OverallDifficulty": "od",
        "ApproachRate": "ar",
    }
    if key in text_keys:
        setattr(result, text_keys[key], value[:255])
    elif key in float_keys:
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(value)
        setattr(result, float_keys[key], min(max(number, 0.0), 11.0))
    elif key == "Mode":
        result.mode = int(value)
    elif key == "BeatmapID":
        result.beatmap_id = _id(value)
    elif key == "BeatmapSetID":
        result.beatmapset_id = _id(value)
    elif key == "PreviewTime":
        result.preview_time = int(float(value))
    elif key == "SliderMultiplier":
        number = float(value)
        if math.isfinite(number) and number > 0:
            return min(number, 10.0)
    return slider_multiplier


def _id(value: str) -> int:
    number = int(value)
    # osu! ids are 32-bit on the client; anything else is treated as "no id".
    return number if 0 < number < 2**31 else 0


def _event(result: OsuFile, line: str, breaks: list[tuple[float, float]]) -> None:
    parts = [p.strip() for p in line.split(",")]
    kind = parts[0]
    if kind in ("2", "Break") and len(parts) >= 3:
        try:
            breaks.append((float(parts[1]), float(parts[2])))
        except ValueError:
            pass
    elif kind in ("1", "Video"):
        result.video = True
    elif kind in ("Sprite", "Animation", "4", "6"):
        result.storyboard = True


def _hit_object(
    result: OsuFile, line: str, timing: list[tuple[float, float, bool]], multiplier: float
) -> tuple[float, float]:
    parts = line.split(",")
    try:
        time = float(parts[2])
        kind = int(parts[3])
    except (ValueError, IndexError):
        raise OsuFileError(f"bad hit object: {line[:40]!r}") from None
    if not math.isfinite(time):
        raise OsuFileError("hit object time out of range")
    end = time
    if kind & 2:  # slider: length / (multiplier * 100 * sv) * beat length * slides
        result.count_sliders += 1
        try:
            slides = max(1, min(int(parts[6]), 1000))
            length = max(0.0, float(parts[7])) if len(parts) > 7 else 0.0
        except (ValueError, IndexError):
            raise OsuFileError(f"bad slider: {line[:40]!r}") from None
        beat_length, sv = _timing_at(timing, time)
        if math.isfinite(length):
            end = time + length / (multiplier * 100 * sv) * beat_length * slides
    elif kind & 8 or kind & 128:  # spinner, or mania hold note
        if kind & 8:
            result.count_spinners += 1
        else:
            result.count_sliders += 1
        try:
            end_value = float(parts[5].split(":")[0])
        except (ValueError, IndexError):
            end_value = time
        if math.isfinite(end_value):
            end = max(time, end_value)
    else:
        result.count_circles += 1
    return time, end


def _timing_at(timing: list[tuple[float, float, bool]], time: float) -> tuple[float, float]:
    # Before the first red line, that line's beat length applies.
    beat_length = next((value for _, value, uninherited in timing if uninherited), 500.0)
    sv = 1.0
    for point_time, value, uninherited in timing:
        if point_time > time:
            break
        if uninherited:
            beat_length, sv = value, 1.0
        elif value < 0:
            sv = min(max(-100.0 / value, 0.1), 10.0)
    return beat_length, sv


def _lengths(
    result: OsuFile, objects: list[tuple[float, float]], breaks: list[tuple[float, float]]
) -> None:
    if not objects:
        return
    first = min(start for start, _ in objects)
    last = max(end for _, end in objects)
    paused = sum(max(0.0, end - start) for start, end in breaks if first <= start <= last)
    result.total_length = max(0, int(last // 1000))
    result.hit_length = max(0, int((last - first - paused) // 1000))


def _bpm(timing: list[tuple[float, float, bool]], objects: list[tuple[float, float]]) -> float:
    """The most common BPM by time covered, as osu! shows it."""
    red = [(t, length) for t, length, uninherited in timing if uninherited]
    if not red:
        return 0.0
    last = max((end for _, end in objects), default=red[-1][0])
    # beat length -> milliseconds of the map it covers
    durations: defaultdict[float, float] = defaultdict(float)
    for i, (time, length) in enumerate(red):
        until = red[i + 1][0] if i + 1 < len(red) else last
        durations[round(length, 3)] += max(0.0, until - (time if i else min(time, 0.0)))
    beat_length = max(durations.items(), key=lambda kv: (kv[1], -kv[0]))[0]
    return round(60000 / beat_length, 3) if beat_length > 0 else 0.0
