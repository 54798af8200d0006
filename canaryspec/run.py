"""One run of the suite: who owns it, its images, its canaries, and what it records.

Created in before_all and kept on behave's context as `context.run`. Each part has one reason
to change: `images` (canaryspec.images.ImageSet) builds and reads the images, `canaries`
(canaryspec.canaries.CanaryPool) starts and removes the canaries, `record`
(canaryspec.reports.record.RunRecord) is what the reports are rendered from.
"""

from __future__ import annotations

import platform
import secrets
import subprocess
from dataclasses import dataclass, field
from typing import Any

from docker import DockerClient

from canaryspec import needs
from canaryspec.attached import AttachedPool
from canaryspec.canaries import CanaryPool
from canaryspec.canary import ComposeModel, check_ports_free, compose_environment, find_compose
from canaryspec.clock import PhaseClock
from canaryspec.handle import CanaryHandle
from canaryspec.images import ImageSet, connect_engine
from canaryspec.jobs import StartedJob
from canaryspec.owners import Owner, sweep_dead_runs
from canaryspec.reports.record import RunRecord
from canaryspec.settings import Settings
from canaryspec.settings_paths import PROJECT_ROOT


@dataclass
class Run:
    settings: Settings
    run_id: str = field(default_factory=lambda: secrets.token_hex(3))
    clock: PhaseClock = field(default_factory=PhaseClock)
    # Models trained in this run's shared canary, by what was asked (jobs.ModelSpec): their
    # paths (a backtest reuses one instead of training) and their trainings' result summaries.
    trained_models: dict[Any, str] = field(default_factory=dict)
    training_results: dict[Any, dict[str, Any]] = field(default_factory=dict)
    record: RunRecord = field(init=False)
    owner: Owner = field(init=False)
    images: ImageSet = field(init=False)
    canaries: CanaryPool | AttachedPool | None = None
    compose: list[str] | None = None
    # With stop_at_first_finding: the scenario whose finding stopped the run (later ones skip).
    first_finding: str | None = None
    _docker: DockerClient | None = None

    def __post_init__(self) -> None:
        self.record = RunRecord(
            run_id=self.run_id, profile=self.settings.profile.name,
            deployment=self.settings.deployment,
            size_reduction_promised=self.settings.min_size_reduction_percent)
        self.owner = Owner(self.run_id, keep=self.settings.keep)
        self.images = ImageSet(self.settings, lambda: self.docker, self.clock, self.record)

    @property
    def docker(self) -> DockerClient:
        if self._docker is None:
            self._docker = connect_engine()
        return self._docker

    def start(self) -> None:
        """Compose and the compose file checked, dead runs' leftovers removed, canaries ready
        to be started on first use; attached, only the deployment to reach (no engine)."""
        if self.settings.attached:
            self.canaries = AttachedPool(self.settings, self.clock, self.record)
            return
        self.compose = find_compose()
        model = ComposeModel.read(self.compose, self.settings.canary_compose_file,
                                  compose_environment())
        check_ports_free(self.settings, model)
        for leftovers in sweep_dead_runs(self.docker):
            self.clock.say(f"removed what a dead run left: {leftovers.describe()}")
        self.canaries = CanaryPool(self.settings, lambda: self.docker, self.compose, model,
                                   self.owner, self.clock, self.record, self.images)

    def record_job(self, started: StartedJob) -> None:
        """A completed job's duration, for the report's job timings."""
        if started.seconds is not None and started.final and started.final.status == "completed":
            self.record.jobs.append({"job": started.job.name, "strategy": started.strategy,
                                     "operation_id": started.operation_id,
                                     "seconds": round(started.seconds, 2)})

    def note_memory(self, moment: str, handle: CanaryHandle) -> None:
        """Each service's resident memory at a named moment ("during a training")."""
        with needs.not_counted():  # a figure for the report, not a check
            self.record.memory[moment] = handle.canary.memory_mb()

    def close(self) -> None:
        if self.canaries is not None:
            self.canaries.close()

    def finish_record(self) -> RunRecord:
        """The record's run-wide parts: phases and where the run happened."""
        self.record.phases = [{"phase": n, "seconds": round(s, 2)} for n, s in self.clock.phases]
        try:
            engine = str(self._docker.version().get("Version", "unknown")) if self._docker \
                else "not contacted"
        except Exception:  # the engine may be the very thing that went away
            engine = "unreachable"
        self.record.environment = describe_environment(engine, self.compose)
        self.record.environment["ports"] = describe_ports(self.record.ports)
        return self.record


def describe_ports(ports: dict[str, dict[str, str]]) -> str:
    """What the canaries' published ports really were (read from the engine, not assumed)."""
    bound = [address for project in ports.values() for address in project.values()]
    if not bound:
        return "no canary started"
    hosts = sorted({address.rsplit(":", 1)[0] for address in bound})
    return f"{len(bound)} port(s) published on {', '.join(hosts)}: " + "; ".join(
        f"{service} -> {address}" for project in ports.values()
        for service, address in project.items())


def _command_output(command: list[str]) -> str:
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=20,
                                cwd=PROJECT_ROOT)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return result.stdout.strip().splitlines()[0] if result.returncode == 0 and \
        result.stdout.strip() else "unknown"


def describe_environment(engine_version: str, compose: list[str] | None) -> dict[str, str]:
    """Where the run happened: engine, Compose, git revision, host Python."""
    revision = _command_output(["git", "rev-parse", "--short", "HEAD"])
    dirty = _command_output(["git", "status", "--porcelain", "--untracked-files=no"])
    return {
        "docker.engine": engine_version,
        "compose": _command_output([*compose, "version", "--short"]) if compose else
        "not used in this run",
        "git.revision": revision + ("+local changes" if dirty not in {"unknown", ""} else ""),
        "python": platform.python_version(),
    }
