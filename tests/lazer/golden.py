"""Golden vectors: exact hub message bytes with the structures they encode, as test data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from core.lazer import Close, Completion, Float32, Invocation, Ping
from core.lazer.types import (
    APIMod,
    BeatmapAvailability,
    ChangeTeamRequest,
    CountdownStartedEvent,
    DownloadState,
    FrameDataBundle,
    FrameHeader,
    HitResult,
    InSoloGame,
    LegacyReplayFrame,
    MatchStartCountdown,
    MatchType,
    MultiplayerPlaylistItem,
    MultiplayerRoom,
    MultiplayerRoomSettings,
    MultiplayerRoomState,
    MultiplayerRoomUser,
    MultiplayerTeam,
    MultiplayerUserState,
    QueueMode,
    ScoreProcessorStatistics,
    SpectatedUserState,
    SpectatorState,
    StandardMatchRoomState,
    TeamVersusRoomState,
    UserPresence,
    UserStatus,
)
from core.lazer.wire import DTO, GUID, TIMESPAN, Wire


def h(text: str) -> bytes:
    return bytes.fromhex(text)


@dataclass(frozen=True)
class Frame:
    """One framed hub message (length prefix included)."""

    name: str
    data: bytes
    message: Any
    result_types: dict[str, Wire] | None = None


@dataclass(frozen=True)
class Value:
    """One value fragment (no framing)."""

    name: str
    data: bytes
    value: Any
    wire: Wire


DT = APIMod("DT", {"speed_change": 1.2})
HD = APIMod("HD", {})

SPECTATOR_STATE = SpectatorState(
    beatmap_id=129891,
    ruleset_id=0,
    mods=[HD, DT],
    state=SpectatedUserState.PLAYING,
    maximum_statistics={
        HitResult.GREAT: 300,
        HitResult.LARGE_TICK_HIT: 120,
        HitResult.SLIDER_TAIL_HIT: 150,
    },
)

FRAME_BUNDLE = FrameDataBundle(
    header=FrameHeader(
        total_score=123456,
        accuracy=0.98765,
        combo=42,
        max_combo=42,
        statistics={5: 40, 3: 2},
        score_processor_statistics=ScoreProcessorStatistics(12300.0, 12600.0, 42, 54321.5, 0.0),
        received_time=datetime(1, 1, 1, tzinfo=UTC),
        mods=[HD],
        total_score_without_mods=117577,
        pauses=[],
    ),
    frames=[
        LegacyReplayFrame(1234.5, 256.0, 192.0, 1),
        LegacyReplayFrame(1250.0, 260.25, 190.5, 0),
    ],
)

NEW_USER = MultiplayerRoomUser(
    user_id=2,
    state=MultiplayerUserState.IDLE,
    beatmap_availability=BeatmapAvailability(DownloadState.UNKNOWN, None),
)

ROOM = MultiplayerRoom(
    room_id=1001,
    state=MultiplayerRoomState.OPEN,
    settings=MultiplayerRoomSettings(
        "My room", 5001, "", MatchType.HEAD_TO_HEAD, QueueMode.HOST_ONLY, timedelta(0), False, None
    ),
    users=[NEW_USER],
    host=NEW_USER,
    match_state=StandardMatchRoomState(False, None),
    playlist=[
        MultiplayerPlaylistItem(
            5001, 2, 129891, "a5b99395a42bd55bc5eb1d2411cbdf8b", 0, [], [], False, 0, None, 5.12
        )
    ],
    active_countdowns=[],
    channel_id=77,
)

IN_SOLO = InSoloGame(129891, "Artist - Title (Mapper) [Insane]", 0, "Clicking circles")

ERROR_TEXT = (
    "An unexpected error occurred invoking 'StartMatch' on the server. NotHostException: "
    "User is attempting to perform a host level operation while not the host"
)

FRAMES: list[Frame] = [
    Frame("GV1 ping", h("02 91 06"), Ping()),
    Frame("GV1 close", h("04 93 07 c0 c2"), Close(None, False)),
    Frame(
        "GV2 BeginPlaySessionV2",
        h(
            "52 96 01 80 a1 31 b2 42 65 67 69 6e 50 6c 61 79 53 65 73 73 69 6f 6e 56 32 92 ce 3a"
            " de 68 b1 95 ce 00 01 fb 63 00 92 92 a2 48 44 90 92 a2 44 54 91 ac 73 70 65 65 64 5f"
            " 63 68 61 6e 67 65 cb 3f f3 33 33 33 33 33 33 01 83 05 cd 01 2c 0a 78 10 cc 96 90"
        ),
        Invocation("BeginPlaySessionV2", [987654321, SPECTATOR_STATE], "1"),
    ),
    Frame(
        "GV3 SendFrameDataV2",
        h(
            "a0 01 96 01 80 c0 af 53 65 6e 64 46 72 61 6d 65 44 61 74 61 56 32 92 ce 3a de 68 b1"
            " 92 9a ce 00 01 e2 40 cb 3f ef 9a d4 2c 3c 9e ed 2a 2a 82 05 28 03 02 95 cb 40 c8 06"
            " 00 00 00 00 00 cb 40 c8 9c 00 00 00 00 00 2a cb 40 ea 86 30 00 00 00 00 cb 00 00 00"
            " 00 00 00 00 00 92 c7 0c ff 00 00 00 00 ff ff ff f1 88 6e 09 00 00 91 92 a2 48 44 90"
            " ce 00 01 cb 49 90 92 94 cb 40 93 4a 00 00 00 00 00 ca 43 80 00 00 ca 43 40 00 00 01"
            " 94 cb 40 93 88 00 00 00 00 00 ca 43 82 20 00 ca 43 3e 80 00 00 90"
        ),
        Invocation("SendFrameDataV2", [987654321, FRAME_BUNDLE], None),
    ),
    Frame("GV4 void completion", h("06 94 03 80 a1 31 02"), Completion("1")),
    Frame(
        "GV4 error completion",
        h("a3 01 95 03 80 a1 32 01 d9 9b") + ERROR_TEXT.encode(),
        Completion("2", error=ERROR_TEXT),
    ),
    Frame(
        "GV5 UserStateChanged",
        h("1b 96 01 80 c0 b0 55 73 65 72 53 74 61 74 65 43 68 61 6e 67 65 64 92 cd 04 d2 01 90"),
        Invocation("UserStateChanged", [1234, MultiplayerUserState.READY]),
    ),
    Frame(
        "GV5 MatchEvent",
        h(
            "1d 96 01 80 c0 aa 4d 61 74 63 68 45 76 65 6e 74 91 92 00 91 92 00 92 01 ce 11 e1 a3"
            " 00 90"
        ),
        Invocation(
            "MatchEvent",
            [CountdownStartedEvent(MatchStartCountdown(1, timedelta(seconds=30)))],
        ),
    ),
    Frame(
        "GV6 MatchRoomStateChanged",
        h(
            "39 96 01 80 c0 b5 4d 61 74 63 68 52 6f 6f 6d 53 74 61 74 65 43 68 61 6e 67 65 64 91"
            " 92 00 93 92 92 00 a8 54 65 61 6d 20 52 65 64 92 01 a9 54 65 61 6d 20 42 6c 75 65 c2"
            " c0 90"
        ),
        Invocation(
            "MatchRoomStateChanged",
            [
                TeamVersusRoomState(
                    [MultiplayerTeam(0, "Team Red"), MultiplayerTeam(1, "Team Blue")], False, None
                )
            ],
        ),
    ),
    Frame(
        "GV6 SendMatchRequest",
        h("1c 96 01 80 a1 33 b0 53 65 6e 64 4d 61 74 63 68 52 65 71 75 65 73 74 91 92 00 91 01 90"),
        Invocation("SendMatchRequest", [ChangeTeamRequest(1)], "3"),
    ),
    Frame(
        "GV7 CreateRoom result",
        h(
            "7b 95 03 80 a1 34 03 99 cd 03 e9 00 98 a7 4d 79 20 72 6f 6f 6d cd 13 89 a0 01 00 00"
            " c2 c0 91 99 02 00 92 00 c0 90 c0 c0 c0 c2 00 99 02 00 92 00 c0 90 c0 c0 c0 c2 00 92"
            " 03 93 c0 c2 c0 91 9c cd 13 89 02 ce 00 01 fb 63 d9 20 61 35 62 39 39 33 39 35 61 34"
            " 32 62 64 35 35 62 63 35 65 62 31 64 32 34 31 31 63 62 64 66 38 62 00 90 90 c2 00 c0"
            " cb 40 14 7a e1 47 ae 14 7b c2 90 4d"
        ),
        Completion("4", ROOM),
        {"4": MultiplayerRoom},
    ),
    Frame(
        "GV8 UpdateActivity",
        h(
            "52 96 01 80 a1 35 ae 55 70 64 61 74 65 41 63 74 69 76 69 74 79 91 92 0c 94 ce 00 01"
            " fb 63 d9 20 41 72 74 69 73 74 20 2d 20 54 69 74 6c 65 20 28 4d 61 70 70 65 72 29 20"
            " 5b 49 6e 73 61 6e 65 5d 00 b0 43 6c 69 63 6b 69 6e 67 20 63 69 72 63 6c 65 73 90"
        ),
        Invocation("UpdateActivity", [IN_SOLO], "5"),
    ),
    Frame(
        "GV8 UserPresenceUpdated",
        h(
            "59 96 01 80 c0 b3 55 73 65 72 50 72 65 73 65 6e 63 65 55 70 64 61 74 65 64 92 02 92"
            " 92 0c 94 ce 00 01 fb 63 d9 20 41 72 74 69 73 74 20 2d 20 54 69 74 6c 65 20 28 4d 61"
            " 70 70 65 72 29 20 5b 49 6e 73 61 6e 65 5d 00 b0 43 6c 69 63 6b 69 6e 67 20 63 69 72"
            " 63 6c 65 73 02 90"
        ),
        Invocation("UserPresenceUpdated", [2, UserPresence(IN_SOLO, UserStatus.ONLINE)]),
    ),
    Frame(
        "GV8 UserPresenceUpdated offline",
        h("1c 96 01 80 c0 b3 55 73 65 72 50 72 65 73 65 6e 63 65 55 70 64 61 74 65 64 92 02 c0 90"),
        Invocation("UserPresenceUpdated", [2, None]),
    ),
]

VALUES: list[Value] = [
    Value("APIMod HD", h("92 a2 48 44 90"), HD, APIMod),
    Value(
        "APIMod DT speed_change",
        h("92 a2 44 54 91 ac 73 70 65 65 64 5f 63 68 61 6e 67 65 cb 3f f3 33 33 33 33 33 33"),
        DT,
        APIMod,
    ),
    Value(
        "APIMod DA approach_rate",
        h("92 a2 44 41 91 ad 61 70 70 72 6f 61 63 68 5f 72 61 74 65 ca 41 18 00 00"),
        APIMod("DA", {"approach_rate": Float32(9.5)}),
        APIMod,
    ),
    Value(
        "APIMod DA two settings",
        h(
            "92 a2 44 41 92 ab 63 69 72 63 6c 65 5f 73 69 7a 65 ca 40 80 00 00 ad 61 70 70 72 6f"
            " 61 63 68 5f 72 61 74 65 ca 41 18 00 00"
        ),
        APIMod("DA", {"circle_size": Float32(4), "approach_rate": Float32(9.5)}),
        APIMod,
    ),
    Value(
        "APIMod RD seed",
        h("92 a2 52 44 91 a4 73 65 65 64 d2 00 00 05 39"),
        APIMod("RD", {"seed": 1337}),
        APIMod,
    ),
    Value("TimeSpan 30 s", h("ce 11 e1 a3 00"), timedelta(seconds=30), TIMESPAN),
    Value(
        "DTO 2026-01-01Z",
        h("92 d6 ff 69 55 b9 00 00"),
        datetime(2026, 1, 1, tzinfo=UTC),
        DTO,
    ),
    Value(
        "DTO 2026-01-01T02:00+02:00",
        h("92 d6 ff 69 55 d5 20 78"),
        datetime(2026, 1, 1, 2, tzinfo=timezone(timedelta(hours=2))),
        DTO,
    ),
    Value(
        "DTO 2026-01-01T00:00:00.5Z",
        h("92 d7 ff 77 35 94 00 69 55 b9 00 00"),
        datetime(2026, 1, 1, 0, 0, 0, 500000, tzinfo=UTC),
        DTO,
    ),
    Value(
        "DTO default",
        h("92 c7 0c ff 00 00 00 00 ff ff ff f1 88 6e 09 00 00"),
        datetime(1, 1, 1, tzinfo=UTC),
        DTO,
    ),
    Value(
        "Guid",
        h(
            "d9 24 30 66 38 66 61 64 35 62 2d 64 39 63 62 2d 34 36 39 66 2d 61 31 36 35 2d 37 30"
            " 38 36 37 37 32 38 39 35 30 65"
        ),
        "0f8fad5b-d9cb-469f-a165-70867728950e",
        GUID,
    ),
    Value(
        "MultiplayerRoomUser new player",
        h("99 02 00 92 00 c0 90 c0 c0 c0 c2 00"),
        NEW_USER,
        MultiplayerRoomUser,
    ),
]

# GV1's handshake lines are JSON text, not MessagePack: checked as literal bytes only.
HANDSHAKE_REQUEST = h(
    "7b 22 70 72 6f 74 6f 63 6f 6c 22 3a 22 6d 65 73 73 61 67 65 70 61 63 6b 22 2c 22 76 65 72"
    " 73 69 6f 6e 22 3a 31 7d 1e"
)
HANDSHAKE_RESPONSE = h("7b 7d 1e")
