"""Train, test and apply the classifier on a cube as decoded from its file.

Data flow: read the input (a ``.hnr`` is decoded with :func:`hinerc.decompress`: the quantized
model, exactly what the file holds) ─► keep the bands that vary, min–max normalised over their
real samples (:func:`hinerc.bands.prepare`) ─► patches of the labelled pixels ─► train (CE +
β·reconstruction loss of ASW; ISI jitters the patch spectra each epoch for the first 70% of the
epochs) ─► test ─► predict every pixel ─► class map, report, saved model.

Training length: ``--epochs`` passes over the training pixels, stretched to at least
``--min-steps`` optimizer steps. A few labels (77 pixels: two batches a pass) otherwise get a
handful of steps, and the network learns nothing but the largest class. Such a training set
(one that needs the stretch) is also trained the few-labels way: every patch flipped or turned
by a random symmetry of the square, and the patch embedding starting centre-weighted, so that
the 7×7 neighbourhood, which a few labels cannot teach, does not drown the pixel's own spectrum
(the SVM floor on the labelled test crop: ``benchmarks/results/classify_floor.md``).
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Union

import numpy as np

from hinerc.classify.labels import Labels, read_labels, split
from hinerc.classify.metrics import Accuracy, accuracy, confusion
from hinerc.errors import HinercWarning, InputError
from hinerc.io import Cube

PathLike = Union[str, Path]
#: ISI runs for this share of the epochs (the published code: 210 of 300), then clean cubes.
ISI_SHARE = 0.7
#: Fewest optimizer steps of a training: fewer training pixels get more passes. The EnMAP
#: Potsdam benchmark (3,806 pixels: 60 steps a pass, 600 in 10 epochs) is above it, unchanged.
MIN_STEPS = 300
#: Few labels: the patch embedding's weights start scaled by a Gaussian of this many pixels
#: around the patch centre.
CENTRE_SIGMA = 1.0
#: A trained classifier whose κ on its own training pixels stays below this is at chance (κ 0:
#: no better than a constant map); the user is warned.
CHANCE_KAPPA = 0.1


@dataclass
class TrainSettings:
    """Hyper-parameters; the defaults are the paper's (η 0.1, p 0.5, β 2.5, lr 5e-4, wd 5e-3),
    but for the epochs: an epoch here is a full pass over the training pixels (the published
    code's "epoch" is 11 batches), and 10 of them keep the EnMAP Potsdam tiles (3,806 training
    pixels, 218 bands) within about 10 minutes on 2 CPU cores. ``min_steps`` stretches the
    epochs of a small training set to that many optimizer steps (:func:`plan_epochs`), and
    such a set is trained the few-labels way (``few_labels`` None: when stretched)."""

    epochs: int = 10
    min_steps: int = MIN_STEPS
    batch: int = 64
    lr: float = 5e-4
    weight_decay: float = 5e-3
    beta: float = 2.5
    asw: bool = True
    isi: bool = True
    isi_eta: float = 0.1
    isi_p: float = 0.5
    seed: int = 0
    device: str = "cpu"
    few_labels: Optional[bool] = None


@dataclass
class EpochInfo:
    """What the progress callback receives after every epoch."""

    epoch: int
    epochs: int
    loss: float
    test_oa: Optional[float]


@dataclass
class ClassifyResult:
    classes: np.ndarray  # H×W predicted classes (0 where no band has a real sample)
    accuracy: Optional[Accuracy]
    train_pixels: int
    test_pixels: int
    epochs: int
    seconds: float
    isi: bool
    asw: bool
    notes: list[str] = field(default_factory=list)
    steps: int = 0  # optimizer steps (0 with a saved classifier)
    few_labels: bool = False  # trained on flipped/turned patches, centre-weighted start
    train_accuracy: Optional[Accuracy] = None  # on the training pixels, after training
    facts: Optional[dict[str, Any]] = None  # the written report, once written

    def report(self) -> dict[str, Any]:
        if self.facts is not None:
            return self.facts
        d: dict[str, Any] = {"train_pixels": self.train_pixels, "test_pixels": self.test_pixels,
                             "epochs": self.epochs, "steps": self.steps,
                             "few_labels": self.few_labels,
                             "seconds": round(self.seconds, 2),
                             "asw": self.asw, "isi": self.isi, "notes": self.notes}
        if self.train_accuracy is not None:
            d.update(train_oa=self.train_accuracy.oa, train_kappa=self.train_accuracy.kappa)
        if self.accuracy is not None:
            d.update(self.accuracy.to_dict())
        return d


# ----------------------------------------------------------------------------- data
@dataclass
class Prepared:
    """The cube as the classifier sees it: C×H×W float32 in [0, 1], no-data as 0."""

    data: np.ndarray
    wavelengths: Optional[np.ndarray]
    valid: Optional[np.ndarray]  # C×H×W, None when every sample is real
    kept: np.ndarray  # indices of the input bands used


def prepare_cube(cube: Cube) -> Prepared:
    """The codec's own band preparation (:func:`hinerc.bands.prepare`): its coded bands,
    min–max normalised over their real samples; constant and no-data bands carry no class
    information and are left out."""
    from hinerc.bands import prepare

    prep = prepare(cube)
    kept = prep.table.coded
    if kept.size == 0:
        raise InputError("no band of the cube varies over its real samples")
    wl = cube.wavelengths_nm[kept] if cube.wavelengths_nm is not None else None
    return Prepared(prep.target, wl, prep.valid, kept)


def load_input(path: PathLike, device: str = "cpu") -> tuple[Cube, bool]:
    """The cube (decoded when ``path`` is a ``.hnr``) and whether it came from a ``.hnr``."""
    from hinerc import api
    from hinerc.format import container
    from hinerc.io import read_cube

    p = Path(path)
    try:
        with open(p, "rb") as fh:
            is_hnr = fh.read(len(container.SIGNATURE)) == container.SIGNATURE
    except OSError as exc:
        raise InputError(f"{p}: cannot read ({exc.strerror})") from None
    if is_hnr or p.suffix.lower() == ".hnr":
        return api.decompress(p, device=device), True
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_cube(p), False


def label_maps(shape: tuple[int, int], train: PathLike, test: Optional[PathLike],
               split_spec: Optional[str], seed: int, var: Optional[str] = None) -> Labels:
    """Train and test maps aligned with a cube of ``shape`` (rows, columns)."""
    labels = read_labels(train, var)
    if test is not None:
        if labels.test is not None:
            raise InputError(f"{train} already holds TR and TE: leave out --test")
        labels = Labels(labels.train, read_labels(test).train)
    if split_spec is not None:
        if labels.test is not None:
            raise InputError("--split takes a single labels map (no --test, no TE)")
        labels = Labels(*split(labels.train, split_spec, seed))
    for name, m in (("train", labels.train), ("test", labels.test)):
        if m is not None and m.shape != shape:
            raise InputError(f"the {name} labels are {m.shape[0]}×{m.shape[1]}, the cube "
                             f"{shape[0]}×{shape[1]}")
    if not (labels.train > 0).any():
        raise InputError("the train labels hold no labelled pixel")
    if labels.test is not None and ((labels.train > 0) & (labels.test > 0)).any():
        raise InputError("train and test labels overlap")
    return labels


# ----------------------------------------------------------------------------- torch side
def _pixels(m: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows, columns and classes of the labelled pixels, class by class in row-major order."""
    rows, cols, ys = [], [], []
    for k in range(1, int(m.max(initial=0)) + 1):
        r, c = np.nonzero(m == k)
        rows.append(r), cols.append(c), ys.append(np.full(r.size, k))
    return (np.concatenate(rows), np.concatenate(cols), np.concatenate(ys)) if rows else \
        (np.zeros(0, int), np.zeros(0, int), np.zeros(0, int))


def _rec_loss(out, target):
    """0.5·L1 + 0.005·mean spectral angle in degrees (the published ASW reconstruction term)."""
    import torch

    l1 = (out - target).abs().mean()
    cos = torch.nn.functional.cosine_similarity(out, target, dim=-1, eps=1e-8)
    angle = torch.rad2deg(torch.arccos(cos.clamp(-1 + 1e-6, 1 - 1e-6))).mean()
    return 0.5 * l1 + 0.005 * angle


def predict(model, cube_t, rows: np.ndarray, cols: np.ndarray, batch: int = 256) -> np.ndarray:
    """Predicted classes (1..K) of the pixels (rows, cols)."""
    import torch

    from hinerc.classify.model import patches

    out = np.empty(rows.size, np.int64)
    model.eval()
    with torch.no_grad():
        for i in range(0, rows.size, batch):
            r = torch.as_tensor(rows[i:i + batch])
            c = torch.as_tensor(cols[i:i + batch])
            logits, _ = model(patches(cube_t, r, c, model.cfg.patch))
            out[i:i + batch] = logits.argmax(1).cpu().numpy() + 1
    return out


def steps_per_epoch(n_train: int, s: TrainSettings) -> int:
    return max(1, math.ceil(n_train / s.batch))


def plan_epochs(n_train: int, s: TrainSettings) -> int:
    """Passes over ``n_train`` training pixels: ``s.epochs``, or more when that many make fewer
    than ``s.min_steps`` optimizer steps (the learning-rate schedule and ISI's share of the
    epochs follow the stretched count; a training that already has the steps is unchanged)."""
    return max(s.epochs, math.ceil(s.min_steps / steps_per_epoch(n_train, s)))


def few_labels(n_train: int, s: TrainSettings) -> bool:
    """Whether ``n_train`` training pixels are trained the few-labels way: as ``s.few_labels``
    says, or (None) when the epochs had to be stretched to reach ``s.min_steps``."""
    return s.few_labels if s.few_labels is not None else plan_epochs(n_train, s) > s.epochs


def symmetries(patch: int, device: str = "cpu"):
    """8×P² index maps of the P×P patch positions (row-major) under the 8 symmetries of the
    square (turns by 0–3 quarters, each also mirrored); the centre stays in place."""
    import torch

    grid = torch.arange(patch * patch, device=device).reshape(patch, patch)
    maps = []
    for k in range(4):
        g = torch.rot90(grid, k)
        maps += [g.reshape(-1), g.flip(1).reshape(-1)]
    return torch.stack(maps)


def centre_weight(model, sigma: float = CENTRE_SIGMA) -> None:
    """Scale the patch embedding's initial weights by a Gaussian (``sigma`` pixels) of each
    patch position's distance to the centre, keeping their mean square."""
    import torch

    cfg = model.cfg
    r = cfg.patch // 2
    yy, xx = torch.meshgrid(torch.arange(-r, r + 1.0), torch.arange(-r, r + 1.0), indexing="ij")
    g = torch.exp(-(yy ** 2 + xx ** 2) / (2 * sigma ** 2)).reshape(-1)
    g = g / g.pow(2).mean().sqrt()
    w = model.former.embed.weight  # dim × (band_patches·P²): band offset major, then position
    with torch.no_grad():
        w.mul_(g.repeat(cfg.band_patches)[None, :].to(w))


def train_classifier(prep: Prepared, labels: Labels, s: TrainSettings, isi: bool,
                     progress: Optional[Callable[[EpochInfo], None]] = None):
    """A trained :class:`~hinerc.classify.model.Classifier`."""
    import torch

    from hinerc.classify.isi import Jitter
    from hinerc.classify.model import Classifier, ClassifierConfig, patches

    torch.manual_seed(s.seed)
    rng = np.random.default_rng(s.seed)
    c, h, w = prep.data.shape
    cfg = ClassifierConfig(bands=c, classes=labels.n_classes, asw=s.asw)
    model = Classifier(cfg).to(s.device)
    cube_t = torch.as_tensor(prep.data, device=s.device)
    tr, tc, ty = _pixels(labels.train)
    few = few_labels(tr.size, s)
    if few:
        centre_weight(model)
    spectra = patches(cube_t, torch.as_tensor(tr, device=s.device),
                      torch.as_tensor(tc, device=s.device), cfg.patch)  # N×P²×C
    y = torch.as_tensor(ty - 1, device=s.device)
    te = _pixels(labels.test) if labels.test is not None else None
    jitter = Jitter(prep.wavelengths, prep.data, s.isi_eta, s.isi_p, prep.valid) if isi else None
    opt = torch.optim.Adam(model.parameters(), lr=s.lr, weight_decay=s.weight_decay)
    ce = torch.nn.CrossEntropyLoss()
    turns = symmetries(cfg.patch, s.device) if few else None
    n = spectra.shape[0]
    epochs = plan_epochs(n, s)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, epochs))
    every = max(5, epochs // 10)  # epochs between test scores shown in the progress
    for epoch in range(epochs):
        model.train()
        source = spectra
        if jitter is not None and epoch < ISI_SHARE * epochs:
            wmat = torch.as_tensor(jitter.weights(rng).T, dtype=spectra.dtype, device=s.device)
            source = spectra @ wmat  # every patch spectrum at jittered wavelengths
        order = torch.as_tensor(rng.permutation(n), device=s.device)
        total, steps = 0.0, 0
        for i in range(0, n, s.batch):
            idx = order[i:i + s.batch]
            batch = source[idx]
            if turns is not None:  # each patch flipped / turned by one of the 8 symmetries
                pick = turns[torch.as_tensor(rng.integers(0, 8, idx.numel()), device=s.device)]
                batch = torch.gather(batch, 1, pick[:, :, None].expand(-1, -1, batch.shape[2]))
            logits, weighed = model(batch)
            loss = ce(logits, y[idx])
            if model.asw is not None:
                loss = loss + s.beta * _rec_loss(weighed, batch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total, steps = total + loss.item(), steps + 1
        sched.step()
        test_oa = None
        if te is not None and progress is not None and (epoch % every == every - 1
                                                    or epoch == epochs - 1):
            pred = predict(model, cube_t, te[0], te[1])
            test_oa = float((pred == te[2]).mean())
        if progress is not None:
            progress(EpochInfo(epoch + 1, epochs, total / max(steps, 1), test_oa))
    return model


# ----------------------------------------------------------------------------- saved models
def save_model(model, path: Path, kept_bands: int) -> None:
    """The classifier as plain arrays: a ``.npz`` of its state dict plus its config as JSON
    (read back with ``allow_pickle=False``: no pickle, no ``torch.load``)."""
    import json

    from hinerc import __version__

    meta = {"format": "hinerc-classifier-1", "hinerc_version": __version__,
            "config": model.cfg.to_dict(), "input_bands": kept_bands}
    arrays = {f"state/{k}": v.detach().cpu().numpy() for k, v in model.state_dict().items()}
    with open(path, "wb") as fh:
        np.savez(fh, __meta__=np.array(json.dumps(meta)), **arrays)


def load_model(path: Path, device: str = "cpu"):
    import json

    import torch

    from hinerc.classify.model import Classifier, ClassifierConfig

    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["__meta__"]))
            state = {k[len("state/"):]: torch.as_tensor(z[k]) for k in z.files
                     if k.startswith("state/")}
        if not isinstance(meta, dict) or meta.get("format") != "hinerc-classifier-1":
            raise ValueError("not a hinerc classifier")
        model = Classifier(ClassifierConfig(**meta["config"])).to(device)
        model.load_state_dict(state, strict=True)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except Exception as exc:  # noqa: BLE001 - any unreadable model is a bad input
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{path}: not a saved hinerc classifier ({first[:120]})") from None
    return model


# ----------------------------------------------------------------------------- the whole job
def classify(source: PathLike, train: Optional[PathLike] = None, test: Optional[PathLike] = None,
             *, split_spec: Optional[str] = None, settings: Optional[TrainSettings] = None,
             model_path: Optional[PathLike] = None, save_to: Optional[PathLike] = None,
             var: Optional[str] = None,
             progress: Optional[Callable[[EpochInfo], None]] = None) -> tuple[ClassifyResult, Cube]:
    """Train (or load) a classifier on ``source`` and predict every pixel.

    Returns the result and the cube it ran on (for georeference). ISI needs a ``.hnr`` whose
    cube declares wavelengths; it is switched off, with a note, otherwise.
    """
    t0 = time.perf_counter()
    s = settings or TrainSettings()
    if s.epochs < 1:
        raise InputError("--epochs must be at least 1")
    if s.min_steps < 0:
        raise InputError("--min-steps must be at least 0")
    if not (0 <= s.isi_p <= 1 and s.isi_eta >= 0):
        raise InputError("--isi-p must be in [0, 1] and --isi-eta ≥ 0")
    cube, from_hnr = load_input(source, s.device)
    prep = prepare_cube(cube)
    h, w = cube.data.shape[:2]
    notes: list[str] = []
    if model_path is None and train is None:
        raise InputError("give --train labels, or --model to apply a saved classifier")
    labels = None
    if train is not None:
        labels = label_maps((h, w), train, test, split_spec, s.seed, var)
    elif test is not None:
        labels = Labels(np.zeros((h, w), np.int32), read_labels(test).train)
        if labels.test.shape != (h, w):
            raise InputError(f"the test labels are {labels.test.shape[0]}×{labels.test.shape[1]},"
                             f" the cube {h}×{w}")
    isi = s.isi and model_path is None
    if isi and not from_hnr:
        isi, _ = False, notes.append("ISI off: the input is not a .hnr")
    if isi and prep.wavelengths is None:
        isi, _ = False, notes.append("ISI off: the cube declares no wavelengths")
    for note in notes:
        warnings.warn(note, HinercWarning, stacklevel=2)
    if model_path is not None:
        model = load_model(Path(model_path), s.device)
        if model.cfg.bands != prep.data.shape[0]:
            raise InputError(f"the classifier takes {model.cfg.bands} bands, the cube has "
                             f"{prep.data.shape[0]} with real data")
        epochs = steps = 0
        few = False
    else:
        model = train_classifier(prep, labels, s, isi, progress)
        n_train = int((labels.train > 0).sum())
        epochs = plan_epochs(n_train, s)
        steps = epochs * steps_per_epoch(n_train, s)
        few = few_labels(n_train, s)
    if save_to is not None:
        save_model(model, Path(save_to), prep.data.shape[0])
    import torch

    cube_t = torch.as_tensor(prep.data, device=s.device)
    rows, cols = np.divmod(np.arange(h * w), w)
    classes = predict(model, cube_t, rows, cols).reshape(h, w)
    if prep.valid is not None:
        classes[~prep.valid.any(axis=0)] = 0  # no band has a real sample there
    acc = None
    n_test = 0
    if labels is not None and labels.test is not None and (labels.test > 0).any():
        m = labels.test
        keep = (m > 0) & (classes > 0)
        if ((m > 0) & (classes == 0)).any():
            notes.append(f"{int(((m > 0) & (classes == 0)).sum())} test pixels have no real "
                         "sample in any band and are not scored")
        n_test = int(keep.sum())
        k = max(model.cfg.classes, int(m.max()))
        acc = accuracy(confusion(m[keep], classes[keep], k))
    train_acc = None
    if steps:
        m = labels.train
        keep = (m > 0) & (classes > 0)
        train_acc = accuracy(confusion(m[keep], classes[keep], max(model.cfg.classes,
                                                                   int(m.max()))))
        if len(np.unique(m[keep])) > 1 and not train_acc.kappa >= CHANCE_KAPPA:
            note = (f"the classifier is at chance on its own training pixels after {steps} "
                    f"optimizer step{'' if steps == 1 else 's'} (training OA {100 * train_acc.oa:.1f}%, kappa "
                    f"{train_acc.kappa:.2f}): train longer (--min-steps, --epochs) or give "
                    "more labels")
            notes.append(note)
            warnings.warn(note, HinercWarning, stacklevel=2)
    n_train = int((labels.train > 0).sum()) if labels is not None else 0
    return (ClassifyResult(classes, acc, n_train, n_test, epochs, time.perf_counter() - t0, isi,
                           model.cfg.asw, notes, steps=steps, few_labels=few,
                           train_accuracy=train_acc), cube)
