"""Evidence a step attaches to its Allure result: text, JSON, tables.

allure-behave listens for `allure.attach`; without the formatter attachments are no-ops, so the
suite works the same with or without Allure.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import allure


def attach_text(name: str, text: str) -> None:
    allure.attach(text, name=name, attachment_type=allure.attachment_type.TEXT)


def attach_unreported_exchanges(api: Any, name: str = "HTTP exchanges") -> None:
    """The HTTP exchanges `api` (a PlatformClient) made since the last attachment, if any."""
    left_out = getattr(api, "left_out", 0)
    exchanges = api.unreported()
    if exchanges:
        earlier = f"({left_out} earlier exchanges not kept)\n\n" if left_out else ""
        attach_text(name, earlier + "\n\n".join(x.render() for x in exchanges))


def plain(data: Any) -> Any:
    """Dataclasses (and lists of them) as JSON-ready dicts."""
    if dataclasses.is_dataclass(data) and not isinstance(data, type):
        return dataclasses.asdict(data)
    if isinstance(data, list | tuple):
        return [plain(item) for item in data]
    return data


def attach_json(name: str, data: Any) -> None:
    allure.attach(json.dumps(plain(data), indent=2, default=str), name=name,
                  attachment_type=allure.attachment_type.JSON)


def attach_table(name: str, header: list[str], rows: list[list[str]]) -> None:
    """A CSV attachment: Allure shows it as a table."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    allure.attach(buffer.getvalue(), name=name, attachment_type=allure.attachment_type.CSV)
