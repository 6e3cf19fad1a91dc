"""core.resp: RESP2 replies parsed from fixed bytes, and the connections on a private Redis."""

import asyncio

import pytest

from core.resp import (
    ConnectionLost,
    PipelinedConnection,
    Replies,
    ReplyError,
    Subscriber,
    encode,
    supported,
)

from .conftest import RedisProcess


async def parse(data: bytes) -> object:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    return await Replies(reader).one()


async def test_replies_of_every_kind() -> None:
    assert await parse(b"+OK\r\n") == b"OK"
    assert await parse(b":-42\r\n") == -42
    assert await parse(b"$5\r\nhe\r\no\r\n") == b"he\r\no"
    assert await parse(b"$-1\r\n") is None
    assert await parse(b"*-1\r\n") is None
    nested = await parse(b"*3\r\n:1\r\n*2\r\n$1\r\na\r\n$-1\r\n$0\r\n\r\n")
    assert nested == [1, [b"a", None], b""]
    error = await parse(b"-NOSCRIPT No matching script\r\n")
    assert isinstance(error, ReplyError) and str(error).startswith("NOSCRIPT")
    with pytest.raises(ConnectionLost):
        await parse(b":1")  # cut off
    with pytest.raises(ConnectionLost):
        await parse(b"?what\r\n")


def test_encode_and_supported_urls() -> None:
    assert encode("GET", b"k", 5) == b"*3\r\n$3\r\nGET\r\n$1\r\nk\r\n$1\r\n5\r\n"
    assert supported("redis://127.0.0.1:6379/0")
    assert supported("redis://:secret@redis.example:6380")
    assert not supported("rediss://redis.example:6380/0")
    assert not supported("redis+cluster://127.0.0.1:7000")
    assert not supported("redis://127.0.0.1:6379/0?protocol=3")
    assert not supported("unix:///run/redis.sock")


async def test_concurrent_calls_each_get_their_own_reply(private_redis: RedisProcess) -> None:
    connection = PipelinedConnection(private_redis.url.replace("/0", "/3"))
    try:
        assert await connection.call("SET", "k", "v") == b"OK"
        answers = await asyncio.gather(*(connection.call("INCRBY", "n", i) for i in range(200)))
        # Each INCRBY answers the running total after it: all different, the last is the sum.
        assert len(set(answers)) == 200 and max(answers) == sum(range(200))
        assert await connection.call("MGET", "k", "none") == [b"v", None]
        with pytest.raises(ReplyError, match=r"WRONGTYPE|not an integer"):
            await connection.call("INCR", "k")
        # An error answers only its own call.
        assert await connection.call("GET", "k") == b"v"
    finally:
        await connection.close()


async def test_a_call_that_gives_up_leaves_the_order_intact(private_redis: RedisProcess) -> None:
    connection = PipelinedConnection(private_redis.url)
    try:
        await connection.call("SET", "k", "v")
        private_redis.pause()
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await connection.call("GET", "gone")
        private_redis.resume()
        # The late reply to the abandoned call is dropped, not handed to this one.
        assert await connection.call("GET", "k") == b"v"
    finally:
        private_redis.resume()
        await connection.close()


async def test_a_lost_server_fails_the_waiting_calls_and_the_next_call_reconnects(
    private_redis: RedisProcess,
) -> None:
    connection = PipelinedConnection(private_redis.url, connect_timeout=1.0)
    try:
        await connection.call("SET", "k", "v")
        # A call that waits on the server (BLPOP blocks until the list gets an item).
        waiting = asyncio.ensure_future(connection.call("BLPOP", "empty", 0))
        await asyncio.sleep(0.05)
        assert not waiting.done()
        private_redis.stop()
        with pytest.raises(ConnectionError):
            await waiting
        with pytest.raises(OSError):
            await connection.call("GET", "k")
        private_redis.start()
        assert await connection.call("SET", "k", "again") == b"OK"
        assert await connection.call("GET", "k") == b"again"
    finally:
        await connection.close()


async def test_password_and_database(private_redis: RedisProcess) -> None:
    plain = PipelinedConnection(private_redis.url)
    try:
        await plain.call("CONFIG", "SET", "requirepass", "s3cret")
        refused = PipelinedConnection(private_redis.url)
        with pytest.raises(ReplyError, match=r"NOAUTH|AUTH"):
            await refused.call("GET", "k")
        await refused.close()
        url = private_redis.url.replace("redis://", "redis://:s3cret@").replace("/0", "/5")
        signed_in = PipelinedConnection(url)
        await signed_in.call("SET", "k", "in five")
        assert await signed_in.call("CLIENT", "INFO") is not None
        await signed_in.close()
        await plain.call("AUTH", "s3cret")
        await plain.call("SELECT", "5")
        assert await plain.call("GET", "k") == b"in five"
    finally:
        await plain.close()


# --- Subscriber ---------------------------------------------------------------------------------


async def test_a_subscriber_hears_its_channels_and_patterns_in_order(
    private_redis: RedisProcess,
) -> None:
    publisher = PipelinedConnection(private_redis.url)
    subscriber = Subscriber(private_redis.url)
    try:
        await subscriber.open(["room:1"], ["user:*"])
        sent = [("room:1", "a"), ("elsewhere", "x"), ("user:7", "b"), ("room:1", "c")]
        for channel, data in sent:
            await publisher.call("PUBLISH", channel, data)
        # "elsewhere" was never heard: the next message is the one after it.
        assert [await subscriber.get(2.0) for _ in range(3)] == [
            (b"room:1", b"a"),
            (b"user:7", b"b"),
            (b"room:1", b"c"),
        ]
    finally:
        await subscriber.close()
        await publisher.close()


async def test_a_lost_subscriber_says_so_on_every_get(private_redis: RedisProcess) -> None:
    subscriber = Subscriber(private_redis.url)
    try:
        await subscriber.open(["ch"], [])
        waiting = asyncio.ensure_future(subscriber.get(None))
        private_redis.stop()
        with pytest.raises(ConnectionError):
            await waiting
        with pytest.raises(ConnectionError):
            await subscriber.get(0)
    finally:
        await subscriber.close()


async def test_a_subscriber_refused_sign_in_raises(private_redis: RedisProcess) -> None:
    admin = PipelinedConnection(private_redis.url)
    try:
        await admin.call("CONFIG", "SET", "requirepass", "s3cret")
        with pytest.raises(ReplyError, match=r"NOAUTH|AUTH"):
            await Subscriber(private_redis.url).open(["ch"], [])
        wrong = private_redis.url.replace("redis://", "redis://:nope@")
        with pytest.raises(ReplyError, match=r"WRONGPASS|invalid"):
            await Subscriber(wrong).open(["ch"], [])
    finally:
        await admin.close()


async def test_an_unreachable_server_is_a_connection_error() -> None:
    from .conftest import free_port

    with pytest.raises(ConnectionError, match=r"cannot connect to 127\.0\.0\.1"):
        await PipelinedConnection(f"redis://127.0.0.1:{free_port()}/0").call("PING")
