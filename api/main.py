"""`uvicorn --factory api.main:app_from_env`: the app with settings read from the environment."""

from fastapi import FastAPI

from api.app import create_app
from log_config import configure_logging
from settings import Settings


def app_from_env() -> FastAPI:
    settings = Settings()
    configure_logging(settings.log_format, settings.log_level)
    return create_app(settings)
