"""The one exception every codec failure surfaces as."""


class CodecError(ValueError):
    """Malformed, truncated, oversized or schema-violating MessagePack, in either direction.

    A ValueError so that callers treating bad client input generically still catch it; both the
    pure-Python and the native codec raise exactly this class.
    """
