"""The platform's vocabulary in one table, and the closed words the features may use.

One home for: the image roles, the worker types, the job kinds, the canary service that runs
each worker and the image role it runs, the route that starts each job and the operation type it
creates, the deployments. canaryspec.step_types turns the closed vocabularies into typed step
parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

API = "/api/v1"
# Where the backend publishes its OpenAPI document (FastAPI's place for it, on both platforms).
OPENAPI = f"{API}/openapi.json"

IMAGE_ROLES = ("backend", "worker-cpu", "monolith", "db")
# The roles the suite tests as images of the platform (the database is the platform's choice).
TESTED_ROLES = ("backend", "worker-cpu", "monolith")
# The images as the features name them.
IMAGE_NAMES = {"backend": "backend", "CPU worker": "worker-cpu", "monolith": "monolith",
               "database": "db"}


@dataclass(frozen=True)
class WorkerKind:
    """A kind of worker: its type in the registry, its canary service, the image it runs."""

    worker_type: str
    service: str
    image_role: str

    @property
    def fresh_id(self) -> str:
        """The id a worker of this kind gives itself when none is configured (the contract's
        `<type>-worker-<8hex>`: a random one each start), as a regular expression."""
        return rf"{self.worker_type}-worker-[0-9a-f]{{8}}"


@dataclass(frozen=True)
class JobKind:
    """A kind of job: as the features say it, the operations API's type for it, the route that
    starts it, the kind of worker that runs it and the worker's own route that takes it from
    the backend (the contract's worker side)."""

    name: str
    operation_type: str
    start_path: str
    worker: WorkerKind
    dispatch_path: str


WORKERS = {"training": WorkerKind("training", "training-worker", "worker-cpu"),
           "backtesting": WorkerKind("backtesting", "backtest-worker", "worker-cpu")}
JOBS = {"training": JobKind("training", "training", f"{API}/trainings/start",
                            WORKERS["training"], "/training/start"),
        "backtest": JobKind("backtest", "backtesting", f"{API}/backtests/start",
                            WORKERS["backtesting"], "/backtests/start")}
# The canary's services and the image role each runs (the handoff's canary, on both platforms).
SERVICE_ROLES = {"backend": "backend", "db": "db", "seed-data": "worker-cpu",
                 **{w.service: w.image_role for w in WORKERS.values()}}
# The health route of each canary service that answers HTTP (the contract's, on both platforms):
# what its own health check asks, and what the suite asks too while the engine's next probe of
# a starting service is still to come.
HEALTH_ROUTES = {"backend": f"{API}/health", **{w.service: "/health" for w in WORKERS.values()}}
# The long-running services by the names the features give them.
SERVICES = {"database": "db", "backend": "backend",
            **{f"{w.worker_type} worker": w.service for w in WORKERS.values()}}
# How the canary's services map to images, by deployment: the split images (each service its
# own role's image), or the handoff's baseline, the monolith in every place the platform's
# code runs (backend and both workers; the database stays the database).
DEPLOYMENTS = {"split": {},
               "monolith": {"backend": "monolith", "worker-cpu": "monolith"}}
# The bar lengths the features name, as the platform's timeframes.
BAR_LENGTHS = {"hourly": "1h", "daily": "1d"}
# A registered worker's status (the contract's registry).
WORKER_STATUSES = ("available", "busy", "temporarily_unavailable")
OPERATION_STATUSES = ("pending", "running", "completed", "failed", "cancelled")
# The strategies the features name: the shipped ones, and the handoff's broken name.
STRATEGIES = ("v3_minimal", "v3_single_indicator", "v3_multi_symbol", "neuro_mean_reversion")
# The inputs (nn_inputs) of the reference platform's shipped strategies, in the names
# canaryspec.oracle defines: what the suite holds a training's and a backtest's figures to.
STRATEGY_INPUTS = {"v3_minimal": ("rsi_14", "sma_20", "return_1"),
                   "v3_single_indicator": ("rsi_14",),
                   "v3_multi_symbol": ("rsi_14", "sma_20", "sma_50", "return_1")}
