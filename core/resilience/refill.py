"""Refill by max-flow: can the slots a removed person leaves be covered by others?

The network of one scenario (a set of removed people):

    source -> (activity, slot) node        capacity = the half-days to refill there
           -> (person, slot)               capacity 1 (one activity per person per slot)
           -> person                       capacity 1
           -> sink                         capacity = the person's capacity (foundations)

A node needs refilling when the removed people leave it below its minimum: need = min(removed
there, max(0, min - (staffed - removed there))). A shortage that existed before the removal is not
charged to the scenario. Edges go to people who are `allowed` (free, qualified on the day, within
the duty-hour rules by the engine's check). The maximum flow is the number of half-days that can be
refilled; the scenario passes when it equals the need.

`RefillModel` is the compact, picklable form of all that for one snapshot: the demand nodes a
question may touch (nodes that k removals can bring below their minimum), who staffs them, who may
refill them, and capacities. N-1, N-2, fallbacks, recovery and what-if all solve it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from ortools.graph.python import max_flow

from core.resilience.foundations import Foundations, availability, foundations
from core.snapshot import ScheduleSnapshot

I64 = NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class RefillModel:
    n_people: int
    n_slots: int
    node_a: I64  # [N] activity of each demand node
    node_s: I64  # [N] slot
    node_min: I64  # [N]
    node_staffed: I64  # [N]
    person_ptr: I64  # [P + 1] CSR: nodes each person staffs
    person_nodes: I64
    cand_ptr: I64  # [N + 1] CSR: people allowed to refill each node
    cand: I64
    capacity: I64  # [P]

    def nodes_of(self, p: int) -> I64:
        return self.person_nodes[self.person_ptr[p] : self.person_ptr[p + 1]]

    def candidates_of(self, n: int) -> I64:
        return self.cand[self.cand_ptr[n] : self.cand_ptr[n + 1]]


@dataclass(frozen=True, eq=False)
class RefillOutcome:
    """One scenario: the nodes that needed refilling, how much, and who absorbed what."""

    removed: tuple[int, ...]
    node: I64  # model node ids that needed refilling
    need: I64
    filled: I64
    absorb_node: I64  # one row per refilled half-day: node id and the person who takes it
    absorb_person: I64

    @property
    def needed(self) -> int:
        return int(self.need.sum())

    @property
    def unfilled(self) -> int:
        return int((self.need - self.filled).sum())

    @property
    def passes(self) -> bool:
        return self.unfilled == 0


def build_model(snap: ScheduleSnapshot, k: int, *, removed_hint: Sequence[int] = (),
                cancelled: Any = None, node_mask: NDArray[np.bool_] | None = None) -> RefillModel:
    """The refill model for scenarios of up to `k` removed people.

    Demand nodes are the (activity, slot) pairs with a minimum that `k` removals can break
    (staffed - k < min). `removed_hint` adds every node the named people staff (for scenarios
    with more people than k, e.g. what-if).
    """
    f = foundations(snap)
    P, S = snap.n_people, snap.n_slots
    staffed, rmin = f.staffed, f.req_min
    mask = (rmin > 0) & (staffed > 0) & (staffed - k < rmin)
    if node_mask is not None:
        mask = mask | node_mask
    if removed_hint:
        codes = snap.codes
        for p in removed_hint:
            ss = np.flatnonzero(codes[p] >= 0)
            aa = codes[p, ss].astype(np.int64)
            sel = rmin[aa, ss] > 0
            mask[aa[sel], ss[sel]] = True
    node_a, node_s = np.nonzero(mask)
    node_a = node_a.astype(np.int64)
    node_s = node_s.astype(np.int64)
    N = len(node_a)
    node_id = np.full(mask.shape, -1, dtype=np.int64)
    node_id[node_a, node_s] = np.arange(N)

    # who staffs each node: person p holds codes[p, s] == a
    codes = snap.codes.astype(np.int64)
    pp, ss = np.nonzero(codes >= 0)
    nid = node_id[codes[pp, ss], ss]
    keep = nid >= 0
    pp, nid = pp[keep], nid[keep]
    order = np.argsort(pp, kind="stable")
    person_nodes = nid[order]
    person_ptr = np.zeros(P + 1, dtype=np.int64)
    np.cumsum(np.bincount(pp, minlength=P), out=person_ptr[1:])

    av = availability(snap)
    av.ensure(node_a, node_s, cancelled)
    cand_lists = [np.flatnonzero(av.allowed(int(a), int(s))) for a, s in zip(node_a, node_s)]
    cand_ptr = np.zeros(N + 1, dtype=np.int64)
    if N:
        np.cumsum([len(c) for c in cand_lists], out=cand_ptr[1:])
    cand = np.concatenate(cand_lists).astype(np.int64) if N else np.zeros(0, dtype=np.int64)
    capacity = _capacities(f, node_a, node_s, cand_ptr, cand, P)
    return RefillModel(
        n_people=P, n_slots=S, node_a=node_a, node_s=node_s, node_min=rmin[node_a, node_s],
        node_staffed=staffed[node_a, node_s], person_ptr=person_ptr, person_nodes=person_nodes,
        cand_ptr=cand_ptr, cand=cand, capacity=capacity,
    )


def _capacities(f: Foundations, node_a: I64, node_s: I64, cand_ptr: I64, cand: I64, P: int) -> I64:
    """Half-days each person may absorb: H80 headroom / the longest span they could be given."""
    N = len(node_a)
    counts = np.bincount(cand, minlength=P).astype(np.int64)
    if N == 0:
        return counts
    node_span = f.span_minutes[node_a, node_s % 2]
    per_edge = np.repeat(node_span, np.diff(cand_ptr))
    longest = np.zeros(P, dtype=np.int64)
    np.maximum.at(longest, cand, per_edge)
    cap = counts.copy()
    res = f.is_resident & (longest > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        by_hours = np.floor(f.headroom_minutes[res] / longest[res])
    cap[res] = np.minimum(cap[res], np.where(np.isfinite(by_hours), by_hours, cap[res]).astype(np.int64))
    return cap


def refill(model: RefillModel, removed: Sequence[int]) -> RefillOutcome:
    """Solve one scenario: remove `removed` for the whole snapshot and refill by max-flow."""
    removed_t = tuple(int(r) for r in removed)
    parts = [model.nodes_of(r) for r in removed_t]
    empty = np.zeros(0, dtype=np.int64)
    if not parts or sum(len(x) for x in parts) == 0:
        return RefillOutcome(removed_t, empty, empty, empty, empty, empty)
    nodes, removed_here = np.unique(np.concatenate(parts), return_counts=True)
    remaining = model.node_staffed[nodes] - removed_here
    need = np.minimum(removed_here, np.maximum(0, model.node_min[nodes] - remaining))
    sel = need > 0
    nodes, need = nodes[sel], need[sel]
    if len(nodes) == 0:
        return RefillOutcome(removed_t, empty, empty, empty, empty, empty)
    return refill_nodes(model, nodes, need, removed_t)


def refill_nodes(model: RefillModel, nodes: I64, need: I64, removed: tuple[int, ...] = ()) -> RefillOutcome:
    """Max-flow of `need[i]` half-days into model node `nodes[i]`, never using `removed` people."""
    removed_t = removed
    empty = np.zeros(0, dtype=np.int64)
    sel = need > 0
    nodes, need = np.asarray(nodes, dtype=np.int64)[sel], np.asarray(need, dtype=np.int64)[sel]
    if len(nodes) == 0:
        return RefillOutcome(removed_t, empty, empty, empty, empty, empty)
    starts, ends = model.cand_ptr[nodes], model.cand_ptr[nodes + 1]
    lens = ends - starts
    if lens.sum() == 0:
        return RefillOutcome(removed_t, nodes, need, np.zeros_like(need), empty, empty)
    # gather candidate edges (node_local, person)
    idx = np.repeat(starts - np.concatenate([[0], np.cumsum(lens)[:-1]]), lens) + np.arange(lens.sum())
    e_node = np.repeat(np.arange(len(nodes)), lens)
    e_person = model.cand[idx]
    if removed_t:
        keep = ~np.isin(e_person, np.array(removed_t))
        e_node, e_person = e_node[keep], e_person[keep]
    if len(e_node) == 0:
        return RefillOutcome(removed_t, nodes, need, np.zeros_like(need), empty, empty)
    e_slot = model.node_s[nodes][e_node]
    xs_key, xs_inv = np.unique(e_person * model.n_slots + e_slot, return_inverse=True)
    xs_person = xs_key // model.n_slots
    persons, p_inv = np.unique(xs_person, return_inverse=True)
    n_nodes, n_xs, n_p = len(nodes), len(xs_key), len(persons)
    src, sink = 0, 1
    node0 = 2
    xs0 = node0 + n_nodes
    p0 = xs0 + n_xs
    tails = np.concatenate([
        np.full(n_nodes, src), node0 + e_node, xs0 + np.arange(n_xs), p0 + np.arange(n_p),
    ]).astype(np.int32)
    heads = np.concatenate([
        node0 + np.arange(n_nodes), xs0 + xs_inv.ravel(), p0 + p_inv.ravel(), np.full(n_p, sink),
    ]).astype(np.int32)
    caps = np.concatenate([
        need, np.ones(len(e_node), dtype=np.int64), np.ones(n_xs, dtype=np.int64), model.capacity[persons],
    ]).astype(np.int64)
    flow = max_flow.SimpleMaxFlow()
    flow.add_arcs_with_capacity(tails, heads, caps)
    status = flow.solve(src, sink)
    if status != flow.OPTIMAL:  # pragma: no cover - integer capacities always solve
        raise RuntimeError(f"max-flow failed with status {status}")
    flows = flow.flows(np.arange(len(tails), dtype=np.int32))
    filled = np.asarray(flows[:n_nodes], dtype=np.int64)
    e_flow = np.asarray(flows[n_nodes : n_nodes + len(e_node)], dtype=np.int64)
    used = e_flow > 0
    return RefillOutcome(removed_t, nodes, need, filled, nodes[e_node[used]], e_person[used])


def interaction_matrix(model: RefillModel) -> NDArray[np.bool_]:
    """[P, P]: True where removing p and q together is not simply N-1(p) plus N-1(q).

    Two scenarios decompose exactly when their networks share nothing: no demand node in common
    (both staff the same activity in the same slot), no refill candidate in common, and neither
    person is a candidate for the other's slots. Then the pair's max-flow is the sum of the two
    single max-flows and the pair needs no solve of its own.
    """
    P = model.n_people
    N = len(model.node_a)
    if N == 0:
        return np.zeros((P, P), dtype=bool)
    staff = np.zeros((P, N), dtype=np.float32)
    owner = np.repeat(np.arange(P), np.diff(model.person_ptr))
    staff[owner, model.person_nodes] = 1.0
    cand_m = np.zeros((N, P), dtype=np.float32)
    cand_m[np.repeat(np.arange(N), np.diff(model.cand_ptr)), model.cand] = 1.0
    reach = (staff @ cand_m) > 0  # [P, P]: p's nodes may be refilled by x
    share_node = (staff @ staff.T) > 0
    r = reach.astype(np.float32)
    share_cand = (r @ r.T) > 0
    out: NDArray[np.bool_] = share_node | share_cand | reach | reach.T
    np.fill_diagonal(out, False)
    return out


def model_for(snap: ScheduleSnapshot, k: int, cancelled: Any = None) -> RefillModel:
    """`build_model` cached per snapshot object and k."""
    av = availability(snap)
    cache: dict[int, RefillModel] = av.__dict__.setdefault("_models", {})
    hit = cache.get(k)
    if hit is None:
        hit = build_model(snap, k, cancelled=cancelled)
        cache[k] = hit
    return hit
