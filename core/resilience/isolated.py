"""Run one analysis in a niced process of its own: the caller's GIL stays free.

On a large program every analysis is seconds of Python (and garbage collections) holding the GIL;
run on a desktop's worker thread, that stalls the GUI thread's event loop (the resilience page's
probe, docs/performance.md). `run_isolated` sends the snapshot (a pickle of about 120 KB and 1 ms
for 210 people) to a new process (forked by the fork server of `common.process_context`, else spawned), relays its progress, and returns its frozen result; the
caller's thread only waits on a pipe.

A cancel raises `Cancelled` in the caller within one 0.05 s poll. The child is told to stop (its
analysis polls the flag, so N2 shuts down its own worker processes) and is terminated if it has not
ended within a second.
"""

from __future__ import annotations

from typing import Any

from core.progress import CancelledFn, ProgressFn, never, noop

ISOLATE_PEOPLE = 60  # programs from this size on run their analyses in a separate process


def run_isolated(analysis: str, snapshot: Any, params: Any = None, *, progress: ProgressFn = noop,
                 cancelled: CancelledFn = never) -> Any:
    """`core.resilience.run(analysis, snapshot, params)` in a process of its own (see the module)."""
    from core.errors import Cancelled
    from core.resilience.common import background_priority, process_context

    ctx = process_context()  # a niced fork server where there is one (see process_context)
    recv, send = ctx.Pipe(duplex=False)
    stop_recv, stop_send = ctx.Pipe(duplex=False)
    # not a daemon: FALLBACK and N2 start their own processes from the child
    proc = ctx.Process(target=_child, args=(send, stop_recv, analysis, snapshot, params),
                       name=f"resilience-{analysis}", daemon=False)
    proc.start()
    if proc.pid:
        background_priority(proc.pid)  # niced from its first import on (it does so itself too)
    send.close()
    stop_recv.close()
    try:
        while True:
            if cancelled():
                raise Cancelled("The computation was cancelled.")
            if not recv.poll(0.05):
                if not proc.is_alive() and not recv.poll(0):
                    raise RuntimeError(f"The {analysis} analysis process ended without an answer.")
                continue
            kind, value, message = recv.recv()
            if kind == "progress":
                progress(value, message)
            elif kind == "error":
                raise value
            else:
                return value
    finally:
        if proc.is_alive():
            try:
                stop_send.send("stop")
            except OSError:  # the child has just ended
                pass
            proc.join(1.0)
        if proc.is_alive():
            proc.terminate()
        proc.join(1.0)
        recv.close()
        stop_send.close()


def _child(conn: Any, stop_conn: Any, analysis: str, snapshot: Any, params: Any) -> None:
    """The child process: send ("progress", fraction, message)..., then ("ok", result, "") or
    ("error", exception, ""); a message on `stop_conn` cancels the analysis."""
    import threading

    from core import resilience
    from core.errors import Cancelled
    from core.progress import Throttled
    from core.resilience.common import background_priority

    background_priority()
    stop = threading.Event()

    def listen() -> None:
        try:
            stop_conn.recv()
        except (EOFError, OSError):  # the parent closed its end: it no longer wants the answer
            pass
        stop.set()

    threading.Thread(target=listen, name="resilience-stop", daemon=True).start()

    def report(fraction: float, message: str = "") -> None:
        conn.send(("progress", float(fraction), message))

    try:
        result = resilience.run(analysis, snapshot, params, progress=Throttled(report, 0.01),
                                cancelled=stop.is_set)
    except Cancelled:
        return
    except Exception as exc:  # noqa: BLE001 - re-raised in the parent
        conn.send(("error", exc, ""))
    else:
        conn.send(("ok", result, ""))
    conn.close()
