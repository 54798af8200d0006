"""The one configuration object: behave userdata, -D overrides and CANARYSPEC_* variables.

Precedence (lowest first): profile defaults, [tool.behave.userdata] in pyproject.toml, -D on the
command line (behave merges those two), then CANARYSPEC_<KEY> environment variables (CI).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from canaryspec.errors import ConfigError
from canaryspec.needs import Need
from canaryspec.responses import Responses
from canaryspec.seeding import LONG_TRAINING, MarketData
from canaryspec.settings_paths import PROJECT_ROOT
from canaryspec.vocabulary import DEPLOYMENTS, IMAGE_ROLES, SERVICE_ROLES, WORKERS

T = TypeVar("T")

# Where the platform runs (Settings.target).
TARGETS = ("canary", "attach")


@dataclass(frozen=True)
class Timers:
    """A platform's own timers, as data: the backend variables its deployment may set each
    with (the first one set wins), and the platform's default when none is."""

    # A running operation no worker claims is failed after this long, looked for this often.
    orphan_timeout_env: tuple[str, ...] = ("UNCLAIMED_OPERATION_TIMEOUT",)
    orphan_timeout_s: float = 60.0
    orphan_check_env: tuple[str, ...] = ("WORKER_HEALTH_INTERVAL",)
    orphan_check_s: float = 10.0
    # The backend asks each worker's /health this often, gives each answer this long, and
    # stops offering a worker jobs after this many failures in a row.
    health_check_env: tuple[str, ...] = ("WORKER_HEALTH_INTERVAL",)
    health_check_s: float = 10.0
    health_timeout_env: tuple[str, ...] = ()
    health_timeout_s: float = 5.0
    health_failures_env: tuple[str, ...] = ()
    health_failures: float = 3


@dataclass(frozen=True)
class Profile:
    """A target platform: its image names, how it is built and deployed, what it promises, and
    where its answers differ — as data, never as `if profile ==` in the suite."""

    name: str
    # Image name of each role the suite pins (tag and prefix from the settings); a role not
    # listed runs the image the compose file names (the real platform's database).
    image_names: Mapping[str, str]
    compose_file: Path | None
    # The image role each canary service runs.
    service_roles: Mapping[str, str] = field(default_factory=lambda: dict(SERVICE_ROLES))
    # Roles built by this project; the real platform's images are built by its own repository.
    dockerfiles: Mapping[str, Path] = field(default_factory=dict)
    # tradelab's health also reports the database and schema revision; the real one does not.
    strict_health: bool = False
    build_by_default: bool = False
    # The backend's ASGI module: importing it must not import torch.
    backend_app_module: str = "tradelab.backend.app"
    responses: Responses = field(default_factory=Responses)
    # Market data the suite writes into the canary's data folder before it starts (None: the
    # platform's canary seeds itself), at the mount target the compose file gives the data
    # folder: the planted series are the suite's known answers (canaryspec.seeding).
    market_data: MarketData | None = None
    data_mount: str = "/mnt/ktrdr_data/data"
    timers: Timers = field(default_factory=Timers)

    @property
    def long_training(self) -> tuple[str, str]:
        """The dates of "a long training" on this platform (its market data's)."""
        return self.market_data.long_training if self.market_data else LONG_TRAINING
    # What to tell someone whose engine lacks one of the profile's images.
    how_to_build: str = "build it with `make images` (or run with build=true)"



PROFILES: dict[str, Profile] = {
    "tradelab": Profile(
        name="tradelab",
        image_names={role: f"tradelab-{role}" for role in IMAGE_ROLES},
        compose_file=PROJECT_ROOT / "deploy/environments/canary/docker-compose.yml",
        dockerfiles={role: PROJECT_ROOT / f"deploy/docker/Dockerfile.{role}"
                     for role in IMAGE_ROLES},
        strict_health=True,
        build_by_default=True,
        # Its seed-data service writes only what is missing (AAPL, daily bars): these stay.
        # Daily bars too: a training asked for them must learn from them, not the hourly.
        market_data=MarketData(symbols=("EURUSD", "GBPUSD"), timeframes=("1h", "1d"),
                               start=date(2023, 1, 2), end=date(2025, 1, 1)),
    ),
    "ktrdr": Profile(
        name="ktrdr",
        image_names={"backend": "ktrdr-backend", "worker-cpu": "ktrdr-worker-cpu",
                     "monolith": "ktrdr-worker-gpu"},
        compose_file=None,  # the real platform's own canary compose file: set compose_file
        backend_app_module="ktrdr.api.main",
        how_to_build="build it from the platform's repository (deploy/real-platform/"
                     "build-ktrdr.sh builds its images here)",
        # Its orphan detector: 60 s, checked every 15 s (its defaults; the variables' names
        # before and after its settings gained the KTRDR_ prefix).
        timers=Timers(
            orphan_timeout_env=("KTRDR_ORPHAN_TIMEOUT_SECONDS", "ORPHAN_TIMEOUT_SECONDS"),
            orphan_timeout_s=60.0,
            orphan_check_env=("KTRDR_ORPHAN_CHECK_INTERVAL_SECONDS",
                              "ORPHAN_CHECK_INTERVAL_SECONDS"),
            orphan_check_s=15.0,
            # ktrdr/config/settings.py, WorkerSettings (used by its WorkerRegistry).
            health_check_env=("KTRDR_WORKER_HEALTH_CHECK_INTERVAL",
                              "WORKER_HEALTH_CHECK_INTERVAL"),
            health_check_s=10.0,
            health_timeout_env=("KTRDR_WORKER_HEALTH_CHECK_TIMEOUT",
                                "WORKER_HEALTH_CHECK_TIMEOUT"),
            health_timeout_s=5.0,
            health_failures_env=("KTRDR_WORKER_HEALTH_CHECK_FAILURES",
                                 "WORKER_HEALTH_CHECK_FAILURES"),
            health_failures=3),
        responses=Responses(
            accuracy=("training_metrics.final_train_accuracy", "test_metrics.test_accuracy"),
            worker_id=("worker_id", "metadata.worker_id", "metadata.parameters.worker_id"),
            # ktrdr reports these two in currency; the fractions are the *_pct ones.
            metric_names={"total_return": "total_return_pct", "max_drawdown": "max_drawdown_pct"},
            model_file="{model_path}/model.pt"),
        # Its strategies: v3_minimal trains on EURUSD 1h, v3_multi_symbol on EURUSD, GBPUSD,
        # USDJPY 1h. Its long training spans six years: v3_multi_symbol (100 epochs) took 69 s
        # on two, less than its orphan window (60 s + two 15 s checks), which a long training
        # must outlive on any host.
        market_data=MarketData(symbols=("EURUSD", "GBPUSD", "USDJPY"), timeframes=("1h",),
                               start=date(2018, 10, 1), end=date(2025, 1, 1),
                               long_training=("2019-01-02", "2024-12-31")),
    ),
}


@dataclass(frozen=True)
class Deadlines:
    """How long the suite waits for the platform, in seconds: the one home of every deadline.

    Each wait watches the platform's own progress (a status, a reading, a container state) and
    ends as soon as it is seen; a deadline is only how long to keep looking. `slow_host_factor`
    scales all of them, and the bounds the features state ("completes within 60 seconds"), for
    a host slower than the ones they were measured on.
    """

    ready: float = 120             # canary services healthy, backend answering, workers registered
    worker_free: float = 30        # a worker of the job's type available before a job is sent
    job_running: float = 30        # a sent job reported running by the platform
    job_done: float = 60           # a job a scenario needs done first (a trained model)
    progress: float = 60           # two rising progress readings of a running job
    cancel: float = 10             # after a cancel, the worker itself has stopped and is idle
    status: float = 15             # a status the platform records after an action
    checkpoint: float = 15         # a checkpoint of an interrupted training is recorded
    registration: float = 60       # a worker registers (again) and the backend polls its health
    # Past the platform's own orphan timeout and one of its checks (Profile.timers), how long
    # an operation nobody claims may take to be recorded failed.
    orphaned: float = 15
    # After a fault is undone: the backend answering and every worker type available again
    # (a scenario that broke the shared canary hands it back healthy).
    recovery: float = 60
    # Past the platform's own health checks of a worker (Profile.timers), how long the
    # registry may take to show what they found (a worker cut off, or back).
    health_checked: float = 5
    # How long the generated hostile requests may take, all of them (canaryspec.generated):
    # the run stops drawing then and is judged on what it sent.
    generated: float = 60
    slow_host_factor: float = 1.0

    def for_this_host(self) -> Deadlines:
        """These deadlines multiplied by the slow-host factor (what the waits use)."""
        return replace(self, **{name: getattr(self, name) * self.slow_host_factor
                                for name in _DEADLINE_NAMES})

    def bound(self, seconds: float) -> float:
        """A bound a feature states, scaled for this host."""
        return seconds * self.slow_host_factor


_DEADLINE_NAMES = frozenset(f for f in Deadlines.__dataclass_fields__ if f != "slow_host_factor")


def _bool(key: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{key}={value!r} is not a yes/no value (use true or false)")


def _text(key: str, value: str) -> str:
    if not value.strip():
        raise ConfigError(f"{key} must not be empty")
    return value.strip()


def _number(key: str, value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(f"{key}={value!r} is not a number") from None
    if number <= 0:
        raise ConfigError(f"{key}={value!r} must be greater than zero")
    return number


@dataclass(frozen=True)
class Settings:
    """Everything a run needs to know, parsed once and never changed."""

    profile: Profile
    build: bool = True
    keep: bool = False
    # Answers of the static image checks kept by image id (canaryspec.probe_cache).
    probe_cache: bool = True
    # Skip every scenario after the first finding (a failure, or a precondition that met a
    # defect): one finding is all a mutant's run needs, and each further failing scenario
    # would wait out its deadline.
    stop_at_first_finding: bool = False
    image_tag: str = "test"
    image_prefix: str = ""
    base_image: str = "canaryspec/debian:bookworm"
    compose_file: Path | None = None
    backend_size_budget_mb: float = 200
    worker_cpu_size_budget_mb: float = 1000
    deadlines: Deadlines = field(default_factory=Deadlines)
    canonical_ports: bool = False
    # Which images the canary runs: the split ones, or the monolith everywhere (the baseline).
    deployment: str = "split"
    # The least the CPU worker must save on the monolith's size for the split to have paid.
    min_size_reduction_percent: float = 15
    reports_dir: Path = PROJECT_ROOT / "reports"
    # How many requests the generated hostile-input run draws from the OpenAPI document.
    generated_examples: int = 600
    # The compute threads of each worker service (OMP_NUM_THREADS, which torch's and the BLAS
    # libraries' thread pools read), or None: the platform's own (torch: one per core of the
    # host). Two trainings on one host, each spreading over every core, contend: two runs of
    # the real platform at once on two cores trained 14 times slower than one.
    worker_threads: int | None = None
    # Where the platform runs: "canary" (the suite builds, starts and removes its own) or
    # "attach" (a deployment someone else runs, reached at backend_url: nothing is built,
    # started or removed, and a scenario that needs more than its HTTP API is skipped, saying
    # what it needs; canaryspec.needs).
    target: str = "canary"
    backend_url: str = ""
    # Attached: where the workers' own APIs answer, by type (several per type allowed), when
    # not at the addresses they registered with (a deployment's internal host names do not
    # resolve outside its network).
    worker_urls: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # How many workers of each type the deployment runs (a type not named: one).
    expect_workers: Mapping[str, int] = field(default_factory=dict)
    # Attached: restarts, kills, network cuts and files planted in its volumes are allowed.
    allow_destructive: bool = False

    def expected_workers(self) -> dict[str, int]:
        """How many workers of each type must be registered: as stated, else one."""
        return {w.worker_type: self.expect_workers.get(w.worker_type, 1)
                for w in WORKERS.values()}

    @property
    def attached(self) -> bool:
        return self.target == "attach"

    def capabilities(self) -> frozenset[Need]:
        """What this run may do beyond the backend's HTTP API: everything in a canary of its
        own; attached, only what the settings allow."""
        if not self.attached:
            return frozenset(Need)
        return frozenset({Need.DESTRUCTIVE} if self.allow_destructive else set())

    def image(self, role: str) -> str | None:
        """The tag of the image playing `role` (backend, worker-cpu, monolith, db), or None
        for a role whose image the compose file names."""
        name = self.profile.image_names.get(role)
        return f"{self.image_prefix}{name}:{self.image_tag}" if name else None

    def role_in_canary(self, role: str) -> str:
        """The image role that plays `role` in this run's deployment."""
        return DEPLOYMENTS[self.deployment].get(role, role)

    def size_budget_mb(self, role: str) -> float:
        budgets = {"backend": self.backend_size_budget_mb,
                   "worker-cpu": self.worker_cpu_size_budget_mb}
        if role not in budgets:
            raise AssertionError(f"no size budget is set for the {role} image")
        return budgets[role]

    @property
    def canary_compose_file(self) -> Path:
        path = self.compose_file or self.profile.compose_file
        if path is None:
            raise ConfigError(f"profile {self.profile.name!r} needs compose_file=<path to its "
                              "canary docker-compose.yml>")
        if not path.is_file():
            raise ConfigError(f"compose_file {path} does not exist")
        return path


def _whole(key: str, value: str) -> int:
    number = _number(key, value)
    if number != int(number):
        raise ConfigError(f"{key}={value!r} is not a whole number")
    return int(number)


def _target(key: str, value: str) -> str:
    if value.strip() not in TARGETS:
        raise ConfigError(f"{key}={value!r} is not a target; targets: {', '.join(TARGETS)}")
    return value.strip()


def _url(key: str, value: str) -> str:
    url = value.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ConfigError(f"{key}={value!r} is not an http(s) URL")
    return url


def _per_worker_type(key: str, value: str, separator: str,
                     parse: Callable[[str], T]) -> dict[str, T]:
    """`<worker type><separator><value>,...`: each value parsed, each worker type checked."""
    types = [w.worker_type for w in WORKERS.values()]
    parsed = {}
    for pair in filter(None, (p.strip() for p in value.split(","))):
        worker_type, _, given = (part.strip() for part in pair.partition(separator))
        if worker_type not in types:
            raise ConfigError(f"{key}: {worker_type!r} is not a worker type; types: "
                              f"{', '.join(types)}")
        parsed[worker_type] = parse(given)
    return parsed


def _worker_urls(key: str, value: str) -> dict[str, tuple[str, ...]]:
    """`training=http://a:1|http://b:2,backtesting=http://c:3`"""
    return _per_worker_type(key, value, "=",
                            lambda given: tuple(_url(key, url) for url in given.split("|")))


def _worker_counts(key: str, value: str) -> dict[str, int]:
    """`training:2,backtesting:2`"""
    return _per_worker_type(key, value, ":", lambda count: _whole(key, count))


def _deployment(key: str, value: str) -> str:
    if value.strip() not in DEPLOYMENTS:
        raise ConfigError(f"{key}={value!r} is not a deployment; deployments: "
                          f"{', '.join(DEPLOYMENTS)}")
    return value.strip()


# key -> (Settings field, parser). Documented in README.md ("Configuration").
_KEYS = {
    "profile": None,
    "build": ("build", _bool),
    "keep": ("keep", _bool),
    "probe_cache": ("probe_cache", _bool),
    "stop_at_first_finding": ("stop_at_first_finding", _bool),
    "image_tag": ("image_tag", _text),
    "image_prefix": ("image_prefix", lambda _k, v: v.strip()),
    "base_image": ("base_image", _text),
    "compose_file": ("compose_file", lambda _k, v: Path(v).expanduser().resolve()),
    "backend_size_budget_mb": ("backend_size_budget_mb", _number),
    "worker_cpu_size_budget_mb": ("worker_cpu_size_budget_mb", _number),
    # Deadlines (canaryspec.settings.Deadlines): <name>_timeout_s, and the slow-host factor.
    **{f"{name}_timeout_s": (f"deadlines.{name}", _number) for name in sorted(_DEADLINE_NAMES)},
    "slow_host_factor": ("deadlines.slow_host_factor", _number),
    "canonical_ports": ("canonical_ports", _bool),
    "deployment": ("deployment", _deployment),
    "min_size_reduction_percent": ("min_size_reduction_percent", _number),
    "reports_dir": ("reports_dir", lambda _k, v: (PROJECT_ROOT / v).resolve()),
    "generated_examples": ("generated_examples", lambda k, v: int(_number(k, v))),
    "worker_threads": ("worker_threads", _whole),
    "target": ("target", _target),
    "backend_url": ("backend_url", _url),
    "worker_urls": ("worker_urls", _worker_urls),
    "allow_destructive": ("allow_destructive", _bool),
    "expect_workers": ("expect_workers", _worker_counts),
}
# behave's own userdata keys, and ones other tools put there, that are not ours to validate.
_FOREIGN_KEYS = {"AllureFormatter.issue_pattern", "AllureFormatter.link_pattern"}


def load_settings(userdata: Mapping[str, str],
                  environ: Mapping[str, str] | None = None) -> Settings:
    """Parse userdata plus CANARYSPEC_* variables into Settings, or raise ConfigError."""
    environ = os.environ if environ is None else environ
    merged = {k: str(v) for k, v in userdata.items() if k not in _FOREIGN_KEYS}
    for key in _KEYS:
        env_value = environ.get(f"CANARYSPEC_{key.upper()}")
        if env_value is not None:
            merged[key] = env_value
    unknown = sorted(set(merged) - set(_KEYS))
    if unknown:
        raise ConfigError(f"unknown setting {', '.join(unknown)}; known settings: "
                          f"{', '.join(sorted(_KEYS))}")
    profile_name = merged.pop("profile", "tradelab")
    if profile_name not in PROFILES:
        raise ConfigError(f"unknown profile {profile_name!r}; profiles: "
                          f"{', '.join(sorted(PROFILES))}")
    profile = PROFILES[profile_name]
    values: dict[str, object] = {"build": profile.build_by_default}
    deadlines: dict[str, float] = {}
    for key, raw in merged.items():
        attr, parse = _KEYS[key]  # type: ignore[misc]
        if attr.startswith("deadlines."):
            deadlines[attr.removeprefix("deadlines.")] = parse(key, raw)
        else:
            values[attr] = parse(key, raw)
    values["deadlines"] = Deadlines(**deadlines).for_this_host()
    if values.get("target") == "attach":
        if not values.get("backend_url"):
            raise ConfigError("target=attach needs backend_url=<the deployment's backend URL>")
        values["build"] = False  # an attached run builds nothing
    elif values.get("backend_url") or values.get("worker_urls"):
        raise ConfigError("backend_url and worker_urls are for target=attach; a canary's "
                          "URLs are its own")
    if values.get("build") and not profile.dockerfiles:
        raise ConfigError(f"profile {profile_name!r} does not build its images here; "
                          "build them in the platform's repository and set build=false")
    return Settings(profile=profile, **values)  # type: ignore[arg-type]
