"""Benchmark: native vs pure-Python lazer codec on a realistic spectator FrameDataBundle.

Run by hand (not a test): `python tests/bench/bench_codec.py [--frames N] [--seconds S]`.
Prints ops/s for encode and decode, as a bare value and as a framed SendFrameDataV2 hub message
(what the spectator hub receives and relays), and the native/Python ratio.
"""

from __future__ import annotations

import argparse
import random
import struct
import sys
import timeit
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from core.lazer import Invocation, available_codecs, node_id
from core.lazer.types import (
    APIMod,
    FrameDataBundle,
    FrameHeader,
    HitResult,
    LegacyReplayFrame,
    ScoreProcessorStatistics,
)


def _f32(x: float) -> float:
    """x rounded to float32, as the client's mouse positions are."""
    return struct.unpack(">f", struct.pack(">f", x))[0]


def bundle(frames: int, seed: int = 1) -> FrameDataBundle:
    """What a client sends about every second of osu! gameplay: one header, N replay frames."""
    rng = random.Random(seed)
    time = 61234.5
    replay = []
    for _ in range(frames):
        time += rng.uniform(8.0, 25.0)
        replay.append(
            LegacyReplayFrame(
                time,
                _f32(rng.uniform(0, 512)),
                _f32(rng.uniform(0, 384)),
                rng.choice([0, 1, 2, 5, 10]),
            )
        )
    header = FrameHeader(
        total_score=734_512,
        accuracy=0.9712345,
        combo=312,
        max_combo=540,
        statistics={
            HitResult.GREAT: 512,
            HitResult.OK: 21,
            HitResult.MEH: 3,
            HitResult.MISS: 4,
            HitResult.LARGE_TICK_HIT: 180,
            HitResult.SLIDER_TAIL_HIT: 160,
        },
        score_processor_statistics=ScoreProcessorStatistics(512345.0, 601234.0, 540, 0.87, 0.0),
        received_time=datetime(1, 1, 1, tzinfo=UTC),
        mods=[APIMod("HD"), APIMod("DT", {"speed_change": 1.5}), APIMod("CL")],
        total_score_without_mods=652_003,
        pauses=[],
    )
    return FrameDataBundle(header, replay)


def ops_per_second(fn: Callable[[], Any], seconds: float) -> float:
    timer = timeit.Timer(fn)
    loops, _ = timer.autorange()
    repeats = max(3, int(seconds / 0.2))
    best = min(timer.repeat(repeat=repeats, number=loops))
    return loops / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=45)
    parser.add_argument("--seconds", type=float, default=1.5, help="time per measurement")
    args = parser.parse_args()

    codecs = available_codecs()
    if "native" not in codecs:
        print("hitcircle_native is not built (or HITCIRCLE_PURE_CODEC is set): Python only")
    value = bundle(args.frames)
    node = node_id(FrameDataBundle)
    message = Invocation("SendFrameDataV2", [987654321, value])
    any_codec = next(iter(codecs.values()))
    data = any_codec.encode(value, node)
    frame = any_codec.encode_frame(message)
    for codec in codecs.values():  # both must produce the same bytes before we time them
        assert codec.encode(value, node) == data and codec.encode_frame(message) == frame
        assert codec.decode(data, node) == value

    cases: dict[str, Callable[[Any], Callable[[], Any]]] = {
        "encode value": lambda c: lambda: c.encode(value, node),
        "decode value": lambda c: lambda: c.decode(data, node),
        "encode frame": lambda c: lambda: c.encode_frame(message),
        "decode frame": lambda c: lambda: c.decode_frames(frame, 1 << 16, None),
    }
    print(
        f"FrameDataBundle: {args.frames} frames, {len(data)} bytes "
        f"({len(frame)} framed as SendFrameDataV2); Python {sys.version.split()[0]}"
    )
    print(f"{'operation':<14}" + "".join(f"{name + ' ops/s':>16}" for name in codecs) + "   ratio")
    for label, make in cases.items():
        rates = {name: ops_per_second(make(codec), args.seconds) for name, codec in codecs.items()}
        ratio = f"{rates['native'] / rates['python']:7.1f}x" if "native" in rates else ""
        print(f"{label:<14}" + "".join(f"{rate:>16,.0f}" for rate in rates.values()) + ratio)


if __name__ == "__main__":
    main()
