"""Questions about an image, answered by running it: what it imports, who it runs as, PID 1."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from docker import DockerClient

from canaryspec import needs
from canaryspec.images import CommandResult, ImageFacts, run_in_image
from canaryspec.needs import Need
from canaryspec.probe_cache import ProbeCache

# What counts as an init: processes that reap zombies and forward signals.
INIT_PROCESSES = {"tini", "tini-static", "dumb-init", "docker-init", "catatonit", "s6-svscan"}
@dataclass(frozen=True)
class TorchFacts:
    """What an image's torch is: its version, the CUDA it was built for (None for a CPU build),
    whether a GPU is visible on this host, and the nvidia-* distributions beside it."""

    version: str
    cuda_build: str | None
    gpu_visible: bool
    nvidia_distributions: tuple[str, ...]


def cuda_evidence(torch: TorchFacts) -> list[str]:
    """Why a torch install is a CUDA build (empty for a CPU build): the CUDA version it was built
    for and the nvidia-* distributions beside it. Whether this host has a GPU does not matter."""
    evidence = [f"torch {torch.version} built for CUDA {torch.cuda_build}"] \
        if torch.cuda_build else []
    if torch.nvidia_distributions:
        evidence.append(f"{len(torch.nvidia_distributions)} nvidia-* distributions "
                        f"({', '.join(torch.nvidia_distributions)})")
    return evidence


@dataclass
class ImageProbe:
    """Runs throwaway containers of one image to learn facts about it; with a cache, a command
    already answered in this image (same id) is not run again (canaryspec.probe_cache)."""

    client: DockerClient
    facts: ImageFacts
    labels: dict[str, str]
    cache: ProbeCache | None = None
    on_answer: Callable[[str], None] | None = None  # told where each answer came from

    def run(self, command: list[str]) -> CommandResult:
        needs.used(Need.IMAGES)

        def ask() -> CommandResult:
            return run_in_image(self.client, self.facts.tag, command, labels=self.labels)

        if self.cache is None:
            return ask()
        answer = self.cache.answer(self.facts.image_id, command, ask)
        if self.on_answer is not None:
            self.on_answer(answer.source)
        return answer.result

    def python(self, code: str) -> CommandResult:
        return self.run(["python", "-c", code])

    def can_import(self, module: str) -> CommandResult:
        return self.python(f"import {module}")

    def has_module(self, module: str) -> bool:
        return self.can_import(module).exit_code == 0

    def torch_facts(self) -> TorchFacts:
        """What the image's torch is (TorchFacts); AssertionError when it does not import."""
        result = self.python(
            "import json, torch, importlib.metadata as m; print(json.dumps({"
            "'version': torch.__version__, 'cuda_build': torch.version.cuda, "
            "'gpu_visible': torch.cuda.is_available(), 'nvidia_distributions': sorted("
            "d.metadata['Name'] for d in m.distributions() "
            "if (d.metadata['Name'] or '').lower().startswith('nvidia-'))}))")
        if result.exit_code != 0:
            raise AssertionError(f"torch does not import in {self.facts.tag}: {result.output}")
        facts = json.loads(result.output.splitlines()[-1])
        return TorchFacts(str(facts["version"]), facts["cuda_build"], bool(facts["gpu_visible"]),
                          tuple(facts["nvidia_distributions"]))

    def migration_files(self) -> list[str]:
        """Alembic configuration and migration scripts anywhere in the image (installed
        packages aside: a library is not a migration)."""
        # Without find, the pipeline would print nothing: "no migrations" by accident.
        script = ("command -v find >/dev/null || exit 127; "
                  "find / -xdev \\( -name '*-packages' -o -name proc -o -name sys \\) -prune "
                  "-o \\( -name alembic.ini -o -path '*/versions/*.py' \\) -print 2>/dev/null "
                  "| while read -r f; do case $f in *alembic.ini) echo $f;; *) "
                  "grep -lE '^(down_)?revision[^=]*=' $f;; "
                  "esac; done")
        result = self.run(["sh", "-c", script])
        if result.exit_code == 127:
            raise RuntimeError(f"cannot look for migration files in {self.facts.tag}: it has no "
                               "`find`")
        return sorted(line for line in result.output.splitlines() if line.startswith("/"))

    def migration_heads(self) -> tuple[list[str], CommandResult]:
        """The head revisions of the image's migration scripts (`alembic heads`, run in its
        working directory: it reads the scripts and needs no database), and the answer."""
        result = self.run(["python", "-m", "alembic", "heads"])
        heads = [line.split()[0] for line in result.output.splitlines()
                 if line.strip().endswith("(head)")] if result.exit_code == 0 else []
        return heads, result

    def imports_without(self, module: str, forbidden: str) -> CommandResult:
        """Import `module` and fail if that pulled in `forbidden` (e.g. the app without torch)."""
        return self.python(f"import sys, {module}; "
                           f"assert {forbidden!r} not in sys.modules, "
                           f"'{module} imported {forbidden}'")

    def package_dirs(self, package: str) -> list[str]:
        """Every installed copy of a Python package in the image (any site- or dist-packages
        of any interpreter), found on disk rather than through one interpreter's path."""
        result = self.run(["find", "/", "-xdev", "-type", "d", "-name", package,
                           "-path", "*-packages/*", "-prune"])
        return sorted(line for line in result.output.splitlines()
                      if line.endswith(f"-packages/{package}"))

    def uid(self) -> CommandResult:
        return self.run(["id", "-u"])

    def pid1(self) -> str:
        """The name of PID 1 when the image runs with its own entrypoint."""
        result = self.run(["cat", "/proc/1/comm"])
        return result.output.strip() if result.exit_code == 0 else f"(failed: {result.output})"

    def has_file(self, path: str) -> bool:
        return self.run(["test", "-f", path]).exit_code == 0
