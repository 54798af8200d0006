"""Checks that must hold on every profile: the schema revision read from Alembic itself, CUDA
as a build (not a host) property, and the override that makes any compose file a canary."""

import json
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from canaryspec.canary import Canary, ComposeModel, find_compose, render_override
from canaryspec.image_checks import ImageProbe, TorchFacts, cuda_evidence
from canaryspec.images import CommandResult, ImageFacts
from canaryspec.migrations import heads_of

# `alembic heads` as the real platform prints it: its own log lines around the answer.
HEADS_WITH_LOGS = """2026-11-29 11:52:01 - ktrdr.config - INFO - Loading settings (env: canary)
2026-11-29 11:52:01 - opentelemetry - WARNING - exporter jaeger:4317 unreachable
a1b2c3d4e5f6 (head)
INFO  [alembic.runtime.migration] Context impl PostgresqlImpl.
"""


def test_heads_are_read_strictly_whatever_the_platform_logs_around_them():
    assert heads_of(HEADS_WITH_LOGS) == ["a1b2c3d4e5f6"]
    assert heads_of("0001_operations (head)\n") == ["0001_operations"]
    assert heads_of("2026\n2026-11-29 12:00:00 INFO started\n") == []


def test_a_cuda_build_is_a_finding_on_a_host_without_a_gpu():
    ktrdr_cpu_worker = TorchFacts("2.8.0+cu128", "12.8", False,
                                  ("nvidia-cublas-cu12", "nvidia-cudnn-cu12"))
    assert cuda_evidence(ktrdr_cpu_worker) == [
        "torch 2.8.0+cu128 built for CUDA 12.8",
        "2 nvidia-* distributions (nvidia-cublas-cu12, nvidia-cudnn-cu12)"]
    debian_cpu = TorchFacts("1.13.0a0", None, False, ())
    assert cuda_evidence(debian_cpu) == []


# A canary as the real platform writes it: fixed names and host ports, host folders mounted.
FIXED_CANARY = """
services:
  db:
    image: timescale/timescaledb-ha:pg15
    container_name: platform-db-canary
    ports: ["15432:5432"]
    volumes: [pgdata:/var/lib/postgresql/data]
  backend:
    image: platform-backend:test
    container_name: platform-backend-canary
    ports: ["18000:8000"]
    networks: [platform-canary]
    volumes:
      - ../data:/mnt/shared/data:ro
      - ../models:/mnt/shared/models:ro
  training-worker:
    image: platform-worker-cpu:test
    container_name: platform-training-worker-canary
    ports: ["15004:5004"]
    networks: [platform-canary]
    environment:
      API_URL: http://backend:8000
    volumes:
      - ../data:/mnt/shared/data:ro
      - ../models:/mnt/shared/models:rw
networks:
  platform-canary: {}
volumes:
  pgdata: {}
"""


@pytest.fixture(scope="module")
def resolved(tmp_path_factory):
    """The fixed canary plus the suite's override, as Compose itself resolves them."""
    folder = tmp_path_factory.mktemp("canary")
    base = folder / "docker-compose.yml"
    base.write_text(FIXED_CANARY)
    compose = find_compose()
    config = subprocess.run([*compose, "-f", str(base), "config", "--format", "json"],
                            capture_output=True, text=True, check=True).stdout
    model = ComposeModel(base, json.loads(config))
    labels = {"io.canaryspec.run": "r1"}
    override = folder / "override.yml"
    override.write_text(render_override(model.override(
        labels, {"backend": "platform-backend:candidate"}, engine_ports=True,
        environment={"training-worker": {"OMP_NUM_THREADS": "1"}})))
    out = subprocess.run([*compose, "-p", "canary-r1", "-f", str(base), "-f", str(override),
                          "config", "--format", "json"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return model, json.loads(out.stdout)


def test_the_override_drops_fixed_container_names(resolved):
    _, config = resolved
    assert all("container_name" not in s for s in config["services"].values())


def test_variables_the_run_states_are_added_to_the_services_own(resolved):
    _, config = resolved
    assert config["services"]["training-worker"]["environment"] == {
        "API_URL": "http://backend:8000", "OMP_NUM_THREADS": "1"}
    assert "environment" not in config["services"]["backend"]


def test_every_port_is_published_on_loopback_at_an_engine_chosen_port(resolved):
    _, config = resolved
    for service in config["services"].values():
        for port in service["ports"]:
            assert port["host_ip"] == "127.0.0.1" and not port.get("published"), port


def test_the_settings_choose_the_image_a_service_runs(resolved):
    _, config = resolved
    assert config["services"]["backend"]["image"] == "platform-backend:candidate"
    assert config["services"]["db"]["image"] == "timescale/timescaledb-ha:pg15"


def test_host_folders_become_the_canarys_own_volumes_keeping_read_only(resolved):
    model, config = resolved
    assert sorted(model.bind_mounts().values()) == ["host-data", "host-models"]
    mounts = {m["target"]: m for m in config["services"]["training-worker"]["volumes"]}
    assert mounts["/mnt/shared/models"]["source"] == "host-models"
    assert not mounts["/mnt/shared/models"].get("read_only")
    assert mounts["/mnt/shared/data"]["read_only"] is True
    assert all(m["type"] != "bind" for s in config["services"].values()
               for m in s.get("volumes", []))


def test_every_container_network_and_volume_carries_the_owner_labels(resolved):
    _, config = resolved
    assert all(s["labels"]["io.canaryspec.run"] == "r1" for s in config["services"].values())
    for network in ("platform-canary", "default"):  # db is on Compose's default network
        assert config["networks"][network]["labels"]["io.canaryspec.run"] == "r1"
    for volume in ("pgdata", "host-data", "host-models"):
        assert config["volumes"][volume]["labels"]["io.canaryspec.run"] == "r1"


def test_nothing_of_the_host_is_mounted(resolved):
    _, config = resolved
    assert not any(Path(m.get("source", "x")).is_absolute()
                   for s in config["services"].values() for m in s.get("volumes", []))


class _ProbeWithoutFind(ImageProbe):
    """An image whose shell has no `find` (the command answers 127, as sh does)."""

    def run(self, command: list[str]) -> CommandResult:
        return CommandResult(127, "")


def test_an_image_without_find_is_not_an_image_without_migrations():
    facts = ImageFacts("worker-cpu", "w:t", "1", 1, "10001", [], "/", None)
    with pytest.raises(RuntimeError, match="no `find`"):
        _ProbeWithoutFind(None, facts, {}).migration_files()


class _SeedingRecorder(Canary):
    """A canary of the fixed compose file that records what seeding would do to its volumes."""

    def __init__(self, model: ComposeModel):  # no engine: only _seed_volumes runs
        self.model, self.project, self.calls = model, "canary-r1", []
        self.settings = SimpleNamespace(profile=SimpleNamespace(
            market_data=SimpleNamespace(files=lambda folder="": iter([("EURUSD_1h.csv", b"x")])),
            data_mount="/mnt/shared/data"))

    def _services_to_start(self) -> set[str]:
        return set(self.model.config["services"])

    def images(self) -> dict[str, str]:
        return {s: str(c["image"]) for s, c in self.model.config["services"].items()}

    def _put_files(self, volume: str, image: str, archive: bytes) -> None:
        self.calls.append(("seed", volume))

    def _give_to_user_of(self, volume: str, image: str) -> None:
        self.calls.append(("chown", volume, image))


def test_a_folder_several_services_mount_is_seeded_once(resolved):
    model, _ = resolved
    canary = _SeedingRecorder(model)
    canary._seed_volumes()
    assert canary.calls.count(("seed", "canary-r1_host-data")) == 1
    assert ("chown", "canary-r1_host-models", "platform-worker-cpu:test") in canary.calls
    assert len(canary.calls) == len(set(canary.calls))


class _ScriptedCanary:
    """Answers `exec` from a script: (service, a word of the command) -> output."""

    def __init__(self, answers):
        self.answers, self.ran = answers, []

    def exec(self, service, command, with_stderr=False):
        self.ran.append((service, command))
        for (where, word), output in self.answers.items():
            if where == service and word in " ".join(command):
                return CommandResult(0, output)
        return CommandResult(0, "")

    def env_of(self, service):
        return {"POSTGRES_USER": "tradelab"}


def test_the_schema_goes_back_to_the_parent_of_head():
    from canaryspec.migrations import back_one_revision
    canary = _ScriptedCanary({("backend", "show head"): (
        "Rev: 0002_created_at_index (head)\nParent: 0001_operations\nPath: x.py\n")})
    assert back_one_revision(canary) == "0001_operations"
    assert canary.ran[-1] == ("backend", ["python", "-m", "alembic", "downgrade",
                                          "0001_operations"])


def test_a_chain_of_one_revision_has_no_release_before_it():
    from canaryspec.migrations import back_one_revision
    canary = _ScriptedCanary({("backend", "show head"): "Rev: 0001 (head)\nParent: <base>\n"})
    with pytest.raises(RuntimeError, match="no revision before head"):
        back_one_revision(canary)
    assert not any("downgrade" in command for _, command in canary.ran)


def test_rows_are_written_with_a_value_for_every_required_column():
    from canaryspec.migrations import write_plain_rows
    canary = _ScriptedCanary({
        ("db", "information_schema.columns"): (
            "operation_id|character varying|NO|\nstatus|character varying|NO|\n"
            "created_at|timestamp with time zone|NO|now()\nmetadata|jsonb|NO|\n"
            "worker_id|character varying|YES|\n"),
        ("db", "indisprimary"): "operation_id\n"})
    assert write_plain_rows(canary, "operations", 2) == ["canary-row-1", "canary-row-2"]
    insert = canary.ran[-1][1][-1]
    assert insert == ('INSERT INTO "operations" ("operation_id", "status", "metadata") VALUES '
                      "('canary-row-1', 'canary-row-1', '{}'), "
                      "('canary-row-2', 'canary-row-2', '{}')")


def test_a_failed_upgrade_leads_with_the_exception_not_the_traceback_tail():
    from canaryspec.migrations import MigrationFailed, upgrade_to_head
    log = ("INFO  [alembic.runtime.migration] Running upgrade 0002 -> 0003_priority\n"
           "Traceback (most recent call last):\n  File \"x.py\", line 1, in <module>\n"
           "psycopg.errors.NotNullViolation: column \"priority\" of relation \"operations\" "
           "contains null values\n" + "  File \"sqlalchemy/engine/base.py\", line 2351\n" * 30)
    canary = SimpleNamespace(exec=lambda service, command, with_stderr=False:
                             CommandResult(1, log))
    with pytest.raises(MigrationFailed, match=r"failed \(exit 1\): psycopg.errors."
                                              r"NotNullViolation: column \"priority\""):
        upgrade_to_head(canary)
