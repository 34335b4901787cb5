"""ERLANG: a staffing calculator for demand-driven services (consults, pagers), Erlang C.

Offered load A = arrivals per hour x mean handling time in hours. With c servers (c > A):
P(wait) = [A^c / c! * c / (c - A)] / [sum_{k < c} A^k / k! + A^c / c! * c / (c - A)],
mean wait = P(wait) * handling time / (c - A). Servers needed: the smallest c with P(wait) <= target.
The snapshot is not used: the calculator stands alone (the signature matches the other analyses).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from core.errors import ValidationError
from core.progress import CancelledFn, ProgressFn, never, noop


@dataclass(frozen=True)
class Params:
    arrivals_per_hour: float = 4.0
    handling_minutes: float = 30.0
    servers: int = 3
    target_wait_probability: float = 0.2


def erlang_c(load: float, servers: int) -> float:
    """P(wait) for offered load `load` (erlangs) and `servers`; 1.0 when servers <= load."""
    if servers <= load:
        return 1.0
    term = 1.0
    total = 0.0
    for k in range(servers):
        if k:
            term *= load / k
        total += term
    top = term * load / servers * servers / (servers - load)  # A^c / c! * c / (c - A)
    return top / (total + top)


@dataclass(frozen=True)
class ErlangResult:
    load: float
    servers: int
    p_wait: float
    mean_wait_minutes: float
    servers_needed: int


def run(snapshot: Any = None, params: Params | None = None, *, progress: ProgressFn = noop,
        cancelled: CancelledFn = never) -> ErlangResult:
    params = params or Params()
    if params.arrivals_per_hour < 0 or params.handling_minutes <= 0 or params.servers < 1:
        raise ValidationError("Arrivals must be >= 0, handling time > 0 and servers >= 1.")
    load = params.arrivals_per_hour * params.handling_minutes / 60.0
    p = erlang_c(load, params.servers)
    wait = p * params.handling_minutes / (params.servers - load) if params.servers > load else math.inf
    need = max(1, math.floor(load) + 1)
    while erlang_c(load, need) > params.target_wait_probability:
        need += 1
    progress(1.0, "erlang")
    return ErlangResult(load, params.servers, p, wait, need)
