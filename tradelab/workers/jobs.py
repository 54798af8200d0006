"""A worker's single job slot: run one operation in a thread, report it, let it be cancelled.

Progress and the outcome go to the backend (`POST /api/v1/operations/{id}/report`), which
persists them; the worker also answers for its current operation itself, as the contract says.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

from tradelab.ml import torch_facts
from tradelab.ml.training import Cancelled
from tradelab.settings import WorkerSettings
from tradelab.workers.base import WorkerState, create_worker_app, new_worker_state

log = logging.getLogger("tradelab.jobs")


@dataclass
class Progress:
    """What the job tells its slot as it goes."""

    percentage: float
    current_step: str
    steps_completed: int = 0
    steps_total: int = 0


@dataclass
class JobRun:
    operation_id: str
    status: str = "running"
    progress: Progress = field(default_factory=lambda: Progress(0.0, "starting"))
    result_summary: dict[str, Any] | None = None
    error_message: str | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    shutting_down: bool = False
    checkpoint: dict[str, Any] | None = None

    def body(self) -> dict[str, Any]:
        return {"operation_id": self.operation_id, "status": self.status,
                "progress": {"percentage": self.progress.percentage,
                             "current_step": self.progress.current_step,
                             "steps_completed": self.progress.steps_completed,
                             "steps_total": self.progress.steps_total},
                "result_summary": self.result_summary, "error_message": self.error_message}


# A job: (its payload, a progress callback, the cancel flag) -> result_summary.
Job = Callable[[dict[str, Any], Callable[[Progress], None], threading.Event], dict[str, Any]]


class JobSlot:
    """One operation at a time, as on the real platform's workers."""

    def __init__(self, state: WorkerState, settings: WorkerSettings):
        self._state = state
        self._settings = settings
        self._lock = threading.Lock()
        self.runs: dict[str, JobRun] = {}
        self._threads: list[threading.Thread] = []
        self._http = httpx.Client(timeout=5.0)

    def start(self, operation_id: str, job: Job, payload: dict[str, Any]) -> JobRun:
        with self._lock:
            if self._state.current_operation is not None:
                raise HTTPException(status_code=503, detail={
                    "error": "Worker busy", "current_operation": self._state.current_operation})
            run = JobRun(operation_id)
            self.runs[operation_id] = run
            self._state.current_operation = operation_id
        thread = threading.Thread(target=self._execute, args=(run, job, payload), daemon=True,
                                  name=f"job-{operation_id}")
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()
        return run

    def shutdown(self, timeout_s: float = 20.0) -> None:
        """The process is stopping: cancel the running job, let it checkpoint and report."""
        for run in list(self.runs.values()):
            if run.status == "running":
                run.shutting_down = True
                run.cancel.set()
        for thread in list(self._threads):
            thread.join(timeout_s)

    def cancel(self, operation_id: str) -> JobRun:
        run = self.runs.get(operation_id)
        if run is None:
            raise HTTPException(status_code=404, detail=f"Operation not found: {operation_id}")
        run.cancel.set()
        return run

    def _execute(self, run: JobRun, job: Job, payload: dict[str, Any]) -> None:
        last_report = 0.0

        def on_progress(progress: Progress) -> None:
            nonlocal last_report
            run.progress = progress
            # At most a few reports a second: progress is for people, not a firehose.
            if time.monotonic() - last_report >= 0.25:
                last_report = time.monotonic()
                self._report(run)

        self._report(run)
        try:
            run.result_summary = job(payload, on_progress, run.cancel)
            run.status = "completed"
            run.progress = Progress(100.0, "completed", run.progress.steps_total,
                                    run.progress.steps_total)
        except Cancelled as exc:
            run.status = "cancelled"
            run.error_message = f"worker shutting down: {exc}" if run.shutting_down else str(exc)
            run.progress = Progress(run.progress.percentage, "cancelled",
                                    run.progress.steps_completed, run.progress.steps_total)
            # Where it got to, so a later run could resume (the contract's checkpoint).
            run.checkpoint = {"steps_completed": run.progress.steps_completed,
                              "steps_total": run.progress.steps_total,
                              "percentage": run.progress.percentage,
                              "reason": run.error_message}
        except Exception as exc:  # the job's failure is the operation's, reported in words
            log.exception("operation %s failed", run.operation_id)
            run.status, run.error_message = "failed", f"{type(exc).__name__}: {exc}"
            run.progress = Progress(run.progress.percentage, "failed",
                                    run.progress.steps_completed, run.progress.steps_total)
        # Free the slot before the final report: once the backend hears "done" it may send the
        # next job, and this worker must already accept it.
        with self._lock:
            self._state.current_operation = None
        self._report(run, final=True)

    def _report(self, run: JobRun, final: bool = False) -> None:
        body = {"worker_id": self._state.worker_id, "status": run.status,
                "percentage": run.progress.percentage, "current_step": run.progress.current_step,
                "steps_completed": run.progress.steps_completed,
                "steps_total": run.progress.steps_total,
                "result_summary": run.result_summary, "error_message": run.error_message,
                "checkpoint": run.checkpoint}
        url = f"{self._settings.api_url}/api/v1/operations/{run.operation_id}/report"
        # The final report must arrive (it frees this worker on the backend, and holds the
        # result): retry it for a minute, long enough for a backend that is restarting.
        attempts = 120 if final else 1
        for attempt in range(attempts):
            try:
                response = self._http.post(url, json=body)
                if response.status_code < 500:
                    if response.status_code == 200 and _forgot_us(response):
                        self._register_again()
                    return
            except httpx.HTTPError as exc:
                log.warning("report of %s failed: %s", run.operation_id, exc)
            if attempt + 1 < attempts:
                time.sleep(0.5)  # poll: retry cadence for the final report


    def _register_again(self) -> None:
        """The backend took a report without knowing this worker (it restarted and forgot
        it): register again now, naming the operation this worker runs, so that the backend
        does not take it for an orphan and dispatches nothing else to it."""
        url = f"{self._settings.api_url}/api/v1/workers/register"
        try:
            response = self._http.post(url, json=self._state.registration())
        except httpx.HTTPError as exc:
            log.warning("registering again failed: %s", exc)
            return
        if response.status_code == 200:
            self._state.last_polled = time.monotonic()
            log.info("backend forgot %s: registered again, running %s", self._state.worker_id,
                     self._state.current_operation)


def _forgot_us(response: httpx.Response) -> bool:
    """Whether the backend's answer to a report says it does not know the reporting worker."""
    try:
        return response.json().get("worker_registered") is False
    except (ValueError, AttributeError):
        return False


def create_job_worker_app(worker_type: str, settings: WorkerSettings, start_path: str,
                          request_model: type[BaseModel], job: Job) -> FastAPI:
    """A worker that takes one kind of job at `start_path` and runs it in its job slot."""
    state = new_worker_state(worker_type, settings, torch_facts())
    slot = JobSlot(state, settings)
    app = create_worker_app(state, settings, on_shutdown=slot.shutdown)
    add_operation_routes(app, slot)

    async def start_job(body: BaseModel) -> dict[str, Any]:
        run = slot.start(body.task_id, job, body.model_dump(mode="json"))  # type: ignore[attr-defined]
        return {"success": True, "operation_id": run.operation_id, "status": "started"}

    # FastAPI reads the body's model from the annotation: this worker's request model.
    start_job.__annotations__["body"] = request_model
    app.add_api_route(start_path, start_job, methods=["POST"])
    return app


def add_operation_routes(app: FastAPI, slot: JobSlot) -> None:
    """The contract's worker-side operation routes."""

    @app.get("/api/v1/operations/{operation_id}")
    async def read_operation(operation_id: str) -> dict[str, Any]:
        run = slot.runs.get(operation_id)
        if run is None:
            raise HTTPException(status_code=404, detail=f"Operation not found: {operation_id}")
        return {"success": True, "data": run.body()}

    @app.delete("/api/v1/operations/{operation_id}/cancel")
    async def cancel_operation(operation_id: str) -> dict[str, Any]:
        run = slot.cancel(operation_id)
        return {"success": True, "operation_id": operation_id, "status": run.status}
