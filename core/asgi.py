"""ASGI entry point for multi-worker hypercorn: `core.asgi:app`, settings from config and env."""

from core.app import configure_logging, create_app
from core.config import load_settings

settings = load_settings()
configure_logging(settings)
app = create_app(settings)
