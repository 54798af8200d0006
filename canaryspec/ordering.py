"""A behave runner that runs the fast, static features first.

behave orders feature files alphabetically; the image checks need no canary and fail in seconds,
so they go first, then the features that own a canary of their own, then the rest.
"""

from __future__ import annotations

from pathlib import Path

from behave.runner import Runner

# Feature files by stem, earliest first; unlisted ones keep behave's order after these.
FIRST = ("images", "migrations")


def run_order(location: object) -> int:
    stem = Path(str(getattr(location, "filename", location))).stem
    return FIRST.index(stem) if stem in FIRST else len(FIRST)


class StaticFirstRunner(Runner):
    def feature_locations(self) -> list:
        return sorted(super().feature_locations(), key=run_order)
