"""What routes depend on, through FastAPI's `Depends` (the app's engine, registry, settings)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine

from tradelab.backend.registry import WorkerRegistry
from tradelab.settings import BackendSettings


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


def get_registry(request: Request) -> WorkerRegistry:
    return request.app.state.registry


def get_settings(request: Request) -> BackendSettings:
    return request.app.state.settings


def get_dispatch_lock(request: Request) -> asyncio.Lock:
    return request.app.state.dispatch_lock


EngineDep = Annotated[Engine, Depends(get_engine)]
RegistryDep = Annotated[WorkerRegistry, Depends(get_registry)]
SettingsDep = Annotated[BackendSettings, Depends(get_settings)]
DispatchLockDep = Annotated[asyncio.Lock, Depends(get_dispatch_lock)]
