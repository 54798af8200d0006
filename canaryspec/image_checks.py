"""Questions about an image, answered by running it: what it imports, who it runs as, PID 1."""

from __future__ import annotations

import json
from dataclasses import dataclass

from docker import DockerClient

from canaryspec.images import CommandResult, ImageFacts, run_in_image

# What counts as an init: processes that reap zombies and forward signals.
INIT_PROCESSES = {"tini", "tini-static", "dumb-init", "docker-init", "catatonit", "s6-svscan"}
# Product names of images, as the feature files say them.
IMAGE_NAMES = {"backend": "backend", "CPU worker": "worker-cpu", "monolith": "worker-gpu",
               "database": "db"}


def role_of(name: str) -> str:
    try:
        return IMAGE_NAMES[name]
    except KeyError:
        raise AssertionError(f"no image called {name!r}; known: {', '.join(IMAGE_NAMES)}") \
            from None


@dataclass
class ImageProbe:
    """Runs throwaway containers of one image to learn facts about it."""

    client: DockerClient
    facts: ImageFacts
    labels: dict[str, str]

    def run(self, command: list[str]) -> CommandResult:
        return run_in_image(self.client, self.facts.tag, command, labels=self.labels)

    def python(self, code: str) -> CommandResult:
        return self.run(["python", "-c", code])

    def can_import(self, module: str) -> CommandResult:
        return self.python(f"import {module}")

    def torch_facts(self) -> dict[str, object]:
        result = self.python("import json, torch; print(json.dumps({'version': "
                             "torch.__version__, 'cuda': torch.cuda.is_available()}))")
        if result.exit_code != 0:
            raise AssertionError(f"torch does not import in {self.facts.tag}: {result.output}")
        return json.loads(result.output.splitlines()[-1])

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
