"""``hinerc classify``: SpectralFormer with Adaptive Spectral Weighting (ASW) and Implicit Spectral
Interpolation (ISI) on cubes as decoded from their ``.hnr`` (HINER paper §4.3, method reference §8).

Modules, one job each: :mod:`~hinerc.classify.labels` (label rasters, the stratified split),
:mod:`~hinerc.classify.model` (SpectralFormer, ASW, patches), :mod:`~hinerc.classify.isi` (cubes
at jittered wavelengths), :mod:`~hinerc.classify.metrics` (confusion matrix, OA, AA, κ),
:mod:`~hinerc.classify.train` (training, prediction, the saved classifier).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Optional, Union

PathLike = Union[str, Path]


def classify(source: PathLike, output: PathLike, *, train: Optional[PathLike] = None,
             test: Optional[PathLike] = None, split: Optional[str] = None,
             settings: Any = None, preview: Optional[PathLike] = None,
             report: Optional[PathLike] = None, save_model: Optional[PathLike] = None,
             model: Optional[PathLike] = None, var: Optional[str] = None, force: bool = False,
             progress: Optional[Callable[[Any], None]] = None) -> Any:
    """Train (or apply, with ``model``) the classifier on ``source`` and write the class map.

    ``output`` is the class map (GeoTIFF); ``preview`` (PNG or JPEG, as its extension names:
    ``.png``, ``.jpg``, ``.jpeg``; any other is refused), ``report`` (JSON) and
    ``save_model`` are optional. Nothing is written until everything is computed, then each
    file whole; existing files are kept unless ``force``, and no input is ever overwritten.
    ``settings`` is a :class:`hinerc.classify.train.TrainSettings`. Returns the
    :class:`hinerc.classify.train.ClassifyResult` (its ``report()`` is what ``report`` holds).
    """
    from hinerc.api import check_output
    from hinerc.classify import output as out
    from hinerc.classify.train import classify as run

    dests = {"map.tif": Path(output)}
    preview_fmt = out.preview_format(preview) if preview is not None else None
    if preview is not None and preview_fmt is None:
        from hinerc.errors import InputError

        raise InputError(f"--preview writes PNG (.png) or JPEG (.jpg, .jpeg), not "
                         f"{Path(preview).suffix or 'a file without an extension'}")
    for name, p in (("preview", preview), ("report.json", report), ("model.npz", save_model)):
        if p is not None:
            dests[name] = Path(p)
    inputs = [Path(x) for x in (source, train, test, model) if x is not None]
    for p in dests.values():
        check_output(p, inputs, force)
    from hinerc.outputs import atomic_outputs

    names = list(dests)
    with atomic_outputs([dests[n] for n in names]) as temps:
        stage = dict(zip(names, temps))
        result, cube = run(source, train, test, split_spec=split, settings=settings,
                           model_path=model, var=var, progress=progress,
                           save_to=stage.get("model.npz"))
        facts = result.report()
        facts.update({"input": str(source), "output": str(output)})
        out.write_class_map(result.classes, stage["map.tif"], cube)
        if preview is not None:
            out.write_preview(result.classes, stage["preview"], preview_fmt)
        if report is not None:
            out.write_report(facts, stage["report.json"])
    result.facts = facts
    return result
