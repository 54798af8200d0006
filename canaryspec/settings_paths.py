"""Fixed paths of the project (kept apart so errors.py needs no settings import)."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
