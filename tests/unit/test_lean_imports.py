"""What each function loads at init, in a fresh interpreter: code a function never runs on its common path
stays out of its cold start (``make bench`` measures the time; this keeps the shape)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

# handler module → modules it must not import at init, and why
KEPT_OUT = {
    # The push queues alert emails for the alerts function; it never renders one.
    "functions.push.handler": ["shared.emails", "shared.domain.alerts", "shared.domain.management"],
    # The intake routes events to outboxes: neither the push's pipeline nor Xero's client.
    "functions.intake.handler": ["shared.domain.push.flush", "httpx", "shared.emails"],
    # The management API loads httpx and the management domain with the first request that reads Xero.
    "functions.management.handler": ["httpx", "shared.domain.push.flush", "shared.emails"],
    "functions.settings_page.handler": ["httpx", "shared.domain.push.flush", "shared.emails"],
    # Reconciliation reads Xero and the sync records; it never pushes nor renders an email itself.
    "functions.reconcile.handler": ["shared.domain.push.flush", "shared.emails"],
    "functions.oauth.handler": ["shared.domain.push.flush", "shared.emails", "shared.models.events"],
}


def loaded_by(module: str) -> set[str]:
    script = f"import json, sys, {module}; print(json.dumps(sorted(sys.modules)))"
    env = {**os.environ, "PYTHONPATH": os.getcwd(), "AWS_DEFAULT_REGION": "us-east-1"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    return set(json.loads(done.stdout))


@pytest.mark.parametrize("handler", sorted(KEPT_OUT))
def test_a_function_does_not_load_what_its_common_path_never_runs(handler: str) -> None:
    loaded = loaded_by(handler)
    assert handler in loaded
    assert not [m for m in KEPT_OUT[handler] if m in loaded]
