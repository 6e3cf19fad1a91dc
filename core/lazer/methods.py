"""Hub method and callback signatures: target name -> argument wire types (ppy/osu
osu.Game/Online/{Spectator,Multiplayer,Metadata}/I*Server.cs, I*Client.cs,
IStatefulUserHubClient.cs).

Arguments must be decoded by declared type, because an `APIMod` anywhere in them breaks a generic
MessagePack reader. Names are unique across the three hubs at the pinned client version,
so one table serves them all; `register_method` in the facade adds more: a plugin's hub declares
its methods with `@hub_method(args=..., returns=...)` and its callbacks in `Hub.callbacks`, and
`core.signalr.hub.declare_signatures` registers them when plugins load.
"""

from __future__ import annotations

from .types import (
    MATCH_ROOM_STATE,
    MATCH_SERVER_EVENT,
    MATCH_USER_REQUEST,
    MATCH_USER_STATE,
    MATCHMAKING_QUEUE_STATUS,
    USER_ACTIVITY,
    APIMod,
    BeatmapAvailability,
    BeatmapUpdates,
    DailyChallengeInfo,
    FrameDataBundle,
    GameplayAbortReason,
    MatchmakingAcceptDuelRequest,
    MatchmakingDuelIssuedParams,
    MatchmakingIssueDuelRequest,
    MatchmakingJoinLobbyRequest,
    MatchmakingLobbyStatus,
    MatchmakingPoolType,
    MatchmakingRoomInvitationParams,
    MultiplayerPlaylistItem,
    MultiplayerRoom,
    MultiplayerRoomScoreSetEvent,
    MultiplayerRoomSettings,
    MultiplayerRoomState,
    MultiplayerRoomUser,
    MultiplayerUserState,
    RankedPlayCardItem,
    SpectatedUserState,
    SpectatorState,
    SpectatorUser,
    UserPresence,
    UserStatus,
)
from .wire import BOOL, I32, I64, STR, EnumOf, ListOf, Opt, Wire

_SESSION: dict[str, tuple[Wire, ...]] = {
    "DisconnectRequested": (),
    "ServerShuttingDown": (),
}

_SPECTATOR: dict[str, tuple[Wire, ...]] = {
    # server methods
    "BeginPlaySessionV2": (Opt(I64), SpectatorState),
    "SendFrameDataV2": (Opt(I64), FrameDataBundle),
    "EndPlaySessionV2": (Opt(I64), EnumOf(SpectatedUserState)),
    "StartWatchingUser": (I32,),
    "EndWatchingUser": (I32,),
    "BeginPlaySession": (Opt(I64), SpectatorState),
    "SendFrameData": (FrameDataBundle,),
    "EndPlaySession": (SpectatorState,),
    # callbacks
    "UserBeganPlaying": (I32, SpectatorState),
    "UserFinishedPlaying": (I32, SpectatorState),
    "UserSentFrames": (I32, FrameDataBundle),
    "UserScoreProcessed": (I32, I64),
    "UserStartedWatching": (ListOf(SpectatorUser),),
    "UserEndedWatching": (I32,),
}

_MULTIPLAYER: dict[str, tuple[Wire, ...]] = {
    # server methods
    "CreateRoom": (MultiplayerRoom,),
    "JoinRoom": (I64,),
    "JoinRoomWithPassword": (I64, STR),
    "LeaveRoom": (),
    "TransferHost": (I32,),
    "KickUser": (I32,),
    "ChangeSettings": (MultiplayerRoomSettings,),
    "ChangeState": (EnumOf(MultiplayerUserState),),
    "ChangeBeatmapAvailability": (BeatmapAvailability,),
    "ChangeUserStyle": (Opt(I32), Opt(I32)),
    "ChangeUserMods": (ListOf(APIMod),),
    "SendMatchRequest": (MATCH_USER_REQUEST,),
    "StartMatch": (),
    "AbortMatch": (),
    "AbortGameplay": (),
    "AddPlaylistItem": (MultiplayerPlaylistItem,),
    "EditPlaylistItem": (MultiplayerPlaylistItem,),
    "RemovePlaylistItem": (I64,),
    "VoteToSkipIntro": (),
    "InvitePlayer": (I32,),
    # callbacks
    "RoomStateChanged": (EnumOf(MultiplayerRoomState),),
    "UserJoined": (MultiplayerRoomUser,),
    "UserLeft": (MultiplayerRoomUser,),
    "UserKicked": (MultiplayerRoomUser,),
    "Invited": (I32, I64, STR),
    "HostChanged": (I32,),
    "SettingsChanged": (MultiplayerRoomSettings,),
    "UserStateChanged": (I32, EnumOf(MultiplayerUserState)),
    "MatchUserStateChanged": (I32, Opt(MATCH_USER_STATE)),
    "MatchRoomStateChanged": (Opt(MATCH_ROOM_STATE),),
    "MatchEvent": (MATCH_SERVER_EVENT,),
    "UserBeatmapAvailabilityChanged": (I32, BeatmapAvailability),
    "UserStyleChanged": (I32, Opt(I32), Opt(I32)),
    "UserModsChanged": (I32, ListOf(APIMod)),
    "LoadRequested": (),
    "GameplayStarted": (),
    "GameplayAborted": (EnumOf(GameplayAbortReason),),
    "ResultsReady": (),
    "PlaylistItemAdded": (MultiplayerPlaylistItem,),
    "PlaylistItemRemoved": (I64,),
    "PlaylistItemChanged": (MultiplayerPlaylistItem,),
    "UserVotedToSkipIntro": (I32, BOOL),
    "VoteToSkipIntroPassed": (),
}

_MATCHMAKING: dict[str, tuple[Wire, ...]] = {
    # server methods
    "GetMatchmakingPoolsOfType": (EnumOf(MatchmakingPoolType),),
    "GetMatchmakingPools": (),
    "MatchmakingJoinLobbyWithParams": (MatchmakingJoinLobbyRequest,),
    "MatchmakingJoinLobby": (),
    "MatchmakingLeaveLobby": (),
    "MatchmakingJoinQueue": (I32,),
    "MatchmakingLeaveQueue": (),
    "MatchmakingAcceptInvitation": (),
    "MatchmakingDeclineInvitation": (),
    "MatchmakingIssueDuel": (MatchmakingIssueDuelRequest,),
    "MatchmakingAcceptDuel": (MatchmakingAcceptDuelRequest,),
    "MatchmakingToggleSelection": (I64,),
    "MatchmakingSkipToNextStage": (),
    "DiscardCards": (ListOf(RankedPlayCardItem),),
    "PlayCard": (RankedPlayCardItem,),
    # callbacks
    "MatchmakingQueueJoined": (),
    "MatchmakingQueueLeft": (),
    "MatchmakingRoomInvited": (),
    "MatchmakingRoomInvitedWithParams": (MatchmakingRoomInvitationParams,),
    "MatchmakingDuelIssued": (MatchmakingDuelIssuedParams,),
    "MatchmakingRoomReady": (I64, STR),
    "MatchmakingLobbyStatusChanged": (MatchmakingLobbyStatus,),
    "MatchmakingQueueStatusChanged": (MATCHMAKING_QUEUE_STATUS,),
    "MatchmakingItemSelected": (I32, I64),
    "MatchmakingItemDeselected": (I32, I64),
    "RankedPlayCardAdded": (I32, RankedPlayCardItem),
    "RankedPlayCardRemoved": (I32, RankedPlayCardItem),
    "RankedPlayCardRevealed": (RankedPlayCardItem, MultiplayerPlaylistItem),
    "RankedPlayCardPlayed": (RankedPlayCardItem,),
}

_METADATA: dict[str, tuple[Wire, ...]] = {
    # server methods
    "GetChangesSince": (I32,),
    "UpdateActivity": (Opt(USER_ACTIVITY),),
    "UpdateStatus": (Opt(EnumOf(UserStatus)),),
    "BeginWatchingUserPresence": (),
    "EndWatchingUserPresence": (),
    "BeginWatchingMultiplayerRoom": (I64,),
    "EndWatchingMultiplayerRoom": (I64,),
    "RefreshFriends": (),
    # callbacks
    "BeatmapSetsUpdated": (BeatmapUpdates,),
    "UserPresenceUpdated": (I32, Opt(UserPresence)),
    "FriendPresenceUpdated": (I32, Opt(UserPresence)),
    "DailyChallengeUpdated": (Opt(DailyChallengeInfo),),
    "MultiplayerRoomScoreSet": (MultiplayerRoomScoreSetEvent,),
}


def _merge(*tables: dict[str, tuple[Wire, ...]]) -> dict[str, tuple[Wire, ...]]:
    merged: dict[str, tuple[Wire, ...]] = {}
    for table in tables:
        for name, args in table.items():
            if name in merged and merged[name] != args:
                raise ValueError(f"hub method {name} declared twice with different arguments")
            merged[name] = args
    return merged


# Mutable on purpose: core.lazer.register_method() extends it and rebuilds the codecs.
METHODS: dict[str, tuple[Wire, ...]] = _merge(
    _SESSION, _SPECTATOR, _MULTIPLAYER, _MATCHMAKING, _METADATA
)

# Declared result types (method -> wire type a client reads the Completion's result with). The
# server encodes results by their run-time type, as SignalR does, so this is for clients
# (`core.testing.HubClient`); `register_method(..., returns=...)` fills it.
RETURNS: dict[str, Wire] = {}
