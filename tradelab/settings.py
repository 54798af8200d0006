"""One settings object per process kind, read from the environment, failing fast in plain words."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict


class SettingsError(RuntimeError):
    """The environment does not describe a runnable process."""


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class StorageSettings(BaseSettings):
    """Where strategies, market data and models live (the canary's shared volume)."""

    model_config = SettingsConfigDict(extra="ignore")

    strategies_dir: Path = Field(
        default=Path(__file__).parent / "strategies", validation_alias=_env("STRATEGIES_DIR")
    )
    data_dir: Path = Field(default=Path("/mnt/ktrdr_data/data"), validation_alias=_env("DATA_DIR"))
    models_dir: Path = Field(
        default=Path("/mnt/ktrdr_data/models"), validation_alias=_env("MODELS_DIR")
    )


class BackendSettings(StorageSettings):
    """The API backend: its database and how it watches workers."""

    db_host: str = Field(default="localhost", validation_alias=_env("KTRDR_DB_HOST", "DB_HOST"))
    db_port: int = Field(default=5432, validation_alias=_env("KTRDR_DB_PORT", "DB_PORT"))
    db_name: str = Field(default="ktrdr", validation_alias=_env("KTRDR_DB_NAME", "DB_NAME"))
    db_user: str = Field(default="ktrdr", validation_alias=_env("KTRDR_DB_USER", "DB_USER"))
    db_password: str = Field(
        default="ktrdr", validation_alias=_env("KTRDR_DB_PASSWORD", "DB_PASSWORD")
    )
    # The real platform polls every 10 s; the canary shortens it so waits stay tight.
    worker_health_interval_s: float = Field(
        default=10.0, gt=0, validation_alias=_env("WORKER_HEALTH_INTERVAL")
    )
    worker_health_timeout_s: float = Field(default=5.0, gt=0)
    worker_failures_before_unavailable: int = Field(default=3, ge=1)
    worker_removal_after_s: float = Field(
        default=300.0, gt=0, validation_alias=_env("WORKER_REMOVAL_AFTER")
    )
    # The contract: an active operation no worker claims is failed after this long.
    unclaimed_operation_timeout_s: float = Field(
        default=60.0, gt=0, validation_alias=_env("UNCLAIMED_OPERATION_TIMEOUT")
    )

    @property
    def database_url(self) -> str:
        return (
            f"postgresql+psycopg://{self.db_user}:{self.db_password}"
            f"@{self.db_host}:{self.db_port}/{self.db_name}"
        )


class WorkerSettings(StorageSettings):
    """A worker: who it is, where the backend is, where it can be reached."""

    api_url: str = Field(default="http://backend:8000", validation_alias=_env("KTRDR_API_URL"))
    public_base_url: str | None = Field(
        default=None, validation_alias=_env("WORKER_PUBLIC_BASE_URL")
    )
    worker_id: str | None = Field(default=None, validation_alias=_env("KTRDR_WORKER_ID"))
    port: int = Field(default=5004, validation_alias=_env("WORKER_PORT"))
    # Re-check our registration when the backend has not polled us for this long (contract: 30 s).
    reregister_after_s: float = Field(
        default=30.0, gt=0, validation_alias=_env("WORKER_REREGISTER_AFTER")
    )


def _load(kind: type[BaseSettings]) -> BaseSettings:
    try:
        return kind()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'/'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise SettingsError(f"invalid {kind.__name__} from the environment: {problems}") from None


@lru_cache
def backend_settings() -> BackendSettings:
    return _load(BackendSettings)  # type: ignore[return-value]


@lru_cache
def worker_settings() -> WorkerSettings:
    return _load(WorkerSettings)  # type: ignore[return-value]
