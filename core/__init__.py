"""hitcircle: the host every surface plugs into."""

__version__ = "0.1.0"
