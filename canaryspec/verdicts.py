"""The suite checks itself: broken variants of the platform, each of which a named scenario must
catch (`python -m canaryspec verdicts`, `make verdicts`).

A variant is a patch (variants/<name>.patch) applied to a scratch copy of this repository. Its
images are built from that copy under their own tag (`tradelab-<role>:variant-<name>`; the
engine's layer cache rebuilds only the layers the patch touched; roles it does not touch are the
tested images, re-tagged), then the suite runs only the features that matter against them. The
run's judged record says whether each declared scenario caught it (did not pass, with a reason
that says what the catalogue expects) and whether anything failed that should not have.
`reports/verdicts.md` lists every variant; the command fails when a variant is missed.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker.errors
from docker import DockerClient

from canaryspec.images import build_image
from canaryspec.outcomes import BLOCKED_PREFIX, Outcome
from canaryspec.reports.record import RunRecord, ScenarioRecord
from canaryspec.settings import Settings
from canaryspec.settings_paths import PROJECT_ROOT
from canaryspec.vocabulary import IMAGE_ROLES

VARIANTS_DIR = PROJECT_ROOT / "variants"
CATALOG = VARIANTS_DIR / "catalog.toml"
ANY_SCENARIO = "*"


@dataclass(frozen=True)
class Variant:
    """One way of breaking the platform, and the scenarios that must notice."""

    name: str
    breaks: str                      # what is wrong, in the product's words
    patch: Path
    rebuild: tuple[str, ...]         # image roles whose build the patch changes
    tags: str                        # behave tag expression: the features that matter
    catches: tuple[str, ...]         # scenarios that must not pass (outline: the template)
    says: str                        # a regex the catching reason must match
    may_also_fail: tuple[str, ...] = ()  # collateral failures that are expected ("*": any)
    # Scenarios whose precondition (a Given) the break defeats: each must be broken, "blocked
    # by" the root cause a catching scenario failed with — not failed on its own account.
    blocked: tuple[str, ...] = ()
    names: str = ""                  # optional behave -n filter, to run less
    settings: tuple[str, ...] = ()   # extra -D key=value for this variant's run


def load_catalog(path: Path = CATALOG) -> list[Variant]:
    """Every variant of the catalogue, in its order."""
    data = tomllib.loads(path.read_text())
    variants = []
    for name, entry in data.items():
        variants.append(Variant(
            name=name, breaks=entry["breaks"], patch=path.parent / entry["patch"],
            rebuild=tuple(entry.get("rebuild", [])), tags=entry["tags"],
            catches=tuple(entry["catches"]), says=entry["says"],
            may_also_fail=tuple(entry.get("may_also_fail", [])),
            blocked=tuple(entry.get("blocked", [])), names=entry.get("names", ""),
            settings=tuple(entry.get("settings", []))))
    return variants


def template(name: str) -> str:
    """A scenario's name without an outline row's " -- @1.2 Examples" suffix."""
    return name.split(" -- @", 1)[0]


@dataclass
class Judgement:
    """What the run against one variant showed."""

    variant: Variant
    caught_by: list[ScenarioRecord] = field(default_factory=list)
    missed_by: list[str] = field(default_factory=list)   # declared catchers that passed / absent
    unexpected: list[ScenarioRecord] = field(default_factory=list)
    exit_code: int | None = None
    seconds: float = 0.0
    problem: str = ""  # the variant could not be built or run

    @property
    def caught(self) -> bool:
        return not self.problem and not self.missed_by and bool(self.caught_by)

    @property
    def clean(self) -> bool:
        return self.caught and not self.unexpected


def judge_variant(variant: Variant, record: RunRecord) -> Judgement:
    """Did each declared scenario catch the variant, saying why; did anything else fail?"""
    judgement = Judgement(variant)
    says = re.compile(variant.says, re.IGNORECASE)
    for wanted in variant.catches:
        runs = [s for s in record.scenarios if template(s.name) == wanted]
        catching = [s for s in runs if s.outcome in (Outcome.FAILED, Outcome.BROKEN)
                    and says.search(s.reason)]
        if runs and len(catching) == len(runs):
            judgement.caught_by += catching
        else:
            seen = "; ".join(f"{s.status}: {s.headline[:200]}" for s in runs) or "not run"
            judgement.missed_by.append(f"{wanted} ({seen})")
    causes = {s.root_cause for s in judgement.caught_by}
    for wanted in variant.blocked:
        runs = [s for s in record.scenarios if template(s.name) == wanted]
        blocked = [s for s in runs if s.outcome is Outcome.BROKEN
                   and s.reason.startswith(BLOCKED_PREFIX) and s.root_cause in causes]
        if runs and len(blocked) == len(runs):
            judgement.caught_by += blocked
        else:
            seen = "; ".join(f"{s.status}: {s.headline[:200]}" for s in runs) or "not run"
            judgement.missed_by.append(f"{wanted} (expected blocked by one of "
                                       f"{sorted(causes) or 'no finding'}; {seen})")
    allowed = set(variant.catches) | set(variant.may_also_fail) | set(variant.blocked)
    for scenario in record.scenarios:
        if scenario.outcome in (Outcome.PASSED, Outcome.SKIPPED):
            continue
        if ANY_SCENARIO in allowed or template(scenario.name) in allowed:
            continue
        judgement.unexpected.append(scenario)
    return judgement


def waits_on_timers(variant: Variant) -> bool:
    """A fault variant: its scenarios wait on the platform's own timers (restarts, outages,
    orphan timeouts); a selection that leaves the faults out (`not @faults`) is not one."""
    return "@faults" in variant.tags and "not @faults" not in variant.tags


def longest_first(variants: list[Variant]) -> list[Variant]:
    """The variants in the order to start them when several are judged at once: those whose
    scenarios wait on the platform's own timers (faults: restarts, outages, orphan timeouts)
    first, then those that run a whole feature, then those that run named scenarios; the
    catalogue's order within each."""
    def weight(variant: Variant) -> int:
        return 2 * waits_on_timers(variant) + (not variant.names)

    return sorted(variants, key=weight, reverse=True)


def scratch_copy(destination: Path) -> Path:
    """The repository's tracked files plus the wheelhouse (what the images are built from)."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=PROJECT_ROOT, capture_output=True,
                           check=True).stdout.decode().split("\0")
    for name in filter(None, files):
        source = PROJECT_ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    shutil.copytree(PROJECT_ROOT / "build" / "wheelhouse", destination / "build" / "wheelhouse")
    return destination


def apply_patch(patch: Path, tree: Path) -> None:
    result = subprocess.run(["git", "apply", "--whitespace=nowarn", str(patch)], cwd=tree,
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{patch.name} does not apply: {result.stderr.strip()}")


def variant_tag(variant: Variant) -> str:
    return f"variant-{variant.name}"


# A changed copy of the platform, judged by the suite: shared by the variants (a patch someone
# wrote) and the mutants (canaryspec.mutants: a change a mutation operator made).


def build_changed_images(client: DockerClient, settings: Settings, tag: str,
                         rebuild: tuple[str, ...], tree: Path, logs: Path) -> None:
    """Every image role under `tag`: the roles in `rebuild` built from `tree`, the others the
    tested images re-tagged (a change that does not touch their build needs no build)."""
    for role in IMAGE_ROLES:
        target = settings.profile.image_names[role]
        if role in rebuild:
            dockerfile = tree / settings.profile.dockerfiles[role].relative_to(PROJECT_ROOT)
            build_image(client, dockerfile, f"{target}:{tag}", base_image=settings.base_image,
                        log_path=logs / f"build-{role}.log", context=tree)
        else:
            client.images.get(settings.image(role)).tag(target, tag)


def remove_changed_images(client: DockerClient, settings: Settings, tag: str) -> None:
    for role in IMAGE_ROLES:
        name = f"{settings.profile.image_names[role]}:{tag}"
        # Already gone, or still used by a leftover container: harmless either way.
        with contextlib.suppress(docker.errors.APIError):
            client.images.remove(name)


class TrialRuns:
    """The suite runs this process started, one per trial. A signal that stops this process
    (Ctrl-C, or CI's SIGTERM, which reaches only this process) is passed on to each, so each
    tears its canary down and writes its reports as any interrupted run does; no trial starts
    after it, and the trials' own clean-up (their images) still runs."""

    def __init__(self) -> None:
        # Re-entrant: the handler (stop) may run on a thread that holds it (the mutants'
        # baseline runs on the main thread, where signals are handled).
        self._lock = threading.RLock()
        self._running: set[subprocess.Popen[bytes]] = set()
        self.stopped_by: str | None = None  # the signal's name, once one came

    def run(self, command: list[str], **popen: Any) -> int:
        with self._lock:
            if self.stopped_by:
                raise TrialsStopped(self.stopped_by)
            process = subprocess.Popen(command, **popen)
            self._running.add(process)
            if self.stopped_by:  # a signal came while it started: it gets it too
                process.send_signal(signal.Signals[self.stopped_by])
        try:
            return process.wait()
        finally:
            with self._lock:
                self._running.discard(process)

    def stop(self, signum: int, _frame: object = None) -> None:
        """A signal handler: pass the signal on to every run, start no other."""
        with self._lock:
            self.stopped_by = self.stopped_by or signal.Signals(signum).name
            for process in self._running:
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signum)

    def stop_on_signals(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self.stop)


class TrialsStopped(RuntimeError):
    def __init__(self, signal_name: str) -> None:
        super().__init__(f"not judged: the self-check was interrupted by {signal_name}")


# This process's runs: signal handlers are process-wide by nature.
TRIAL_RUNS = TrialRuns()


def run_suite_on(tag: str, tags: str, reports: Path, names: str = "",
                 extra_settings: tuple[str, ...] = ()) -> int:
    """The suite, in its own process, on the images tagged `tag`: only the features `tags`
    selects (and `names`, when given); its console goes to <reports>.console.log."""
    command = [sys.executable, "-m", "canaryspec", "run", "--tags", tags,
               "-D", f"image_tag={tag}", "-D", "build=false", "-D", f"reports_dir={reports}"]
    if names:
        command += ["-n", names]
    for extra in extra_settings:
        command += ["-D", extra]
    # CANARYSPEC_* variables outrank -D: the ones this run sets must not reach it from ours
    # (seen: CANARYSPEC_REPORTS_DIR sent every trial's reports to one folder).
    env = {k: v for k, v in os.environ.items()
           if k not in {"CANARYSPEC_IMAGE_TAG", "CANARYSPEC_BUILD", "CANARYSPEC_REPORTS_DIR"}}
    with (reports.parent / f"{reports.name}.console.log").open("w") as console:
        return TRIAL_RUNS.run(command, cwd=PROJECT_ROOT, stdout=console, env=env,
                              stderr=subprocess.STDOUT)


@dataclass
class Trial:
    """What the suite said about one changed copy of the platform."""

    record: RunRecord | None = None
    exit_code: int | None = None
    problem: str = ""          # the change could not be made, built or run
    build_failed: bool = False  # ... because an image of it did not build
    seconds: float = 0.0


def run_trial(client: DockerClient, settings: Settings, *, tag: str,
              change: Callable[[Path], None], rebuild: tuple[str, ...], tags: str,
              reports: Path, names: str = "", extra_settings: tuple[str, ...] = ()) -> Trial:
    """Change a scratch copy of the repository (`change(tree)`), build the roles it changes
    under `tag`, run the selected features against them; the images are removed after."""
    started = time.monotonic()
    trial = Trial()
    if TRIAL_RUNS.stopped_by:  # nothing built, nothing to clean
        trial.problem = str(TrialsStopped(TRIAL_RUNS.stopped_by))
        return trial
    reports.mkdir(parents=True, exist_ok=True)
    building = False
    try:
        with tempfile.TemporaryDirectory(prefix=f"{tag}-") as scratch:
            tree = scratch_copy(Path(scratch))
            change(tree)
            building = True
            build_changed_images(client, settings, tag, rebuild, tree, reports)
            building = False
            # `{tree}` in a setting is the changed copy: a variant of a deployment file (the
            # canary's compose file) runs from there.
            trial.exit_code = run_suite_on(tag, tags, reports, names, tuple(
                extra.replace("{tree}", str(tree)) for extra in extra_settings))
        trial.record = RunRecord.read(reports)
        if TRIAL_RUNS.stopped_by:  # an interrupted run proves nothing about the change
            trial.problem = str(TrialsStopped(TRIAL_RUNS.stopped_by))
        elif trial.record is None:
            trial.problem = f"the run left no run.json (exit {trial.exit_code})"
    except Exception as exc:  # a change that cannot be built or run is reported, not fatal
        trial.problem = f"{type(exc).__name__}: {exc}"
        trial.build_failed = building
    finally:
        remove_changed_images(client, settings, tag)
    trial.seconds = time.monotonic() - started
    return trial


def check_variant(client: DockerClient, settings: Settings, variant: Variant,
                  reports_root: Path) -> Judgement:
    trial = run_trial(client, settings, tag=variant_tag(variant),
                      change=lambda tree: apply_patch(variant.patch, tree),
                      rebuild=variant.rebuild, tags=variant.tags,
                      reports=reports_root / variant.name, names=variant.names,
                      extra_settings=variant.settings)
    if trial.record is None or trial.problem:
        judgement = Judgement(variant, problem=trial.problem)
    else:
        judgement = judge_variant(variant, trial.record)
    judgement.exit_code = trial.exit_code
    judgement.seconds = trial.seconds
    return judgement


def render(judgements: list[Judgement], total_seconds: float) -> str:
    caught = sum(j.caught for j in judgements)
    clean = sum(j.clean for j in judgements)
    verdict = "PASSED" if clean == len(judgements) else "FAILED"
    out = [f"# Verdicts: {verdict} — {caught} of {len(judgements)} broken variants caught, "
           f"{clean} with no unexpected failure", "",
           f"Each variant breaks the platform in one way; the named scenarios must catch it. "
           f"Wall time {total_seconds:.0f} s.", "",
           "| variant | what it breaks | caught | by | message | unexpected failures | s |",
           "|---|---|---|---|---|---|---:|"]

    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    for j in judgements:
        status = "✅ caught" if j.caught else "❌ MISSED"
        by = "; ".join(sorted({template(s.name) for s in j.caught_by}))
        message = j.problem or (j.caught_by[0].headline[:240] if j.caught_by else "") or \
            "; ".join(j.missed_by)
        unexpected = "; ".join(f"{s.name} ({s.status}: {s.headline[:120]})"
                               for s in j.unexpected) or "none"
        out.append(f"| `{j.variant.name}` | {cell(j.variant.breaks)} | {status} | {cell(by)} | "
                   f"{cell(message)} | {cell(unexpected)} | {j.seconds:.0f} |")
    missed = [j for j in judgements if not j.caught]
    if missed:
        out += ["", "## Missed", ""]
        out += [f"- `{j.variant.name}`: {j.problem or '; '.join(j.missed_by)}" for j in missed]
    return "\n".join(out) + "\n"


def write_reports(judgements: list[Judgement], total_seconds: float, reports_dir: Path) -> Path:
    path = reports_dir / "verdicts.md"
    path.write_text(render(judgements, total_seconds))
    (reports_dir / "verdicts.json").write_text(json.dumps([{
        "variant": j.variant.name, "breaks": j.variant.breaks, "caught": j.caught,
        "clean": j.clean, "caught_by": [s.name for s in j.caught_by],
        "message": j.caught_by[0].reason if j.caught_by else "", "missed_by": j.missed_by,
        "unexpected": [{"name": s.name, "status": s.status, "reason": s.reason}
                       for s in j.unexpected],
        "problem": j.problem, "exit_code": j.exit_code, "seconds": round(j.seconds, 1)}
        for j in judgements], indent=2) + "\n")
    return path
