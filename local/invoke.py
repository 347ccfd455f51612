"""Invoking the real handlers in-process as Lambda would: each function's settings from template.yaml
(handler, timeout, memory) and a LambdaContext whose remaining time counts down from the timeout."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from local.apigw import Handler, load_handler
from local.template import load_template

ACCOUNT_ID = "123456789012"


@dataclass(frozen=True)
class FunctionSpec:
    """One ``AWS::Serverless::Function`` of the template, as the local stack runs it."""

    logical_id: str
    handler_path: str
    timeout_seconds: int
    memory_mb: int
    events: dict[str, Any]

    def load(self) -> Handler:
        return load_handler(self.handler_path)


def template_functions(template: dict[str, Any] | None = None) -> dict[str, FunctionSpec]:
    """Every function of the template by logical id, with the Globals applied."""
    template = template or load_template()
    defaults = template.get("Globals", {}).get("Function", {})
    functions = {}
    for logical, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        props = resource["Properties"]
        functions[logical] = FunctionSpec(
            logical_id=logical,
            handler_path=props["Handler"],
            timeout_seconds=int(props.get("Timeout", defaults.get("Timeout", 3))),
            memory_mb=int(props.get("MemorySize", defaults.get("MemorySize", 128))),
            events=props.get("Events", {}),
        )
    return functions


class LocalContext(LambdaContext):
    """The context Lambda passes a handler: names, memory, and the time left before the timeout."""

    def __init__(self, function_name: str, *, timeout_seconds: float, memory_mb: int, region: str = "us-east-1"):
        self._function_name = function_name
        self._function_version = "$LATEST"
        self._invoked_function_arn = f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{function_name}"
        self._memory_limit_in_mb = memory_mb
        self._aws_request_id = str(uuid.uuid4())
        self._log_group_name = f"/aws/lambda/{function_name}"
        self._log_stream_name = time.strftime("%Y/%m/%d/[$LATEST]") + uuid.uuid4().hex
        self.deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:  # type: ignore[override]
        return max(0, int((self.deadline - time.monotonic()) * 1000))

    @property
    def timed_out(self) -> bool:
        return time.monotonic() >= self.deadline


def context_for(spec: FunctionSpec, prefix: str, region: str = "us-east-1") -> LocalContext:
    return LocalContext(
        f"{prefix}-{spec.logical_id}", timeout_seconds=spec.timeout_seconds, memory_mb=spec.memory_mb, region=region
    )
