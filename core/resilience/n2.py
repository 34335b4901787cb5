"""N2: if two people are out at once, can the schedule be refilled? Every pair, exhaustively.

A pair whose two refill networks share nothing (`refill.interaction_matrix`) decomposes exactly:
its unfilled count is the sum of the two N-1 results, so it needs no solve. Every other pair is
solved by max-flow. Above `parallel_above` pairs the solves are split in chunks across a process
pool (spawned processes, so a GUI's threads are never forked); progress is reported per chunk and
the cancel check runs at least every `poll_seconds`, so a cancel returns within that time (chunks
already running in a worker finish in the background and their answers are dropped).
"""

from __future__ import annotations

import multiprocessing
import os
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from core.errors import Cancelled
from core.progress import CancelledFn, ProgressFn, check, never, noop
from core.resilience.common import background_priority, cached, frozen_array
from core.resilience.refill import RefillModel, interaction_matrix, model_for, refill
from core.snapshot import ScheduleSnapshot


@dataclass(frozen=True)
class Params:
    parallel_above: int = 2000  # pairs to solve before a process pool pays for its start-up
    workers: int = 0  # 0 = one per CPU
    chunk: int = 250  # pairs per chunk sent to a worker
    poll_seconds: float = 0.05


@dataclass(frozen=True, eq=False)
class N2Result:
    revision: str
    names: tuple[str, ...]
    unfilled: NDArray[np.int32]  # [P, P] symmetric; diagonal = N-1 unfilled
    fatal_p: NDArray[np.int64]  # fatal pairs ranked by unfilled half-days (desc)
    fatal_q: NDArray[np.int64]
    fatal_unfilled: NDArray[np.int64]
    n_pairs: int
    n_solved: int  # pairs that needed their own max-flow
    n_decomposed: int  # pairs answered exactly from the two N-1 results
    processes: int  # 0 = solved in this process

    @property
    def n_fatal(self) -> int:
        return len(self.fatal_p)

    def fatal_pairs(self, limit: int | None = None) -> list[tuple[str, str, int]]:
        k = len(self.fatal_p) if limit is None else limit  # the GUI asks for the first 500 of thousands
        rows = zip(self.fatal_p[:k].tolist(), self.fatal_q[:k].tolist(), self.fatal_unfilled[:k].tolist())
        out = [(self.names[p], self.names[q], int(u)) for p, q, u in rows]
        return out


_WORKER_MODEL: RefillModel | None = None


def _init_worker(model: RefillModel) -> None:
    global _WORKER_MODEL
    _WORKER_MODEL = model
    background_priority()


def _solve_chunk(pairs: NDArray[np.int64]) -> NDArray[np.int64]:
    assert _WORKER_MODEL is not None
    return _solve_pairs(_WORKER_MODEL, pairs)


def _solve_pairs(model: RefillModel, pairs: NDArray[np.int64]) -> NDArray[np.int64]:
    out = np.zeros(len(pairs), dtype=np.int64)
    for i, (p, q) in enumerate(pairs.tolist()):
        out[i] = refill(model, (p, q)).unfilled
    return out


def run(snapshot: ScheduleSnapshot, params: Params | None = None, *, progress: ProgressFn = noop,
        cancelled: CancelledFn = never) -> N2Result:
    """N-2 refill for every pair of people of the snapshot."""
    params = params or Params()

    def compute() -> N2Result:
        snap = snapshot
        P = snap.n_people
        progress(0.0, "checking availability")
        model = model_for(snap, 2, cancelled)
        check(cancelled)
        single = np.array([refill(model, (p,)).unfilled for p in range(P)], dtype=np.int64)
        check(cancelled)
        inter = interaction_matrix(model)
        iu, ju = np.triu_indices(P, k=1)
        unfilled = np.zeros((P, P), dtype=np.int64)
        unfilled[iu, ju] = single[iu] + single[ju]
        hard = inter[iu, ju]
        pairs = np.stack([iu[hard], ju[hard]], axis=1).astype(np.int64)
        progress(0.05, f"{len(pairs)} of {len(iu)} pairs to solve")
        n_proc = 0
        if len(pairs) > params.parallel_above:
            n_proc = params.workers or (os.cpu_count() or 1)
            results = _solve_parallel(model, pairs, params, n_proc, progress, cancelled)
        else:
            results = np.zeros(len(pairs), dtype=np.int64)
            t_last = time.perf_counter()
            step = 16
            for k in range(0, len(pairs), step):
                results[k : k + step] = _solve_pairs(model, pairs[k : k + step])
                now = time.perf_counter()
                if now - t_last > 0.02:
                    check(cancelled)
                    progress(0.05 + 0.95 * (k + step) / max(len(pairs), 1), "pairs")
                    t_last = now
        unfilled[pairs[:, 0], pairs[:, 1]] = results
        unfilled[ju, iu] = unfilled[iu, ju]
        unfilled[np.arange(P), np.arange(P)] = single
        fatal = unfilled[iu, ju] > 0
        order = np.argsort(-unfilled[iu, ju][fatal], kind="stable")
        fp, fq = iu[fatal][order], ju[fatal][order]
        progress(1.0, "done")
        return N2Result(
            revision=snap.revision, names=tuple(p.name for p in snap.people),
            unfilled=frozen_array(unfilled, np.int32), fatal_p=frozen_array(fp), fatal_q=frozen_array(fq),
            fatal_unfilled=frozen_array(unfilled[fp, fq]), n_pairs=len(iu), n_solved=len(pairs),
            n_decomposed=len(iu) - len(pairs), processes=n_proc,
        )

    return cached("n2", snapshot.revision, params, compute, progress, cancelled)


def _solve_parallel(model: RefillModel, pairs: NDArray[np.int64], params: Params, n_proc: int,
                    progress: ProgressFn, cancelled: CancelledFn) -> NDArray[np.int64]:
    results = np.zeros(len(pairs), dtype=np.int64)
    chunks = [(k, pairs[k : k + params.chunk]) for k in range(0, len(pairs), params.chunk)]
    ctx = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=n_proc, mp_context=ctx, initializer=_init_worker,
                               initargs=(model,))
    done_pairs = 0
    finished_all = False
    try:
        pending: dict[Future[Any], int] = {}
        queue = list(chunks)
        # keep a few chunks per worker in flight, so a cancel has little queued work to drop
        while queue or pending:
            while queue and len(pending) < 3 * n_proc:
                k, chunk = queue.pop(0)
                pending[pool.submit(_solve_chunk, chunk)] = k
            finished, _ = wait(list(pending), timeout=params.poll_seconds, return_when=FIRST_COMPLETED)
            if cancelled():
                raise Cancelled("The computation was cancelled.")
            for fut in finished:
                k = pending.pop(fut)
                out = fut.result()
                results[k : k + len(out)] = out
                done_pairs += len(out)
            if finished:
                progress(0.05 + 0.95 * done_pairs / len(pairs), f"{done_pairs} of {len(pairs)} pairs")
        finished_all = True
    finally:
        # after the last chunk the workers are idle: waiting for them releases the pool's locks
        # before this process may exit (run_isolated's child); on a cancel, do not wait
        pool.shutdown(wait=finished_all, cancel_futures=True)
    return results
