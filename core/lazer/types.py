"""The lazer hub types (ppy/osu osu.Game/Online/**): dataclasses plus their MessagePack layouts.

Each member is declared with `key(index, wire, default)`: the index is the C# `[Key(n)]`, the
wire type says how the value travels, the default is what an older client's shorter array leaves
in place. Both codecs are driven by these declarations; adding a type needs no codec change.
Classes are declared before the unions and types that reference them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import IntEnum, IntFlag
from typing import Any

from .wire import (
    BOOL,
    DTO,
    F32,
    F64,
    GUID,
    I32,
    I64,
    SETTINGS,
    STR,
    TIMESPAN,
    U8,
    U16,
    U32,
    U64,
    EnumOf,
    ListOf,
    MapOf,
    Opt,
    TupleOf,
    Union,
    hub_object,
    key,
)

# --- enums (their C# integer values) ---------------------------------------------------------


class HitResult(IntEnum):
    NONE = 0
    MISS = 1
    MEH = 2
    OK = 3
    GOOD = 4
    GREAT = 5
    PERFECT = 6
    SMALL_TICK_MISS = 7
    SMALL_TICK_HIT = 8
    LARGE_TICK_MISS = 9
    LARGE_TICK_HIT = 10
    SMALL_BONUS = 11
    LARGE_BONUS = 12
    IGNORE_MISS = 13
    IGNORE_HIT = 14
    COMBO_BREAK = 15
    SLIDER_TAIL_HIT = 16
    LEGACY_COMBO_INCREASE = 99


class SpectatedUserState(IntEnum):
    IDLE = 0
    PLAYING = 1
    PAUSED = 2
    PASSED = 3
    FAILED = 4
    QUIT = 5


class MultiplayerRoomState(IntEnum):
    OPEN = 0
    WAITING_FOR_LOAD = 1
    PLAYING = 2
    CLOSED = 3


class MultiplayerUserState(IntEnum):
    IDLE = 0
    READY = 1
    WAITING_FOR_LOAD = 2
    LOADED = 3
    READY_FOR_GAMEPLAY = 4
    PLAYING = 5
    FINISHED_PLAY = 6
    RESULTS = 7
    SPECTATING = 8


class MultiplayerRoomUserRole(IntEnum):
    PLAYER = 0
    REFEREE = 1


class MatchType(IntEnum):
    PLAYLISTS = 0
    HEAD_TO_HEAD = 1
    TEAM_VERSUS = 2
    MATCHMAKING = 3
    RANKED_PLAY = 4


class QueueMode(IntEnum):
    HOST_ONLY = 0
    ALL_PLAYERS = 1
    ALL_PLAYERS_ROUND_ROBIN = 2


class DownloadState(IntEnum):
    UNKNOWN = 0
    NOT_DOWNLOADED = 1
    DOWNLOADING = 2
    IMPORTING = 3
    LOCALLY_AVAILABLE = 4


class GameplayAbortReason(IntEnum):
    LOAD_TOOK_TOO_LONG = 0
    HOST_ABORTED_THE_MATCH = 1


class UserStatus(IntEnum):
    OFFLINE = 0
    DO_NOT_DISTURB = 1
    ONLINE = 2


class MatchmakingPoolType(IntEnum):
    QUICK_PLAY = 0
    RANKED_PLAY = 1


class MatchmakingStage(IntEnum):
    WAITING_FOR_CLIENTS_JOIN = 0
    ROUND_WARMUP_TIME = 1
    USER_BEATMAP_SELECT = 2
    SERVER_BEATMAP_FINALISED = 3
    WAITING_FOR_CLIENTS_BEATMAP_DOWNLOAD = 4
    GAMEPLAY_WARMUP_TIME = 5
    GAMEPLAY = 6
    RESULTS_DISPLAYING = 7
    ENDED = 8


class RankedPlayStage(IntEnum):
    WAIT_FOR_JOIN = 0
    ROUND_WARMUP = 1
    CARD_DISCARD = 2
    FINISH_CARD_DISCARD = 3
    CARD_PLAY = 4
    FINISH_CARD_PLAY = 5
    GAMEPLAY_WARMUP = 6
    GAMEPLAY = 7
    RESULTS = 8
    ENDED = 9


class MatchmakingAvatarAction(IntEnum):
    JUMP = 0


class ReplayButtonState(IntFlag):
    """Flags of LegacyReplayFrame.button_state; the field itself stays a plain int (hot path)."""

    NONE = 0
    LEFT1 = 1
    RIGHT1 = 2
    LEFT2 = 4
    RIGHT2 = 8
    SMOKE = 16


# Default DateTimeOffset, what the client sends in FrameHeader.received_time.
DTO_DEFAULT = datetime(1, 1, 1, tzinfo=UTC)

STATISTICS = MapOf(I32, I32)  # Dictionary<HitResult, int>: integer keys, never names


# --- shared ---------------------------------------------------------------------------------


@hub_object
class APIMod:
    acronym: str = key(0, STR, default="")
    # Setting name -> value; see values.py for the markers that pin a value's MessagePack code.
    settings: dict[str, Any] = key(1, SETTINGS, factory=dict)


@hub_object
class BeatmapAvailability:
    state: DownloadState = key(0, EnumOf(DownloadState), default=DownloadState.UNKNOWN)
    download_progress: float | None = key(1, Opt(F32), default=None)


# --- spectator ------------------------------------------------------------------------------


@hub_object
class SpectatorState:
    beatmap_id: int | None = key(0, Opt(I32), default=None)
    ruleset_id: int | None = key(1, Opt(I32), default=None)
    mods: list[APIMod] = key(2, ListOf(APIMod), factory=list)
    state: SpectatedUserState = key(3, EnumOf(SpectatedUserState), default=SpectatedUserState.IDLE)
    maximum_statistics: dict[int, int] = key(4, STATISTICS, factory=dict)


@hub_object
class ScoreProcessorStatistics:
    base_score: float = key(0, F64, default=0.0)
    maximum_base_score: float = key(1, F64, default=0.0)
    accuracy_judgement_count: int = key(2, I32, default=0)
    combo_portion: float = key(3, F64, default=0.0)
    bonus_portion: float = key(4, F64, default=0.0)


@hub_object
class FrameHeader:
    total_score: int = key(0, I64, default=0)
    accuracy: float = key(1, F64, default=0.0)
    combo: int = key(2, I32, default=0)
    max_combo: int = key(3, I32, default=0)
    statistics: dict[int, int] = key(4, STATISTICS, factory=dict)
    score_processor_statistics: ScoreProcessorStatistics = key(
        5, ScoreProcessorStatistics, factory=ScoreProcessorStatistics
    )
    received_time: datetime = key(6, DTO, default=DTO_DEFAULT)
    mods: list[APIMod] = key(7, ListOf(APIMod), factory=list)
    total_score_without_mods: int | None = key(8, Opt(I64), default=None)
    pauses: list[int] | None = key(9, Opt(ListOf(I32)), default=None)


@hub_object
class LegacyReplayFrame:
    time: float = key(0, F64, default=0.0)
    mouse_x: float | None = key(1, Opt(F32), default=None)
    mouse_y: float | None = key(2, Opt(F32), default=None)
    button_state: int = key(3, I32, default=0)


@hub_object
class FrameDataBundle:
    header: FrameHeader = key(0, FrameHeader, factory=FrameHeader)
    frames: list[LegacyReplayFrame] = key(1, ListOf(LegacyReplayFrame), factory=list)


@hub_object
class SpectatorUser:
    online_id: int = key(0, I32, default=0)
    username: str = key(1, STR, default="")


# --- multiplayer: countdowns, events, requests ----------------------------------------------


class MultiplayerCountdown:
    """Union base (`[Union]`); every countdown starts with `id` and `time_remaining`."""

    __slots__ = ()
    # Declared for type checkers only (no value, so no slot or field here): each subclass is a
    # @hub_object that defines both as its keys 0 and 1.
    id: int
    time_remaining: timedelta


@hub_object
class MatchStartCountdown(MultiplayerCountdown):
    id: int = key(0, I32, default=0)
    time_remaining: timedelta = key(1, TIMESPAN, default=timedelta(0))


@hub_object
class ForceGameplayStartCountdown(MultiplayerCountdown):
    id: int = key(0, I32, default=0)
    time_remaining: timedelta = key(1, TIMESPAN, default=timedelta(0))


@hub_object
class ServerShuttingDownCountdown(MultiplayerCountdown):
    id: int = key(0, I32, default=0)
    time_remaining: timedelta = key(1, TIMESPAN, default=timedelta(0))


@hub_object
class MatchmakingStageCountdown(MultiplayerCountdown):
    id: int = key(0, I32, default=0)
    time_remaining: timedelta = key(1, TIMESPAN, default=timedelta(0))
    stage: MatchmakingStage = key(
        2, EnumOf(MatchmakingStage), default=MatchmakingStage.WAITING_FOR_CLIENTS_JOIN
    )


@hub_object
class RankedPlayStageCountdown(MultiplayerCountdown):
    id: int = key(0, I32, default=0)
    time_remaining: timedelta = key(1, TIMESPAN, default=timedelta(0))
    stage: RankedPlayStage = key(2, EnumOf(RankedPlayStage), default=RankedPlayStage.WAIT_FOR_JOIN)


MULTIPLAYER_COUNTDOWN = Union(
    "MultiplayerCountdown",
    (
        (0, MatchStartCountdown),
        (1, ForceGameplayStartCountdown),
        (2, ServerShuttingDownCountdown),
        (3, MatchmakingStageCountdown),
        (4, RankedPlayStageCountdown),
    ),
)


@hub_object
class RankedPlayCardState:
    hovered: bool = key(0, BOOL, default=False)
    pressed: bool = key(1, BOOL, default=False)
    selected: bool = key(2, BOOL, default=False)
    dragged: bool = key(3, BOOL, default=False)
    order: int = key(4, I32, default=0)
    drag_x: float = key(5, F32, default=0.0)
    drag_y: float = key(6, F32, default=0.0)


@hub_object
class RankedPlayCardHandReplayFrame:
    delay: float = key(0, F64, default=0.0)
    cards: dict[str, RankedPlayCardState] = key(1, MapOf(GUID, RankedPlayCardState), factory=dict)


class MatchServerEvent:
    """Union base (`[Union]`, ppy/osu osu.Game/Online/SignalRWorkaroundTypes.cs)."""

    __slots__ = ()


@hub_object
class CountdownStartedEvent(MatchServerEvent):
    countdown: MultiplayerCountdown = key(0, MULTIPLAYER_COUNTDOWN, factory=MatchStartCountdown)


@hub_object
class CountdownStoppedEvent(MatchServerEvent):
    id: int = key(0, I32, default=0)


@hub_object
class MatchmakingAvatarActionEvent(MatchServerEvent):
    user_id: int = key(0, I32, default=0)
    action: MatchmakingAvatarAction = key(
        1, EnumOf(MatchmakingAvatarAction), default=MatchmakingAvatarAction.JUMP
    )


@hub_object
class RankedPlayCardHandReplayEvent(MatchServerEvent):
    user_id: int = key(0, I32, default=0)
    frames: list[RankedPlayCardHandReplayFrame] = key(
        1, ListOf(RankedPlayCardHandReplayFrame), factory=list
    )


@hub_object
class RollEvent(MatchServerEvent):
    user_id: int = key(0, I32, default=0)
    max: int = key(1, U32, default=0)
    result: int = key(2, U32, default=0)


MATCH_SERVER_EVENT = Union(
    "MatchServerEvent",
    (
        (0, CountdownStartedEvent),
        (1, CountdownStoppedEvent),
        (2, MatchmakingAvatarActionEvent),
        (3, RankedPlayCardHandReplayEvent),
        (4, RollEvent),
    ),
)


class MatchUserRequest:
    """Union base (`[Union]`, ppy/osu osu.Game/Online/SignalRWorkaroundTypes.cs)."""

    __slots__ = ()


@hub_object
class ChangeTeamRequest(MatchUserRequest):
    team_id: int = key(0, I32, default=0)


@hub_object
class StartMatchCountdownRequest(MatchUserRequest):
    duration: timedelta = key(0, TIMESPAN, default=timedelta(0))


@hub_object
class StopCountdownRequest(MatchUserRequest):
    id: int = key(0, I32, default=0)


@hub_object
class MatchmakingAvatarActionRequest(MatchUserRequest):
    action: MatchmakingAvatarAction = key(
        0, EnumOf(MatchmakingAvatarAction), default=MatchmakingAvatarAction.JUMP
    )


@hub_object
class RankedPlayCardHandReplayRequest(MatchUserRequest):
    frames: list[RankedPlayCardHandReplayFrame] = key(
        0, ListOf(RankedPlayCardHandReplayFrame), factory=list
    )


@hub_object
class SetLockStateRequest(MatchUserRequest):
    locked: bool = key(0, BOOL, default=False)


@hub_object
class RollRequest(MatchUserRequest):
    max: int | None = key(0, Opt(U32), default=None)


@hub_object
class ChangeSlotRequest(MatchUserRequest):
    slot_id: int = key(0, U8, default=0)


MATCH_USER_REQUEST = Union(
    "MatchUserRequest",
    (
        (0, ChangeTeamRequest),
        (1, StartMatchCountdownRequest),
        (2, StopCountdownRequest),
        (3, MatchmakingAvatarActionRequest),
        (4, RankedPlayCardHandReplayRequest),
        (5, SetLockStateRequest),
        (6, RollRequest),
        (7, ChangeSlotRequest),
    ),
)


# --- multiplayer: user and room states ------------------------------------------------------


class MatchUserState:
    """Union base (`[Union]`, ppy/osu osu.Game/Online/SignalRWorkaroundTypes.cs)."""

    __slots__ = ()


@hub_object
class TeamVersusUserState(MatchUserState):
    team_id: int = key(0, I32, default=0)


MATCH_USER_STATE = Union("MatchUserState", ((0, TeamVersusUserState),))


@hub_object
class MultiplayerTeam:
    id: int = key(0, I32, default=0)
    name: str = key(1, STR, default="")


@hub_object
class MatchmakingRound:
    round: int = key(0, I32, default=0)
    placement: int = key(1, I32, default=0)
    total_score: int = key(2, I64, default=0)
    accuracy: float = key(3, F64, default=0.0)
    max_combo: int = key(4, I32, default=0)
    statistics: dict[int, int] = key(5, STATISTICS, factory=dict)


@hub_object
class MatchmakingRoundList:
    rounds_dictionary: dict[int, MatchmakingRound] = key(
        0, MapOf(I32, MatchmakingRound), factory=dict
    )


@hub_object
class MatchmakingUser:
    user_id: int = key(0, I32, default=0)
    placement: int | None = key(1, Opt(I32), default=None)
    points: int = key(2, I32, default=0)
    rounds: MatchmakingRoundList = key(3, MatchmakingRoundList, factory=MatchmakingRoundList)
    abandoned_at: datetime | None = key(4, Opt(DTO), default=None)


@hub_object
class MatchmakingUserList:
    user_dictionary: dict[int, MatchmakingUser] = key(0, MapOf(I32, MatchmakingUser), factory=dict)


@hub_object
class RankedPlayCardItem:
    id: str = key(0, GUID, default="00000000-0000-0000-0000-000000000000")


@hub_object
class RankedPlayDamageInfo:
    damage: int = key(0, I32, default=0)
    raw_damage: int = key(1, I32, default=0)
    old_life: int = key(2, I32, default=0)
    new_life: int = key(3, I32, default=0)
    direct_damage: int = key(4, I32, default=0)
    multiplier: float = key(5, F64, default=0.0)
    bonus_damage: int = key(6, I32, default=0)


@hub_object
class RankedPlayUserInfo:
    rating: int = key(0, I32, default=0)
    life: int = key(1, I32, default=0)
    hand: list[RankedPlayCardItem] = key(2, ListOf(RankedPlayCardItem), factory=list)
    rating_after: int = key(3, I32, default=0)
    damage_info: RankedPlayDamageInfo | None = key(4, Opt(RankedPlayDamageInfo), default=None)
    rounds_won: int = key(5, I32, default=0)
    damage_multiplier: float = key(6, F64, default=0.0)


class MatchRoomState:
    """Union base (`[Union]`, ppy/osu osu.Game/Online/SignalRWorkaroundTypes.cs)."""

    __slots__ = ()


@hub_object
class TeamVersusRoomState(MatchRoomState):
    # Derives from StandardMatchRoomState in C#; declared flat so fields stay in key order.
    teams: list[MultiplayerTeam] = key(
        0,
        ListOf(MultiplayerTeam),
        factory=lambda: [MultiplayerTeam(0, "Team Red"), MultiplayerTeam(1, "Team Blue")],
    )
    locked: bool = key(1, BOOL, default=False)
    slots: list[int | None] | None = key(2, Opt(ListOf(Opt(I32))), default=None)


@hub_object
class MatchmakingRoomState(MatchRoomState):
    stage: MatchmakingStage = key(
        0, EnumOf(MatchmakingStage), default=MatchmakingStage.WAITING_FOR_CLIENTS_JOIN
    )
    current_round: int = key(1, I32, default=0)
    candidate_items: list[int] = key(2, ListOf(I64), factory=list)
    candidate_item: int = key(3, I64, default=0)
    users: MatchmakingUserList = key(4, MatchmakingUserList, factory=MatchmakingUserList)
    gameplay_item: int = key(5, I64, default=0)


@hub_object
class RankedPlayRoomState(MatchRoomState):
    stage: RankedPlayStage = key(0, EnumOf(RankedPlayStage), default=RankedPlayStage.WAIT_FOR_JOIN)
    current_round: int = key(1, I32, default=0)
    damage_multiplier: float = key(2, F64, default=0.0)
    users: dict[int, RankedPlayUserInfo] = key(3, MapOf(I32, RankedPlayUserInfo), factory=dict)
    active_user_id: int | None = key(4, Opt(I32), default=None)
    star_rating: float = key(5, F64, default=0.0)
    winning_user_id: int | None = key(6, Opt(I32), default=None)


@hub_object
class StandardMatchRoomState(MatchRoomState):
    # Key 0 has no member here (it is TeamVersusRoomState.teams) and is written as nil.
    locked: bool = key(1, BOOL, default=False)
    slots: list[int | None] | None = key(2, Opt(ListOf(Opt(I32))), default=None)


MATCH_ROOM_STATE = Union(
    "MatchRoomState",
    (
        (0, TeamVersusRoomState),
        (1, MatchmakingRoomState),
        (2, RankedPlayRoomState),
        (3, StandardMatchRoomState),
    ),
)


# --- multiplayer: room ----------------------------------------------------------------------


@hub_object
class MultiplayerRoomSettings:
    name: str = key(0, STR, default="Unnamed room")
    playlist_item_id: int = key(1, I64, default=0)
    password: str = key(2, STR, default="")
    match_type: MatchType = key(3, EnumOf(MatchType), default=MatchType.HEAD_TO_HEAD)
    queue_mode: QueueMode = key(4, EnumOf(QueueMode), default=QueueMode.HOST_ONLY)
    auto_start_duration: timedelta = key(5, TIMESPAN, default=timedelta(0))
    auto_skip: bool = key(6, BOOL, default=False)
    max_participants: int | None = key(7, Opt(U8), default=None)


@hub_object
class MultiplayerRoomUser:
    user_id: int = key(0, I32, default=0)
    state: MultiplayerUserState = key(
        1, EnumOf(MultiplayerUserState), default=MultiplayerUserState.IDLE
    )
    beatmap_availability: BeatmapAvailability = key(
        2, BeatmapAvailability, factory=BeatmapAvailability
    )
    mods: list[APIMod] = key(3, ListOf(APIMod), factory=list)
    match_state: MatchUserState | None = key(4, Opt(MATCH_USER_STATE), default=None)
    ruleset_id: int | None = key(5, Opt(I32), default=None)
    beatmap_id: int | None = key(6, Opt(I32), default=None)
    voted_to_skip_intro: bool = key(7, BOOL, default=False)
    role: MultiplayerRoomUserRole = key(
        8, EnumOf(MultiplayerRoomUserRole), default=MultiplayerRoomUserRole.PLAYER
    )


@hub_object
class MultiplayerPlaylistItem:
    id: int = key(0, I64, default=0)
    owner_id: int = key(1, I32, default=0)
    beatmap_id: int = key(2, I32, default=0)
    beatmap_checksum: str = key(3, STR, default="")
    ruleset_id: int = key(4, I32, default=0)
    required_mods: list[APIMod] = key(5, ListOf(APIMod), factory=list)
    allowed_mods: list[APIMod] = key(6, ListOf(APIMod), factory=list)
    expired: bool = key(7, BOOL, default=False)
    playlist_order: int = key(8, U16, default=0)
    played_at: datetime | None = key(9, Opt(DTO), default=None)
    star_rating: float = key(10, F64, default=0.0)
    freestyle: bool = key(11, BOOL, default=False)


@hub_object
class MultiplayerRoom:
    room_id: int = key(0, I64, default=0)
    state: MultiplayerRoomState = key(
        1, EnumOf(MultiplayerRoomState), default=MultiplayerRoomState.OPEN
    )
    settings: MultiplayerRoomSettings = key(
        2, MultiplayerRoomSettings, factory=MultiplayerRoomSettings
    )
    users: list[MultiplayerRoomUser] = key(3, ListOf(MultiplayerRoomUser), factory=list)
    host: MultiplayerRoomUser | None = key(4, Opt(MultiplayerRoomUser), default=None)
    match_state: MatchRoomState | None = key(5, Opt(MATCH_ROOM_STATE), default=None)
    playlist: list[MultiplayerPlaylistItem] = key(6, ListOf(MultiplayerPlaylistItem), factory=list)
    active_countdowns: list[MultiplayerCountdown] = key(
        7, ListOf(MULTIPLAYER_COUNTDOWN), factory=list
    )
    channel_id: int = key(8, I32, default=0)


# --- matchmaking ----------------------------------------------------------------------------


@hub_object
class MatchmakingPool:
    id: int = key(0, I32, default=0)
    ruleset_id: int = key(1, I32, default=0)
    variant: int = key(2, I32, default=0)
    name: str = key(3, STR, default="")
    type: MatchmakingPoolType = key(
        4, EnumOf(MatchmakingPoolType), default=MatchmakingPoolType.QUICK_PLAY
    )


@hub_object
class MatchmakingLobbyStatus:
    users_in_queue: list[int] = key(0, ListOf(I32), factory=list)
    # (rating, count) pairs: C# `(int Rating, int Count)[]`.
    rating_distribution: list[tuple[int, int]] = key(1, ListOf(TupleOf((I32, I32))), factory=list)
    user_rating: int | None = key(2, Opt(I32), default=None)
    recent_matches: list[MatchRoomState] = key(3, ListOf(MATCH_ROOM_STATE), factory=list)


@hub_object
class MatchmakingRoomInvitationParams:
    type: MatchmakingPoolType = key(
        0, EnumOf(MatchmakingPoolType), default=MatchmakingPoolType.QUICK_PLAY
    )


@hub_object
class MatchmakingDuelIssuedParams:
    id: str = key(0, GUID, default="00000000-0000-0000-0000-000000000000")
    user_id: int = key(1, I32, default=0)
    pool: MatchmakingPool = key(2, MatchmakingPool, factory=MatchmakingPool)


@hub_object
class MatchmakingJoinLobbyRequest:
    pool_id: int = key(0, I32, default=0)


@hub_object
class MatchmakingIssueDuelRequest:
    user_id: int = key(0, I32, default=0)
    pool_id: int = key(1, I32, default=0)


@hub_object
class MatchmakingAcceptDuelRequest:
    id: str = key(0, GUID, default="00000000-0000-0000-0000-000000000000")


@hub_object
class MatchmakingJoinLobbyResponse:
    pass


@hub_object
class MatchmakingIssueDuelResponse:
    pass


@hub_object
class MatchmakingAcceptDuelResponse:
    pass


class MatchmakingQueueStatus:
    """Union base (`[Union]`, ppy/osu osu.Game/Online/SignalRWorkaroundTypes.cs)."""

    __slots__ = ()


@hub_object
class MatchmakingQueueSearching(MatchmakingQueueStatus):
    pass


@hub_object
class MatchmakingQueueMatchFound(MatchmakingQueueStatus):
    pass


@hub_object
class MatchmakingQueueJoiningMatch(MatchmakingQueueStatus):
    pass


MATCHMAKING_QUEUE_STATUS = Union(
    "MatchmakingQueueStatus",
    (
        (0, MatchmakingQueueSearching),
        (1, MatchmakingQueueMatchFound),
        (2, MatchmakingQueueJoiningMatch),
    ),
)


# --- metadata -------------------------------------------------------------------------------


class UserActivity:
    """Union base (`[Union]`, ppy/osu osu.Game/Online/SignalRWorkaroundTypes.cs)."""

    __slots__ = ()


@hub_object
class ChoosingBeatmap(UserActivity):
    pass


@hub_object
class SearchingForLobby(UserActivity):
    pass


@hub_object
class InDailyChallengeLobby(UserActivity):
    pass


@hub_object
class InGame(UserActivity):
    """Shared layout of the in-game activities; not itself a union member."""

    beatmap_id: int = key(0, I32, default=0)
    beatmap_display_title: str = key(1, STR, default="")
    ruleset_id: int = key(2, I32, default=0)
    ruleset_playing_verb: str = key(3, STR, default="")


@hub_object
class InSoloGame(InGame):
    pass


@hub_object
class InMultiplayerGame(InGame):
    pass


@hub_object
class SpectatingMultiplayerGame(InGame):
    pass


@hub_object
class InPlaylistGame(InGame):
    pass


@hub_object
class PlayingDailyChallenge(InGame):
    pass


@hub_object
class WatchingReplay(UserActivity):
    score_id: int = key(0, I64, default=0)
    player_name: str = key(1, STR, default="")
    beatmap_id: int = key(2, I32, default=0)
    beatmap_display_title: str | None = key(3, Opt(STR), default=None)


@hub_object
class SpectatingUser(WatchingReplay):
    pass


@hub_object
class InLobby(UserActivity):
    room_id: int = key(0, I64, default=0)
    room_name: str = key(1, STR, default="")


@hub_object
class EditingBeatmap(UserActivity):
    beatmap_id: int = key(0, I32, default=0)
    beatmap_display_title: str = key(1, STR, default="")


@hub_object
class ModdingBeatmap(EditingBeatmap):
    pass


@hub_object
class TestingBeatmap(EditingBeatmap):
    pass


USER_ACTIVITY = Union(
    "UserActivity",
    (
        (11, ChoosingBeatmap),
        (12, InSoloGame),
        (13, WatchingReplay),
        (14, SpectatingUser),
        (21, SearchingForLobby),
        (22, InLobby),
        (23, InMultiplayerGame),
        (24, SpectatingMultiplayerGame),
        (31, InPlaylistGame),
        (41, EditingBeatmap),
        (42, ModdingBeatmap),
        (43, TestingBeatmap),
        (51, InDailyChallengeLobby),
        (52, PlayingDailyChallenge),
    ),
)


@hub_object
class BeatmapUpdates:
    beatmap_set_ids: list[int] = key(0, ListOf(I32), factory=list)
    last_processed_queue_id: int = key(1, I32, default=0)


@hub_object
class UserPresence:
    activity: UserActivity | None = key(0, Opt(USER_ACTIVITY), default=None)
    status: UserStatus | None = key(1, Opt(EnumOf(UserStatus)), default=None)


@hub_object
class DailyChallengeInfo:
    room_id: int = key(0, I64, default=0)


@hub_object
class MultiplayerPlaylistItemStats:
    playlist_item_id: int = key(0, I64, default=0)
    total_score_distribution: list[int] = key(1, ListOf(I64), factory=lambda: [0] * 13)
    cumulative_score: int = key(2, I64, default=0)
    last_processed_score_id: int = key(3, U64, default=0)


@hub_object
class MultiplayerRoomScoreSetEvent:
    room_id: int = key(0, I64, default=0)
    playlist_item_id: int = key(1, I64, default=0)
    score_id: int = key(2, I64, default=0)
    user_id: int = key(3, I32, default=0)
    total_score: int = key(4, I64, default=0)
    new_rank: int | None = key(5, Opt(I32), default=None)


UNIONS: tuple[Union, ...] = (
    MULTIPLAYER_COUNTDOWN,
    MATCH_SERVER_EVENT,
    MATCH_USER_REQUEST,
    MATCH_USER_STATE,
    MATCH_ROOM_STATE,
    MATCHMAKING_QUEUE_STATUS,
    USER_ACTIVITY,
)
