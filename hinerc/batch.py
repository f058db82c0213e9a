"""Many files at once: one task per file, run here, in a process pool, or on a Dask cluster.

A batch never stops at the first failure: every file gets a :class:`TaskResult` (done, skipped
because its output exists, or failed with a one-line reason), and the caller reports them all.
Outputs that already exist are skipped unless ``force``. Each task writes atomically through
the API, so an interrupted batch leaves only complete files behind.

Ctrl-C: :func:`run` raises :class:`Interrupted`, a ``KeyboardInterrupt`` that carries every
task's result: the files that finished (a done file is complete on disk) and, with status
``"interrupted"``, those not done (nothing of them is left). Pool workers stop the file in
hand on Ctrl-C (its temporary output is removed) and start no other; an idle worker only takes
note, so no worker prints a traceback.

Warnings: a :class:`~hinerc.errors.HinercWarning` raised by a task (in this process, a pool
worker or a Dask worker) is not printed where it happens, where the CLI's one-line reporting
and ``--quiet`` cannot reach it: it travels back in ``TaskResult.warnings`` (once per message)
and the caller reports it.

Execution:
* ``jobs == 1``: in this process, one file after the other.
* ``jobs > 1``: the one process pool (:mod:`hinerc.parallel`), CPU threads split between the
  workers; devices in ``devices`` are handed out round-robin, so ``--device cuda:0,cuda:1``
  spreads files over two GPUs.
* ``scheduler``: the same tasks on an existing Dask distributed cluster (workers need hinerc
  installed and the files on storage they share).
"""

from __future__ import annotations

import threading
import time
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from hinerc import parallel
from hinerc.errors import HinercError, HinercWarning, InputError
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
    status: str  # "done", "skipped", "failed" or "interrupted" (Ctrl-C: not done, nothing left)
    message: str = ""
    seconds: float = 0.0
    bpppb: Optional[float] = None
    psnr_db: Optional[float] = None
    warnings: list[str] = field(default_factory=list)  # HinercWarnings of this file, one line each
    result: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """``input``, ``output``, ``status``, ``message``, ``warnings``, then the file's record
        (only ``seconds`` for a file that was skipped or failed)."""
        d = {"input": self.input, "output": self.output, "status": self.status,
             "message": self.message, "warnings": list(self.warnings)}
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


#: The message of a file whose Dask task was running at Ctrl-C (Dask cannot stop it).
STILL_RUNNING = "not done (Ctrl-C): it was running on a Dask worker, which may still write it"


class Interrupted(KeyboardInterrupt):
    """Ctrl-C stopped a batch; ``results`` holds one result per task, in task order."""

    def __init__(self, results: list[TaskResult]):
        super().__init__("interrupted")
        self.results = results


def run_task(task: Task) -> TaskResult:
    """Run one task; every error becomes a failed result with a one-line message, and the
    HinercWarnings it raises are returned in ``warnings`` instead of being printed."""
    caught: list[str] = []
    with _capture_warnings(caught):
        result = _run_task(task)
    result.warnings = caught
    return result


def _not_done(tasks: list[Task], finished: dict[int, TaskResult],
              why: str = "not done (Ctrl-C): nothing written") -> list[TaskResult]:
    """Every task's result, in order; the ones not finished say so."""
    return [finished[i] if i in finished else TaskResult(t.input, t.output, "interrupted", why)
            for i, t in enumerate(tasks)]


_CAPTURE = threading.local()  # .sink: where this thread's HinercWarnings go (None: shown)
_CAPTURE_LOCK = threading.Lock()
_PASS_ON: list = [warnings.showwarning]  # the showwarning that _show_or_capture replaced


def _show_or_capture(message, category, filename, lineno, file=None, line=None):  # noqa: ANN001
    sink = getattr(_CAPTURE, "sink", None)
    if sink is not None and issubclass(category, HinercWarning):
        text = " ".join(str(message).split())
        if text not in sink:
            sink.append(text)
        return None
    if getattr(_CAPTURE, "passing", False):  # a hook installed over this one led back here
        return warnings._showwarning_orig(message, category, filename, lineno, file, line)
    _CAPTURE.passing = True
    try:
        return _PASS_ON[0](message, category, filename, lineno, file, line)
    finally:
        _CAPTURE.passing = False


class _capture_warnings:
    """Within the block, this thread's HinercWarnings go to ``sink`` (each message once); other
    warnings, and other threads' (a Dask worker runs tasks in several threads), pass on as
    before. Unlike ``warnings.catch_warnings`` this is safe with threads."""

    def __init__(self, sink: list[str]):
        self.sink = sink

    def __enter__(self) -> list[str]:
        with _CAPTURE_LOCK:
            if warnings.showwarning is not _show_or_capture:
                _PASS_ON[0] = warnings.showwarning
                warnings.showwarning = _show_or_capture  # type: ignore[assignment]
            # every occurrence, not once per code line: two files may warn the same words
            warnings.simplefilter("always", HinercWarning)
        self.outer = getattr(_CAPTURE, "sink", None)
        _CAPTURE.sink = self.sink
        return self.sink

    def __exit__(self, *exc: Any) -> None:
        _CAPTURE.sink = self.outer


def _run_task(task: Task) -> TaskResult:
    from hinerc import api

    t0 = time.perf_counter()
    try:
        if task.kind == "compress":
            r = api.compress(task.input, task.output, **task.options)
            rec = compress_record(task.input, task.output, r)
            return TaskResult(task.input, task.output, "done", "", rec["seconds"],
                              rec["bpppb"], rec["psnr_db"], result=rec)
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
    from hinerc.devices import check_device_name
    from hinerc.errors import UsageError

    devices = [d.strip() for d in device.split(",") if d.strip()]
    if not devices:
        raise UsageError("--device is empty")
    return [check_device_name(d) for d in devices]


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
        try:
            for t in tasks:
                results.append(run_task(t))
                notify(results[-1])
        except KeyboardInterrupt:  # the file in hand removed its temporary output
            raise Interrupted(_not_done(tasks, dict(enumerate(results)))) from None
        return results
    results_by: dict[int, TaskResult] = {}

    def on_result(i: int, r: Any) -> None:
        if isinstance(r, BaseException):  # the worker process died
            r = TaskResult(tasks[i].input, tasks[i].output, "failed",
                           f"worker failed: {type(r).__name__}: {r}")
        results_by[i] = r
        notify(r)

    try:
        parallel.run(run_task, tasks, jobs, on_result)
    except parallel.Interrupted:
        raise Interrupted(_not_done(tasks, results_by)) from None
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
        try:
            for f in as_completed(futures):
                i = index[f.key]
                try:
                    results[i] = f.result()
                except Exception as exc:
                    results[i] = TaskResult(tasks[i].input, tasks[i].output, "failed",
                                            f"worker failed: {type(exc).__name__}: {exc}")
                notify(results[i])
        except KeyboardInterrupt:
            with parallel.sigint_ignored():
                raise Interrupted(_stop_dask(client, futures, tasks, results, notify)) from None
        return [results[i] for i in range(len(tasks))]
    finally:
        client.close()


def _stop_dask(client: Any, futures: list, tasks: list[Task], results: dict[int, TaskResult],
               notify: Callable[[TaskResult], None]) -> list[TaskResult]:
    """After Ctrl-C: cancel what is left. Dask cannot stop a task already running on a worker:
    such a file is reported as possibly still being written."""
    try:
        running = {k for keys in client.processing().values() for k in keys}
    except Exception:
        running = {f.key for f in futures}
    for i, f in enumerate(futures):
        if i not in results and f.status == "finished":
            try:
                results[i] = f.result()
            except Exception:
                continue
            notify(results[i])
    client.cancel([f for i, f in enumerate(futures) if i not in results])
    out = _not_done(tasks, results)
    for i, f in enumerate(futures):
        if i not in results and f.key in running:
            out[i].message = STILL_RUNNING
    return out
