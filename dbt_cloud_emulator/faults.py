"""Injected failures: a seeded random rate and scripted rules, decided per request."""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from .config import FAULT_KINDS

# What happens to the request: answer `status` instead, close the socket before or after processing, or wait.
STATUS, DROP, DROP_AFTER, SLOW = "status", "drop", "drop_after", "slow"


@dataclass(frozen=True)
class Fault:
    """One injected failure."""

    kind: str
    status: int | None = None
    retry_after: float | None = None
    delay: float = 0.0

    @property
    def label(self) -> str:
        """How the request log names it: the status code, or the kind."""
        return str(self.status) if self.kind == STATUS else self.kind

    @property
    def before_processing(self) -> bool:
        """True when the request never reaches the state."""
        return self.kind in (STATUS, DROP)


@dataclass
class Rule:
    """The next `remaining` requests matching `method` and the `path` regex get `fault`; or, with `until`, every
    matching request until that emulated time (an outage, a rate limit's cooldown)."""

    fault: Fault
    remaining: int
    method: str | None
    path: re.Pattern[str] | None
    until: float | None = None

    def matches(self, method: str, path: str, now: float) -> bool:
        """True when the rule still has uses (or time) and fits the request."""
        live = self.remaining > 0 if self.until is None else now < self.until
        return (
            live
            and (self.method is None or self.method == method)
            and (self.path is None or self.path.search(path) is not None)
        )


def fault_of_kind(kind: str, retry_after: float, delay: float) -> Fault:
    """The fault a `fault_kinds` label stands for."""
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; choose from {list(FAULT_KINDS)}")
    if kind in (DROP, DROP_AFTER):
        return Fault(kind)
    if kind == SLOW:
        return Fault(SLOW, delay=delay)
    if kind == "429_no_retry_after":
        return Fault(STATUS, 429)
    return Fault(STATUS, int(kind), retry_after if kind == "429" else None)


class FaultPlan:
    """Decides, request by request, which fault (if any) to inject; scripted rules come first."""

    def __init__(
        self,
        *,
        rate: float,
        kinds: tuple[str, ...],
        seed: int,
        retry_after: float,
        slow_seconds: float,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._now = now
        self._lock = threading.Lock()
        self._rng = random.Random(seed)  # noqa: S311 - reproducible chaos, not secrets
        self._rules: list[Rule] = []
        self._random: list[Fault] = []
        self.rate = 0.0
        self.retry_after = retry_after
        self.slow_seconds = slow_seconds
        self.set_rate(rate, kinds)

    def set_rate(self, rate: float, kinds: tuple[str, ...] | None = None) -> None:
        """Inject a random fault from `kinds` into that share of requests."""
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be within 0..1")
        with self._lock:
            self.rate = rate
            if kinds is not None:
                self._random = [fault_of_kind(k, self.retry_after, self.slow_seconds) for k in kinds]
            if rate and not self._random:
                raise ValueError("a fault rate needs at least one fault kind")

    def add(self, fault: Fault, *, count: int, method: str | None, path: str | None) -> None:
        """Script `fault` for the next `count` matching requests."""
        if count < 1:
            raise ValueError("count must be >= 1")
        rule = Rule(fault, count, method.upper() if method else None, re.compile(path) if path else None)
        with self._lock:
            self._rules.append(rule)

    def add_window(self, fault: Fault, *, seconds: float, method: str | None, path: str | None) -> None:
        """Fail every matching request with `fault` for the next `seconds` of emulated time."""
        if seconds <= 0:
            raise ValueError("seconds must be > 0")
        rule = Rule(fault, 0, method.upper() if method else None, re.compile(path) if path else None)
        with self._lock:
            rule.until = self._now() + seconds
            self._rules.append(rule)

    def clear(self) -> None:
        """Forget scripted rules and stop random faults."""
        with self._lock:
            self._rules.clear()
            self.rate = 0.0

    def pending(self) -> int:
        """How many scripted faults are still to fire (a window that is still open counts as one)."""
        with self._lock:
            now = self._now()
            return sum(rule.remaining if rule.until is None else int(now < rule.until) for rule in self._rules)

    def pick(self, method: str, path: str) -> Fault | None:
        """The fault for this request, consuming one use of a matching rule or one random draw."""
        with self._lock:
            now = self._now()
            for rule in self._rules:
                if rule.matches(method, path, now):
                    if rule.until is None:
                        rule.remaining -= 1
                    return rule.fault
            if self.rate and self._rng.random() < self.rate:
                return self._rng.choice(self._random)
            return None
