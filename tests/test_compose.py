"""docker-compose.yml keeps the production shape (no Docker engine runs here: it is parsed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent


def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())  # type: ignore[no-any-return]


def test_compose_has_temporal_on_postgresql_its_ui_mail_and_our_two_processes() -> None:
    services = compose()["services"]
    assert {"postgresql", "temporal", "temporal-ui", "mailpit", "api", "worker"} <= set(services)
    temporal = services["temporal"]
    assert temporal["image"].startswith("temporalio/server:")  # not the deprecated auto-setup
    assert temporal["environment"]["DB"] == "postgres12"
    assert services["temporal-schema"]["image"].startswith("temporalio/admin-tools:")
    for name in ("api", "worker", "migrate"):
        assert services[name]["build"] == "."
        assert services[name]["environment"]["DATABASE_URL"].startswith("postgresql+psycopg://")
        assert services[name]["environment"]["EMAIL_BACKEND"] == "smtp"


def test_compose_commands_name_real_entry_points() -> None:
    services = compose()["services"]
    assert services["worker"]["command"] == ["python", "worker.py"]
    assert (ROOT / "worker.py").is_file()
    assert "api.main:app_from_env" in services["api"]["command"]
    assert services["migrate"]["command"] == ["alembic", "upgrade", "head"]
    init = ROOT / services["postgresql"]["volumes"][1].split(":")[0]
    assert "CREATE DATABASE chaser" in init.read_text()
