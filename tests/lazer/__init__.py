"""Tests of the lazer MessagePack codec (core.lazer) and its native twin (native/)."""
