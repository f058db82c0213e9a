"""The one process pool: files of a batch and tiles of a scene, ``jobs`` at a time.

:func:`run` calls ``fn(item)`` for each item in a pool of spawned processes (safe with torch),
at most ``in_flight`` submitted at once (memory stays bounded by the work in hand), and hands
``(index, result)`` to ``on_result`` as each finishes; a call that raised gives its exception
as the result (a :class:`WorkerFailed` when the worker process died). Each worker gets an equal
share of the CPU threads.

Ctrl-C: the workers stop the item in hand (each writes atomically, so it leaves nothing), no
new item starts, the items that finished meanwhile still reach ``on_result``, and
:class:`Interrupted` is raised with the indices of every item that finished.
A Ctrl-C typed in a terminal reaches the workers too; one sent to this process alone is passed
on to them. The workers start with SIGINT blocked, so a Ctrl-C during their start-up waits for
their handler instead of killing them with a traceback.
"""

from __future__ import annotations

import os
import signal
import threading
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from multiprocessing import get_context
from typing import Any, Callable, Iterable, Optional


class WorkerFailed(RuntimeError):
    """A worker process died (killed, out of memory) before it returned a result."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C stopped a pool; ``finished`` holds the index of each item that finished (before
    or during the stop)."""

    def __init__(self, finished: set[int]):
        super().__init__()
        self.finished = finished


def threads_per_job(jobs: int) -> int:
    return max(1, (os.cpu_count() or 1) // max(jobs, 1))


_WORKER = {"busy": False, "stop": False}  # a worker's state, for its SIGINT handler


def _worker_init(threads: int) -> None:
    """In each worker: its share of the CPU threads; Ctrl-C stops the item in hand, between
    items it is only noted."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    signal.signal(signal.SIGINT, _worker_sigint)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _worker_sigint(signum: int, frame: Any) -> None:
    _WORKER["stop"] = True
    if _WORKER["busy"]:
        _WORKER["busy"] = False  # once: a second Ctrl-C must not cut the cleanup short
        raise KeyboardInterrupt


def _call(fn: Callable[[Any], Any], item: Any, threads: int) -> Any:
    """Run one item in a worker (none after a Ctrl-C)."""
    if _WORKER["stop"]:
        raise KeyboardInterrupt
    import sys

    if "torch" in sys.modules:  # a worker that already runs torch: its share of threads
        sys.modules["torch"].set_num_threads(threads)
    _WORKER["busy"] = True
    try:
        return fn(item)
    finally:
        _WORKER["busy"] = False


class _sigint_blocked:
    """Hold back SIGINT in this thread (and the processes it starts); delivered on exit."""

    def __enter__(self) -> None:
        self.old = (signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
                    if hasattr(signal, "pthread_sigmask") else None)

    def __exit__(self, *exc: Any) -> None:
        if self.old is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, self.old)


class sigint_ignored:
    """Ignore further Ctrl-Cs while the first one is cleaned up after (main thread only)."""

    def __enter__(self) -> None:
        main = threading.current_thread() is threading.main_thread()
        self.old = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None

    def __exit__(self, *exc: Any) -> None:
        if self.old is not None:
            signal.signal(signal.SIGINT, self.old)


def run(fn: Callable[[Any], Any], items: Iterable[Any], jobs: int,
        on_result: Callable[[int, Any], None], in_flight: Optional[int] = None) -> None:
    """``on_result(index, fn(item) or its exception)`` for every item, as each finishes,
    ``jobs`` processes at a time and at most ``in_flight`` (default: all) submitted at once.
    ``fn`` must be a module-level function (it is pickled)."""
    todo = list(items)
    threads = threads_per_job(jobs)
    limit = in_flight or len(todo)
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn"),
                               initializer=_worker_init, initargs=(threads,))
    futures: dict[Future, int] = {}
    finished: set[int] = set()
    nxt = 0
    try:
        pending: set[Future] = set()
        while nxt < len(todo) or pending:
            with _sigint_blocked():  # workers start here
                while nxt < len(todo) and len(pending) < limit:
                    f = pool.submit(_call, fn, todo[nxt], threads)
                    futures[f] = nxt
                    pending.add(f)
                    nxt += 1
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for f in sorted(done, key=futures.__getitem__):
                finished.add(futures[f])
                on_result(futures[f], _outcome(f))
    except KeyboardInterrupt:
        _stop(pool, futures, finished, on_result)
        raise Interrupted(finished) from None
    except BaseException:
        with sigint_ignored():
            pool.shutdown(wait=False, cancel_futures=True)
            _signal_workers(pool)
        raise
    pool.shutdown(wait=True)


def _outcome(f: Future) -> Any:
    try:
        return f.result()
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # raised by fn, or the worker died
        from concurrent.futures.process import BrokenProcessPool

        if isinstance(exc, BrokenProcessPool):
            return WorkerFailed(f"worker failed: {type(exc).__name__}: {exc}")
        return exc


def _signal_workers(pool: ProcessPoolExecutor) -> None:
    """Pass a Ctrl-C on to the workers (one typed in a terminal reached them already)."""
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        try:
            os.kill(proc.pid, signal.SIGINT)
        except (OSError, AttributeError, TypeError):
            pass


def _stop(pool: ProcessPoolExecutor, futures: dict[Future, int], finished: set[int],
          on_result: Callable[[int, Any], None]) -> None:
    """After Ctrl-C: cancel the items not started, stop those in hand, wait for the workers,
    and hand on the results of items that finished meanwhile."""
    with sigint_ignored():
        for f in futures:
            f.cancel()
        _signal_workers(pool)
        pool.shutdown(wait=True, cancel_futures=True)
        for f, i in futures.items():
            if i in finished or not f.done() or f.cancelled():
                continue
            try:
                result = f.result(timeout=0)
            except BaseException:  # stopped in its worker: nothing written
                continue
            finished.add(i)
            on_result(i, result)
