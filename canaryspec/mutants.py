"""A mutation sample nobody wrote (`python -m canaryspec mutants`, `make mutants`).

The variants (canaryspec.verdicts) are breaks someone thought of; a mutant is a break a machine
made. Cosmic Ray's operators list every place they can change tradelab's backend, workers and
ml code (a mutation *site*: file, operator, occurrence), a seeded random sample of those sites is
drawn, and each mutant goes through the same machinery as a variant: a scratch copy with the one
mutated file, the image that file belongs to rebuilt under its own tag, the features of its area
run against it. A mutant is killed when a scenario fails or is broken, build-or-boot-broken when
its image does not build or its canary does not come up (killed too), survived when every
scenario passes. Mutants judged equivalent (no behaviour could tell them apart) are listed in
variants/mutants-equivalent.toml and not run. reports/mutants.md (and mutants.json) say what
became of each, with the scenario and message that killed it.
"""

from __future__ import annotations

import difflib
import fnmatch
import hashlib
import json
import random
import re
import tomllib
import warnings
from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from docker import DockerClient

from canaryspec.outcomes import CANARY_DOWN, INFRASTRUCTURE, Outcome
from canaryspec.reports.record import RunRecord
from canaryspec.settings import Settings
from canaryspec.settings_paths import PROJECT_ROOT
from canaryspec.verdicts import run_suite_on, run_trial

MUTATED = ("tradelab/backend/**/*.py", "tradelab/workers/*.py", "tradelab/ml/*.py")
NOT_MUTATED_FILES = ("__init__.py", "__main__.py")
EQUIVALENT_FILE = PROJECT_ROOT / "variants" / "mutants-equivalent.toml"

ALL_CANARY = "@workers or @dispatch or @training or @backtest or @security"
# The features that can notice a change to a file: the first pattern that matches decides.
AREA_TAGS: tuple[tuple[str, str], ...] = (
    # The backend's start-up and its health also decide what the migrations feature sees.
    ("tradelab/backend/app.py", f"{ALL_CANARY} or @migrations"),
    ("tradelab/backend/routes/health.py", f"{ALL_CANARY} or @migrations"),
    ("tradelab/backend/*", ALL_CANARY),
    ("tradelab/db/*", "@migrations"),
    ("tradelab/migrations/*", "@migrations"),
    ("tradelab/workers/training.py", "@training or @dispatch"),
    ("tradelab/ml/training.py", "@training or @dispatch"),
    ("tradelab/workers/backtesting.py", "@backtest"),
    ("tradelab/ml/backtest.py", "@backtest"),
    ("tradelab/ml/*", "@training or @backtest or @security"),
    ("tradelab/workers/*", ALL_CANARY),  # registration, the job loop, SIGTERM: every job
)
# The image a file is built into (the split's images; the monolith is re-tagged, unchanged:
# none of the features a mutant runs uses it).
IMAGE_OF = (("tradelab/backend/*", "backend"), ("tradelab/db/*", "backend"),
            ("tradelab/migrations/*", "backend"), ("tradelab/*", "worker-cpu"))

# Logging calls are not mutated: no scenario reads a log line, so every such mutant survives.
_LOGGING_LINE = re.compile(r"^\s*(?:log|logger|logging|LOG|LOGGER)\.\w+\(")
# cosmic-ray's ExceptionReplacer writes `except CosmicRayTestingException:`; cosmic-ray defines
# that name in its own test process, the images do not have it, so the mutant module defines it.
_TESTING_EXCEPTION = "CosmicRayTestingException"


def tags_for(file: str) -> str:
    """The behave tag expression selecting the features of `file`'s area."""
    return next(tags for pattern, tags in AREA_TAGS if fnmatch.fnmatch(file, pattern))


def image_role_of(file: str) -> str:
    return next(role for pattern, role in IMAGE_OF if fnmatch.fnmatch(file, pattern))


@dataclass(frozen=True)
class Site:
    """One mutation cosmic-ray can make: `operator`'s `occurrence`-th change in `file`."""

    file: str          # relative to the repository, posix
    operator: str      # cosmic-ray's name, e.g. core/ReplaceComparisonOperator_Lt_Gt
    occurrence: int    # cosmic-ray's index of this change among the operator's in the file
    line: int
    column: int
    id: str            # stable while the line itself does not change (see site_ids)

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


def mutated_files(root: Path = PROJECT_ROOT) -> list[str]:
    """The files mutants are drawn from, relative to `root`, sorted."""
    found = {path.relative_to(root).as_posix() for pattern in MUTATED
             for path in root.glob(pattern) if path.name not in NOT_MUTATED_FILES}
    return sorted(found)


def _operators() -> list[tuple[str, object]]:
    """cosmic-ray's operators that take no arguments, by name (a stable order)."""
    from cosmic_ray.plugins import get_operator, operator_names

    operators = []
    for name in sorted(operator_names()):
        operator_class = get_operator(name)
        if not operator_class.arguments():
            operators.append((name, operator_class()))
    return operators


def _in_annotation(node) -> bool:  # type: ignore[no-untyped-def]
    """Inside a type annotation: with postponed annotations (every tradelab module), mostly
    never evaluated, so a mutant there is equivalent by construction."""
    child, parent = node, node.parent
    while parent is not None:
        siblings = parent.children
        index = siblings.index(child)
        if parent.type in ("tfpdef", "annassign") and index > 0 and \
                getattr(siblings[index - 1], "value", "") == ":":
            return True
        if parent.type == "funcdef" and index > 0 and \
                getattr(siblings[index - 1], "value", "") == "->":
            return True
        child, parent = parent, parent.parent
    return False


def site_ids(file: str, keys: Iterable[tuple[str, str, int]]) -> list[str]:
    """A stable id per site: a hash of the file, the operator, the mutated line's text and the
    column in it, and which of the identical ones it is. Edits elsewhere in the file do not
    change it (the line number is not part of it)."""
    seen: Counter[str] = Counter()
    ids = []
    for operator, text, column in keys:
        key = f"{file}\n{operator}\n{text.strip()}\n{column - (len(text) - len(text.lstrip()))}"
        ids.append(hashlib.sha1(f"{key}\n{seen[key]}".encode()).hexdigest()[:10])
        seen[key] += 1
    return ids


def sites_in(file: str, source: str) -> list[Site]:
    """Every site of every operator in one file's source, in cosmic-ray's order.

    Not counted: logging calls, type annotations, and what cosmic-ray offers but cannot make
    or makes into code that does not compile (`**` of a dict unpacking "replaced" by `<<`): such
    a mutant would only test the parser.
    """
    from cosmic_ray.ast import ast_nodes, get_ast

    lines = source.splitlines()
    nodes = list(ast_nodes(get_ast(source)))   # the order cosmic-ray counts occurrences in
    found: list[tuple[str, int, int, int]] = []   # operator, occurrence, line, column
    for name, operator in _operators():
        occurrence = 0
        for node in nodes:
            for (line, column), _ in operator.mutation_positions(node):  # type: ignore[attr-defined]
                text = lines[line - 1] if line <= len(lines) else ""
                if not _LOGGING_LINE.match(text) and not _in_annotation(node) and \
                        _really_binary(name, node) and _compiles(file, source, name, occurrence):
                    found.append((name, occurrence, line, column))
                occurrence += 1
    ids = site_ids(file, [(name, lines[line - 1], column) for name, _, line, column in found])
    return [Site(file, name, occurrence, line, column, site_id)
            for (name, occurrence, line, column), site_id in zip(found, ids, strict=True)]


# cosmic-ray also takes the `*` of a keyword-only marker (`def f(a, *, b)`) for a binary
# operator; `/` there compiles (a positional-only marker), but it is not a mutant of arithmetic.
_BINARY_EXPRESSIONS = {"arith_expr", "term", "expr", "xor_expr", "and_expr", "shift_expr",
                       "power"}


def _really_binary(operator: str, node) -> bool:  # type: ignore[no-untyped-def]
    return not operator.startswith("core/ReplaceBinaryOperator_") or \
        node.parent.type in _BINARY_EXPRESSIONS


def _mutated_code(source: str, operator: str, occurrence: int) -> str | None:
    """cosmic-ray's own mutation of `source` (None: it cannot make that one)."""
    from cosmic_ray.mutating import mutate_code
    from cosmic_ray.plugins import get_operator

    try:
        return mutate_code(source, get_operator(operator)(), occurrence)
    except Exception:  # an operator that trips over a node shape it does not expect
        return None


def _compiles(file: str, source: str, operator: str, occurrence: int) -> bool:
    code = _mutated_code(source, operator, occurrence)
    if code is None:
        return False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)  # `x is 1`: a mutant, not an error
            compile(code, file, "exec")
    except SyntaxError:
        return False
    return True


def enumerate_sites(root: Path = PROJECT_ROOT, files: list[str] | None = None) -> list[Site]:
    """Every mutation site of the mutated files, in a stable order (file, operator, occurrence)."""
    sites: list[Site] = []
    for file in files if files is not None else mutated_files(root):
        sites += sites_in(file, (root / file).read_text())
    return sites


def sample_sites(sites: list[Site], size: int, seed: int) -> list[Site]:
    """`size` sites drawn with `seed` (the same pair, the same sample), in enumeration order."""
    if size >= len(sites):
        return list(sites)
    drawn = set(random.Random(seed).sample(range(len(sites)), size))
    return [site for index, site in enumerate(sites) if index in drawn]


@dataclass(frozen=True)
class Mutant:
    site: Site
    code: str          # the whole mutated file
    removed: str       # the one-line diff: the line before ...
    added: str         # ... and after ("" when the operator deleted it)

    @property
    def diff(self) -> str:
        return f"- {self.removed}  + {self.added}" if self.added else f"- {self.removed}"


def make_mutant(site: Site, source: str) -> Mutant:
    """The file with the site's mutation applied (cosmic-ray's own mutate_code)."""
    code = _mutated_code(source, site.operator, site.occurrence)
    if code is None:
        raise ValueError(f"{site.operator} has no occurrence {site.occurrence} in {site.file}")
    # The first line changed, each way (a removed decorator also takes the blank line above).
    changes = [line for line in difflib.ndiff(source.splitlines(), code.splitlines())
               if line[:2] in ("- ", "+ ") and line[2:].strip()]
    removed = next((line[2:].strip() for line in changes if line.startswith("- ")), "")
    added = next((line[2:].strip() for line in changes if line.startswith("+ ")), "")
    if _TESTING_EXCEPTION in code and _TESTING_EXCEPTION not in source:
        code += (f"\n\nclass {_TESTING_EXCEPTION}(Exception):\n"
                 f'    """Never raised: what the mutated except clause catches."""\n')
    return Mutant(site, code, removed, added)


def load_equivalent(path: Path = EQUIVALENT_FILE) -> dict[str, str]:
    """Mutant id -> why it is equivalent."""
    if not path.is_file():
        return {}
    return {site_id: entry["why"] for site_id, entry in tomllib.loads(path.read_text()).items()}


class Fate(StrEnum):
    KILLED = "killed"
    BUILD_OR_BOOT_BROKEN = "build-or-boot-broken"  # killed too: it never reached a scenario
    SURVIVED = "survived"
    EQUIVALENT = "equivalent"
    NOT_JUDGED = "not judged"  # the machine, not the mutant: interrupted, set-up problem

    @property
    def killed(self) -> bool:
        return self in (Fate.KILLED, Fate.BUILD_OR_BOOT_BROKEN)


@dataclass
class MutantResult:
    mutant: Mutant
    fate: Fate
    reason: str = ""      # what killed it (scenario: message), why equivalent, or what stopped it
    tags: str = ""
    seconds: float = 0.0
    exit_code: int | None = None


def not_passing(record: RunRecord) -> set[str]:
    """The scenarios of a run that did not pass (nor were skipped on purpose)."""
    return {s.name for s in record.scenarios
            if s.outcome not in (Outcome.PASSED, Outcome.SKIPPED)}


def run_baseline(settings: Settings, tags: str, reports: Path) -> set[str]:
    """The scenarios that do not pass on the tested (unmutated) images: they cannot witness a
    kill (a scenario someone is still writing, a data set not seeded yet)."""
    run_suite_on(settings.image_tag, tags, reports)
    record = RunRecord.read(reports)
    if record is None or record.setup_error:
        raise RuntimeError(f"the baseline run on the tested images gave no verdict "
                           f"(see {reports.parent / (reports.name + '.console.log')})")
    return not_passing(record)


def judge_mutant(record: RunRecord, failing_unmutated: Collection[str] = ()) -> tuple[Fate, str]:
    """Killed by the first scenario that failed or was broken for a reason of the product's;
    build-or-boot-broken when the only reason is a canary that did not come up. A scenario that
    does not pass on the unmutated images either (`failing_unmutated`) is not counted."""
    scenarios = [s for s in record.scenarios if s.name not in failing_unmutated]
    if record.setup_error:
        return Fate.NOT_JUDGED, (f"set-up problem ({record.setup_error.get('kind', '?')}): "
                                 f"{record.setup_error.get('message', '')}")
    if record.interrupted_by or any(s.outcome is Outcome.ABORTED for s in scenarios):
        return Fate.NOT_JUDGED, "the run was interrupted"
    bad = [s for s in scenarios if s.outcome in (Outcome.FAILED, Outcome.BROKEN)]
    product = [s for s in bad if s.category not in (CANARY_DOWN.key, INFRASTRUCTURE.key)]
    if product:
        return Fate.KILLED, f"{product[0].name} ({product[0].status}): {product[0].headline}"
    down = [s for s in bad if s.category == CANARY_DOWN.key]
    if down:
        return Fate.BUILD_OR_BOOT_BROKEN, f"{down[0].name}: {down[0].headline}"
    if bad:
        return Fate.NOT_JUDGED, f"{bad[0].name}: {bad[0].headline}"
    passed = sum(s.outcome is Outcome.PASSED for s in scenarios)
    if not passed:
        return Fate.NOT_JUDGED, "no scenario was judged"
    return Fate.SURVIVED, f"all {passed} scenarios passed"


def check_mutant(client: DockerClient, settings: Settings, mutant: Mutant,
                 reports_root: Path, failing_unmutated: Collection[str] = ()) -> MutantResult:
    """The mutant built and run like a variant: killed, build-or-boot-broken or survived."""
    site = mutant.site
    tags = tags_for(site.file)

    def mutate(tree: Path) -> None:
        (tree / site.file).write_text(mutant.code)

    # One finding kills a mutant: the rest of its run would only wait out more deadlines (a
    # mutant that breaks every job start took 20 min, scenario by scenario). A survivor still
    # runs every scenario of its area.
    trial = run_trial(client, settings, tag=f"mutant-{site.id}", change=mutate,
                      rebuild=(image_role_of(site.file),), tags=tags,
                      reports=reports_root / site.id,
                      extra_settings=("stop_at_first_finding=true",))
    if trial.build_failed:
        fate, reason = Fate.BUILD_OR_BOOT_BROKEN, f"the image did not build: {trial.problem}"
    elif trial.record is None or trial.problem:
        fate, reason = Fate.NOT_JUDGED, trial.problem
    else:
        fate, reason = judge_mutant(trial.record, failing_unmutated)
    return MutantResult(mutant, fate, reason, tags, trial.seconds, trial.exit_code)


def kill_rate(results: list[MutantResult]) -> tuple[int, int]:
    """(killed, sampled - equivalent): the kill rate's numerator and denominator."""
    killed = sum(r.fate.killed for r in results)
    return killed, sum(r.fate is not Fate.EQUIVALENT for r in results)


def rate_line(results: list[MutantResult]) -> str:
    killed, judged = kill_rate(results)
    percent = f"{100 * killed / judged:.0f}%" if judged else "n/a"
    return f"kill rate {killed}/{judged} = {percent}"


def render(results: list[MutantResult], *, sample: int, seed: int, population: int,
           total_seconds: float, failing_unmutated: Collection[str] = ()) -> str:
    counts = Counter(r.fate for r in results)
    out = [f"# Mutants: {rate_line(results)}", "",
           f"A seeded sample of cosmic-ray's mutants of tradelab (SAMPLE={sample} SEED={seed}: "
           f"{len(results)} of {population} sites), each built and run against the features of "
           f"its area. Killed / (sampled - equivalent); build-or-boot-broken counts as killed, "
           f"not judged does not. Wall time {total_seconds:.0f} s.", "",
           ", ".join(f"{fate.value} {counts[fate]}" for fate in Fate), "",
           f"Scenarios that do not pass on the unmutated images, so kill nothing: "
           f"{'; '.join(sorted(failing_unmutated)) or 'none'}.", "",
           "| id | where | operator | diff | fate | reason | s |",
           "|---|---|---|---|---|---|---:|"]

    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ").replace("`", "'")

    for r in results:
        site = r.mutant.site
        out.append(f"| `{site.id}` | `{site.where}` | {site.operator.removeprefix('core/')} "
                   f"#{site.occurrence} | `{cell(r.mutant.diff)}` | {r.fate.value} | "
                   f"{cell(r.reason[:300])} | {r.seconds:.0f} |")
    survivors = [r for r in results if r.fate is Fate.SURVIVED]
    if survivors:
        out += ["", "## Survivors", "",
                "Each is a change no scenario noticed: a gap in the suite, or an equivalent "
                "mutant to list in `variants/mutants-equivalent.toml` (by id, with why).", ""]
        out += [f"- `{r.mutant.site.id}` `{r.mutant.site.where}` `{cell(r.mutant.diff)}` "
                f"(ran `{r.tags}`)" for r in survivors]
    return "\n".join(out) + "\n"


def write_reports(results: list[MutantResult], *, sample: int, seed: int, population: int,
                  total_seconds: float, reports_dir: Path,
                  failing_unmutated: Collection[str] = ()) -> Path:
    path = reports_dir / "mutants.md"
    path.write_text(render(results, sample=sample, seed=seed, population=population,
                           total_seconds=total_seconds, failing_unmutated=failing_unmutated))
    killed, judged = kill_rate(results)
    (reports_dir / "mutants.json").write_text(json.dumps({
        "sample": sample, "seed": seed, "population": population, "killed": killed,
        "judged": judged, "seconds": round(total_seconds, 1),
        "failing_unmutated": sorted(failing_unmutated),
        "mutants": [{"id": r.mutant.site.id, "file": r.mutant.site.file,
                     "line": r.mutant.site.line, "operator": r.mutant.site.operator,
                     "occurrence": r.mutant.site.occurrence, "removed": r.mutant.removed,
                     "added": r.mutant.added, "fate": r.fate.value, "reason": r.reason,
                     "tags": r.tags, "exit_code": r.exit_code, "seconds": round(r.seconds, 1)}
                    for r in results]}, indent=2) + "\n")
    return path
