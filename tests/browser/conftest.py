"""Browser tests: headless Chromium against the local stack (``make test`` installs Chromium first)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser import driver


@pytest.fixture
def browser() -> Iterator[Any]:
    why = driver.available()
    if why is not None:
        pytest.skip(why)
    with driver.chromium() as chrome:
        yield chrome


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.browser)
