"""``make screenshots``: the settings page walkthrough, one PNG per step, into ``docs/settings/``.

python -m tests.browser.screenshots [folder]
"""

from __future__ import annotations

import contextlib
import io
import sys
from pathlib import Path

from local.stack import LocalStack, handler_logs
from tests.browser import driver
from tests.browser.walkthrough import Walkthrough

DOCS = Path(__file__).resolve().parents[2] / "docs" / "settings"


def main(argv: list[str]) -> int:
    folder = Path(argv[0]) if argv else DOCS
    why = driver.available()
    if why is not None:
        print(why, file=sys.stderr)
        return 1
    folder.mkdir(parents=True, exist_ok=True)
    taken: list[Path] = []
    logs = io.StringIO()
    with (
        handler_logs(logs),
        contextlib.redirect_stdout(logs),
        LocalStack(poll_seconds=0) as stack,
        driver.chromium() as chrome,
    ):

        def shoot(name: str) -> None:
            path = folder / f"{name}.png"
            chrome.save_screenshot(str(path))
            taken.append(path)

        Walkthrough(stack, chrome, shoot).run()
    for path in taken:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
