"""Many files at once: one task per file, run here, in a process pool, or on a Dask cluster.

A batch never stops at the first failure: every file gets a :class:`TaskResult` (done, skipped
because its output exists, or failed with a one-line reason), and the caller reports them all.
Outputs that already exist are skipped unless ``force``. Each task writes atomically through
the API, so an interrupted batch leaves only complete files behind.

Execution:
* ``jobs == 1``: in this process, one file after the other.
* ``jobs > 1``: a pool of ``jobs`` processes (started with *spawn*, which is safe with torch),
  torch threads split between them; devices in ``devices`` are handed out round-robin, so
  ``--device cuda:0,cuda:1`` spreads files over two GPUs.
* ``scheduler``: the same tasks on an existing Dask distributed cluster (workers need hinerc
  installed and the files on storage they share).
"""

from __future__ import annotations

import os
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Callable, Optional

from hinerc.errors import HinercError, InputError
from hinerc.io import output_files

OUTPUT_EXT = {"envi": ".hdr", "gtiff": ".tif", "mat": ".mat", "npy": ".npy"}


@dataclass
class Task:
    """One file to process: ``kind`` is ``"compress"`` or ``"decompress"``."""

    kind: str
    input: str
    output: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class TaskResult:
    """One file's outcome. ``result`` is the file's record exactly as single-file ``--json``
    prints it (:func:`compress_record`, :func:`decompress_record`; ``docs/json.md``), empty
    unless ``status`` is ``"done"``; the other fields are kept for the summary table."""

    input: str
    output: str
    status: str  # "done", "skipped" or "failed"
    message: str = ""
    seconds: float = 0.0
    bpppb: Optional[float] = None
    psnr_db: Optional[float] = None
    result: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """``input``, ``output``, ``status``, ``message``, then the file's record (only
        ``seconds`` for a file that was skipped or failed)."""
        d = {"input": self.input, "output": self.output, "status": self.status,
             "message": self.message}
        d.update(self.result or {"seconds": round(self.seconds, 2)})
        return d


def compress_record(input: Any, output: Any, result: Any) -> dict[str, Any]:
    """The JSON record of one compressed file: ``input``, ``output``, then
    :meth:`hinerc.api.CompressResult.to_dict` (without its ``path``, which is ``output``)."""
    d = {"input": str(input), "output": str(output)}
    d.update((k, v) for k, v in result.to_dict().items() if k != "path")
    return d


def decompress_record(input: Any, output: Any, cube: Any, seconds: float) -> dict[str, Any]:
    """The JSON record of one decoded file."""
    return {"input": str(input), "output": str(output), "shape": list(cube.shape),
            "dtype": cube.dtype.name, "seconds": round(seconds, 2)}


def plan(kind: str, inputs: list[Path], out_dir: Optional[Path], ext: str, force: bool,
         options: dict[str, Any]) -> tuple[list[Task], list[TaskResult]]:
    """Tasks to run, and the results already known (skipped or refused files)."""
    tasks: list[Task] = []
    known: list[TaskResult] = []
    seen: dict[Path, str] = {}
    for src in inputs:
        folder = out_dir if out_dir is not None else src.parent
        out = folder / (src.stem + ext)
        if out.resolve() in seen:
            known.append(TaskResult(str(src), str(out), "failed",
                                    f"same output as {seen[out.resolve()]}"))
            continue
        seen[out.resolve()] = str(src)
        written = output_files(out) if kind == "decompress" else [out]  # ENVI: two files
        if any(p.exists() for p in written) and not force:
            known.append(TaskResult(str(src), str(out), "skipped", "output exists (--force)"))
            continue
        tasks.append(Task(kind, str(src), str(out), dict(options, force=force)))
    return tasks, known


def run_task(task: Task, threads: Optional[int] = None) -> TaskResult:
    """Run one task; every error becomes a failed result with a one-line message."""
    if threads:
        import torch
        torch.set_num_threads(threads)
    from hinerc import api

    t0 = time.perf_counter()
    try:
        if task.kind == "compress":
            r = api.compress(task.input, task.output, **task.options)
            rec = compress_record(task.input, task.output, r)
            return TaskResult(task.input, task.output, "done", "", rec["seconds"],
                              rec["bpppb"], rec["psnr_db"], rec)
        cube = api.decompress(task.input, task.output, **task.options)
        secs = time.perf_counter() - t0
        return TaskResult(task.input, task.output, "done", "", secs,
                          result=decompress_record(task.input, task.output, cube, secs))
    except HinercError as exc:
        msg = " ".join(str(exc).split())
    except Exception as exc:  # a bug: keep going, but say so
        last = traceback.extract_tb(exc.__traceback__)[-1]
        msg = (f"internal error {type(exc).__name__}: {' '.join(str(exc).split())} "
               f"({Path(last.filename).name}:{last.lineno}; please report it)")
    return TaskResult(task.input, task.output, "failed", msg, time.perf_counter() - t0)


def parse_devices(device: str) -> list[str]:
    """``"cuda:0,cuda:1"`` → ``["cuda:0", "cuda:1"]``; a single device stays a one-item list."""
    devices = [d.strip() for d in device.split(",") if d.strip()]
    if not devices:
        raise InputError("--device is empty")
    return devices


def run(tasks: list[Task], jobs: int = 1, devices: Optional[list[str]] = None,
        scheduler: Optional[str] = None,
        on_done: Optional[Callable[[TaskResult], None]] = None) -> list[TaskResult]:
    """Run ``tasks`` and return their results in task order."""
    devices = devices or ["auto"]
    for i, t in enumerate(tasks):
        t.options["device"] = devices[i % len(devices)]
    notify = on_done or (lambda r: None)
    if scheduler:
        return _run_dask(tasks, scheduler, notify)
    if jobs <= 1 or len(tasks) <= 1:
        results = []
        for t in tasks:
            results.append(run_task(t))
            notify(results[-1])
        return results
    threads = max(1, (os.cpu_count() or 1) // jobs)
    results_by: dict[int, TaskResult] = {}
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn"))
    try:
        futures = {pool.submit(run_task, t, threads): i for i, t in enumerate(tasks)}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for f in done:
                i = futures[f]
                try:
                    results_by[i] = f.result()
                except Exception as exc:  # the worker process died
                    results_by[i] = TaskResult(tasks[i].input, tasks[i].output, "failed",
                                               f"worker failed: {type(exc).__name__}: {exc}")
                notify(results_by[i])
    except KeyboardInterrupt:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return [results_by[i] for i in range(len(tasks))]


def _run_dask(tasks: list[Task], address: str, notify: Callable[[TaskResult], None]
              ) -> list[TaskResult]:
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise InputError("--scheduler needs Dask: pip install 'hinerc[dask]'") from None
    try:
        client = Client(address, timeout=10)
    except (OSError, TimeoutError) as exc:
        raise InputError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    try:
        futures = client.map(run_task, tasks, pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        results: dict[int, TaskResult] = {}
        for f in as_completed(futures):
            i = index[f.key]
            try:
                results[i] = f.result()
            except Exception as exc:
                results[i] = TaskResult(tasks[i].input, tasks[i].output, "failed",
                                        f"worker failed: {type(exc).__name__}: {exc}")
            notify(results[i])
        return [results[i] for i in range(len(tasks))]
    finally:
        client.close()
