"""The plugin under test, for hitcircle's fixtures (`app`, `client`, `hub_client`, ...)."""

import pytest


@pytest.fixture
def hitcircle_plugins() -> list[str]:
    # Loaded once, whether or not the package is installed (its entry point loads it too).
    return ["hitcircle_hello"]
