"""The sandbox's clock: real time by default; tests and benchmarks move it or speed it up."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime


class SandboxClock:
    def __init__(self, start: float | None = None, speed: float = 1.0) -> None:
        self._lock = threading.Lock()
        self._anchor_real = time.monotonic()
        self._anchor_virtual = start if start is not None else time.time()
        self._speed = speed

    def now(self) -> float:
        with self._lock:
            return self._anchor_virtual + (time.monotonic() - self._anchor_real) * self._speed

    def utcnow(self) -> datetime:
        return datetime.fromtimestamp(self.now(), UTC)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._anchor_virtual += seconds

    def set(self, epoch_seconds: float) -> None:
        """Jump to an instant (Unix seconds); the speed is kept."""
        with self._lock:
            self._anchor_virtual = epoch_seconds
            self._anchor_real = time.monotonic()

    def set_speed(self, speed: float) -> None:
        """From now on, one real second is ``speed`` sandbox seconds."""
        if speed <= 0:
            raise ValueError("speed must be positive")
        current = self.now()
        with self._lock:
            self._anchor_virtual = current
            self._anchor_real = time.monotonic()
            self._speed = speed

    @property
    def speed(self) -> float:
        return self._speed
