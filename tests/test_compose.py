"""docker-compose.yml keeps the production shape (no Docker engine runs here: it is parsed)."""

from __future__ import annotations

import json
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


def test_prometheus_scrapes_the_api_and_every_worker_and_grafana_has_the_dashboard() -> None:
    services = compose()["services"]
    assert services["worker"]["environment"]["WORKER_METRICS_PORT"] == "9464"
    prometheus_file = services["prometheus"]["volumes"][0].split(":")[0]
    scrape = yaml.safe_load((ROOT / prometheus_file).read_text())["scrape_configs"]
    jobs = {job["job_name"]: job for job in scrape}
    assert jobs["chaser-api"]["static_configs"][0]["targets"] == ["api:8000"]
    assert jobs["chaser-worker"]["dns_sd_configs"][0] == {
        "names": ["worker"],
        "type": "A",
        "port": 9464,
    }

    # ./deploy/...:/etc/grafana/...:ro -> {container path: repository path}
    mounts = {v.split(":")[1]: ROOT / v.split(":")[0] for v in services["grafana"]["volumes"]}
    provisioning = mounts["/etc/grafana/provisioning"]
    source = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())
    datasource = source["datasources"][0]
    assert datasource["url"] == "http://prometheus:9090"
    provider = yaml.safe_load((provisioning / "dashboards" / "chaser.yml").read_text())
    dashboards = mounts[provider["providers"][0]["options"]["path"]]
    dashboard = json.loads((dashboards / "chaser.json").read_text())
    # What Grafana needs to load a provisioned dashboard: a uid, panels with unique ids on
    # its 24-column grid, each query on the provisioned data source.
    assert dashboard["uid"] and dashboard["schemaVersion"] >= 36
    panels = dashboard["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24 and grid["h"] > 0, panel["title"]
        assert panel["datasource"]["uid"] == datasource["uid"], panel["title"]
        assert panel["targets"] and all(t["expr"] and t["refId"] for t in panel["targets"])


def test_health_checks_use_readyz_and_the_worker_metrics_and_attributes_are_registered() -> None:
    services = compose()["services"]
    assert "/readyz" in " ".join(services["api"]["healthcheck"]["test"])
    assert ":9464/metrics" in " ".join(services["worker"]["healthcheck"]["test"])
    assert services["search-attributes"]["command"] == ["chaser", "search-attributes", "register"]
    assert services["worker"]["depends_on"]["search-attributes"] == {
        "condition": "service_completed_successfully"
    }
