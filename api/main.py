"""`uvicorn --factory api.main:app_from_env`: the app with settings read from the environment."""

from fastapi import FastAPI

from api.app import create_app
from settings import Settings


def app_from_env() -> FastAPI:
    return create_app(Settings())
