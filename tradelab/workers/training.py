"""The training worker: trains strategy models with torch."""

from __future__ import annotations

from fastapi import FastAPI

from tradelab.ml import torch_facts
from tradelab.settings import WorkerSettings
from tradelab.workers.base import create_worker_app, new_worker_state


def create_app(settings: WorkerSettings) -> FastAPI:
    """The training worker's app."""
    state = new_worker_state("training", settings, torch_facts())
    return create_worker_app(state, settings)
