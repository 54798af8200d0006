"""Who owns a canary: labels on everything a run creates, and the sweep of dead runs' leftovers.

Every container, network and volume of a run carries the labels below (testcontainers' "session
labels"). A run that died without cleaning up (kill -9, a crashed runner) leaves its canary; the
next run on the same host removes it, because its owner process is gone, and says so. A live
run's canary, another host's, and one kept on purpose (keep=true) are never touched.
"""

from __future__ import annotations

import os
import socket
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import docker.errors
from docker import DockerClient

from canaryspec.settings_paths import PROJECT_ROOT

PREFIX = "io.canaryspec"
RUN = f"{PREFIX}.run"
OWNER_HOST = f"{PREFIX}.owner.host"
OWNER_PID = f"{PREFIX}.owner.pid"
# The owner's start time in clock ticks since boot: a pid reused by another process after the
# owner died has a different one, so it does not pass for the owner.
OWNER_BOOT_TICKS = f"{PREFIX}.owner.start-ticks"
STARTED = f"{PREFIX}.started"
CHECKOUT = f"{PREFIX}.checkout"
KEEP = f"{PREFIX}.keep"
PROBE = f"{PREFIX}.probe"  # a throwaway container that runs one command in an image
PROJECT = "com.docker.compose.project"


def process_start_ticks(pid: int) -> str:
    """Field 22 of /proc/<pid>/stat (start time since boot), or "" where there is no /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    # The command name (field 2) may hold spaces and parentheses: split after its last ")".
    return stat.rsplit(")", 1)[1].split()[19]


@dataclass(frozen=True)
class Owner:
    """The process that owns a run's resources."""

    run_id: str
    host: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)
    start_ticks: str = field(default_factory=lambda: process_start_ticks(os.getpid()))
    started: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    checkout: str = str(PROJECT_ROOT)
    keep: bool = False

    def labels(self) -> dict[str, str]:
        labels = {RUN: self.run_id, OWNER_HOST: self.host, OWNER_PID: str(self.pid),
                  OWNER_BOOT_TICKS: self.start_ticks, STARTED: self.started,
                  CHECKOUT: self.checkout}
        if self.keep:
            labels[KEEP] = "true"
        return labels

    def probe_labels(self) -> dict[str, str]:
        """Labels of an image probe: the run's, never kept."""
        return {**{k: v for k, v in self.labels().items() if k != KEEP}, PROBE: "true"}


def owner_alive(labels: dict[str, str], host: str | None = None) -> bool:
    """Whether the process named by `labels` still runs. Resources of another host, or with no
    owner labels at all, count as alive: they are not ours to judge."""
    host = host or socket.gethostname()
    if labels.get(OWNER_HOST) != host or not labels.get(OWNER_PID, "").isdigit():
        return True
    pid = int(labels[OWNER_PID])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by another user
    recorded = labels.get(OWNER_BOOT_TICKS, "")
    return not recorded or process_start_ticks(pid) in {"", recorded}


@dataclass
class Leftovers:
    """What one dead run left, by project (or run id, for probe containers)."""

    name: str
    owner: str
    containers: list[str] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)

    def describe(self) -> str:
        parts = [f"{len(v)} {k}" for k, v in (("container(s)", self.containers),
                                              ("network(s)", self.networks),
                                              ("volume(s)", self.volumes)) if v]
        return f"{self.name} (left by {self.owner}): {', '.join(parts)}"


def _is_dead_and_unkept(labels: dict[str, str]) -> bool:
    return labels.get(KEEP) != "true" and not owner_alive(labels)


def sweep_dead_runs(client: DockerClient) -> list[Leftovers]:
    """Remove what runs whose owner process is dead left on this engine; return what it was."""
    found: dict[str, Leftovers] = {}

    def entry(labels: dict[str, str]) -> Leftovers:
        name = labels.get(PROJECT) or f"run {labels.get(RUN, '?')} probes"
        owner = (f"pid {labels.get(OWNER_PID)} on {labels.get(OWNER_HOST)}, started "
                 f"{labels.get(STARTED, '?')}")
        return found.setdefault(name, Leftovers(name, owner))

    filters = {"label": [OWNER_PID]}
    for container in client.containers.list(all=True, filters=filters, ignore_removed=True):
        labels = container.labels or {}
        if _is_dead_and_unkept(labels):
            _ignore_gone(lambda c=container: c.remove(force=True, v=True))
            entry(labels).containers.append(container.name)
    by_kind: dict[str, list] = defaultdict(list)
    by_kind["networks"] = client.networks.list(filters=filters)
    by_kind["volumes"] = client.volumes.list(filters=filters)
    for kind, resources in by_kind.items():
        for resource in resources:
            labels = resource.attrs.get("Labels") or {}
            if _is_dead_and_unkept(labels):
                _ignore_gone(resource.remove)
                getattr(entry(labels), kind).append(resource.name)
    return list(found.values())


def _ignore_gone(remove) -> None:  # type: ignore[no-untyped-def]
    try:
        remove()
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError as exc:
        if "in progress" not in str(exc) and "No such" not in str(exc):
            raise


def remove_kept(client: DockerClient, project: str | None = None) -> list[str]:
    """Remove canaries left running on purpose (keep=true), or one project by name."""
    label = f"{PROJECT}={project}" if project else f"{KEEP}=true"
    removed: list[str] = []
    filters = {"label": [label, OWNER_PID]}
    for container in client.containers.list(all=True, filters=filters, ignore_removed=True):
        _ignore_gone(lambda c=container: c.remove(force=True, v=True))
        removed.append(f"container {container.name}")
    for network in client.networks.list(filters=filters):
        _ignore_gone(network.remove)
        removed.append(f"network {network.name}")
    for volume in client.volumes.list(filters=filters):
        _ignore_gone(volume.remove)
        removed.append(f"volume {volume.name}")
    return removed
