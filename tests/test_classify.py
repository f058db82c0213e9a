"""hinerc classify: labels and split, patches at the borders, ASW, ISI, metrics, CLI end to end."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import rasterio
import scipy.io
import torch

import hinerc
from hinerc.classify.isi import Jitter
from hinerc.classify.labels import read_labels, split
from hinerc.classify.metrics import accuracy, confusion
from hinerc.classify.model import ASW, Classifier, ClassifierConfig, mirror_pad, patches, tokens
from hinerc.cli import cli
from hinerc.errors import InputError

DATA = Path(__file__).resolve().parent / "data"
CROP = DATA / "enmap_labelled_crop.tif"
CROP_LABELS = DATA / "enmap_labelled_crop_labels.tif"


# ------------------------------------------------------------------------------ labels and split
def test_read_labels_every_format(tmp_path):
    m = np.array([[0, 1, 2], [3, 0, 1]], np.int32)
    np.save(tmp_path / "l.npy", m)
    scipy.io.savemat(tmp_path / "trte.mat", {"TR": m, "TE": (m == 0).astype(np.uint8)})
    scipy.io.savemat(tmp_path / "one.mat", {"gt": m.astype(np.float64)})
    with rasterio.open(tmp_path / "l.tif", "w", driver="GTiff", height=2, width=3, count=1,
                       dtype="uint8") as ds:
        ds.write(m.astype(np.uint8), 1)
    with rasterio.open(tmp_path / "l.png", "w", driver="PNG", height=2, width=3, count=1,
                       dtype="uint8") as ds:
        ds.write(m.astype(np.uint8), 1)
    for name in ("l.npy", "one.mat", "l.tif", "l.png"):
        lab = read_labels(tmp_path / name)
        assert np.array_equal(lab.train, m) and lab.test is None, name
    both = read_labels(tmp_path / "trte.mat")
    assert np.array_equal(both.train, m) and np.array_equal(both.test, (m == 0))
    assert both.n_classes == 3


@pytest.mark.parametrize("bad", [np.array([[0.5, 1]]), np.array([[-1, 1]]),
                                 np.array([[np.nan, 1]]), np.zeros((2, 2, 2))])
def test_read_labels_refuses_non_classes(tmp_path, bad):
    np.save(tmp_path / "b.npy", bad)
    with pytest.raises(InputError):
        read_labels(tmp_path / "b.npy")


def test_split_is_stratified_and_seeded():
    rng = np.random.default_rng(3)
    m = rng.integers(0, 4, (30, 40)).astype(np.int32)
    m[0, 0], m[0, 1] = 9, 9  # a class of two pixels keeps one for testing
    tr, te = split(m, "0.25", seed=5)
    tr2, te2 = split(m, "0.25", seed=5)
    assert np.array_equal(tr, tr2) and np.array_equal(te, te2)
    assert not ((tr > 0) & (te > 0)).any()
    assert np.array_equal(np.where(tr > 0, tr, te), m)
    for k in (1, 2, 3):
        n = (m == k).sum()
        assert (tr == k).sum() == round(0.25 * n)
    assert (tr == 9).sum() == 1 and (te == 9).sum() == 1
    tr, te = split(m, "20", seed=0)
    assert all((tr == k).sum() == 20 for k in (1, 2, 3))
    assert not np.array_equal(split(m, "0.25", seed=6)[0], split(m, "0.25", seed=5)[0])
    for spec in ("0", "1.5", "x", "-3", "2.5"):
        with pytest.raises(InputError):
            split(m, spec)


# ------------------------------------------------------------------------------ patches and model
def test_patches_at_the_borders_mirror_the_image():
    cube = torch.arange(2 * 5 * 6, dtype=torch.float32).reshape(2, 5, 6)
    ref = np.pad(cube.numpy(), ((0, 0), (3, 3), (3, 3)), mode="symmetric")
    assert np.array_equal(mirror_pad(cube, 3).numpy(), ref)
    rows, cols = torch.tensor([0, 4, 2]), torch.tensor([0, 5, 3])
    p = patches(cube, rows, cols, 7)  # N×49×C
    assert p.shape == (3, 49, 2)
    for i, (r, c) in enumerate(zip(rows.tolist(), cols.tolist())):
        want = ref[:, r:r + 7, c:c + 7].reshape(2, 49).T
        assert np.array_equal(p[i].numpy(), want)
        assert np.array_equal(p[i, 24].numpy(), cube[:, r, c].numpy())  # the centre pixel


def test_tokens_group_neighbouring_bands_with_wraparound():
    spectra = torch.arange(4, dtype=torch.float32).reshape(1, 1, 4).repeat(1, 2, 1)  # N×P²×C
    t = tokens(spectra, 3)  # 1×4×6: bands b−1, b, b+1 of both patch pixels
    assert t.shape == (1, 4, 6)
    assert t[0, 0].tolist() == [3, 3, 0, 0, 1, 1]
    assert t[0, 3].tolist() == [2, 2, 3, 3, 0, 0]


def test_asw_starts_as_one_residual():
    torch.manual_seed(0)
    asw = ASW(6)
    x = torch.rand(5, 6)
    assert torch.equal(asw.band_weights(), torch.zeros(6))
    assert torch.allclose(asw(x), x + asw.mlp(x))  # not 2x + MLP(x), as the published code
    (asw(x).sum()).backward()
    assert asw.fc2.weight.grad is not None and asw.fc2.weight.grad.abs().sum() > 0


def test_classifier_shapes():
    cfg = ClassifierConfig(bands=9, classes=4)
    model = Classifier(cfg)
    logits, weighed = model(torch.rand(3, 49, 9))
    assert logits.shape == (3, 4) and weighed.shape == (3, 49, 9)
    assert len(model.former.fuse) == cfg.depth - 2
    no_asw = Classifier(ClassifierConfig(bands=9, classes=4, asw=False))
    x = torch.rand(2, 49, 9)
    assert torch.equal(no_asw(x)[1], x)


def test_caf_fusion_is_the_published_convolution():
    """CAF runs as one matrix product; it must equal Conv2d(T, T, (1, 2)) over [x, earlier]."""
    from hinerc.classify.model import _fuse

    torch.manual_seed(0)
    conv = torch.nn.Conv2d(11, 11, (1, 2))
    x, earlier = torch.rand(3, 11, 8), torch.rand(3, 11, 8)
    want = conv(torch.stack([x, earlier], dim=-1)).squeeze(-1)
    assert torch.allclose(_fuse(conv, x, earlier), want, atol=1e-6)


# ------------------------------------------------------------------------------ ISI
def test_isi_jitter_is_symmetric_and_bounded():
    wl = np.linspace(400, 1000, 31)  # spacing 20 nm
    cube = np.broadcast_to(wl[:, None, None], (31, 4, 4)).copy()  # each band = its wavelength
    rng = np.random.default_rng(0)
    shifts = []
    for _ in range(40):
        w = Jitter(wl, cube, eta=0.1, p=1.0).weights(rng)
        moved = w @ wl - wl
        assert np.allclose(w.sum(1), 1)
        assert (np.abs(moved) <= 0.1 * 20 + 1e-9).all()
        shifts.append(moved[1:-1])
    shifts = np.concatenate(shifts)
    assert (shifts < -0.5).any() and (shifts > 0.5).any()  # both directions
    assert abs(shifts.mean()) < 0.2
    assert np.array_equal(Jitter(wl, cube, eta=0.1, p=0.0).weights(rng), np.eye(31))
    assert np.allclose(Jitter(wl, cube, eta=0.0, p=1.0).weights(rng), np.eye(31))


def test_isi_moves_about_p_of_the_bands():
    wl = np.linspace(400, 1000, 101)
    cube = np.random.default_rng(0).random((101, 3, 3))
    w = Jitter(wl, cube, eta=0.1, p=0.5).weights(np.random.default_rng(1))
    moved = ~np.isclose(np.diag(w), 1.0)
    assert 30 < moved.sum() < 70


# ------------------------------------------------------------------------------ metrics
def test_metrics_against_a_hand_computed_matrix():
    true = np.array([1, 1, 2, 2, 3])
    pred = np.array([1, 2, 2, 2, 1])
    m = confusion(true, pred, 3)
    assert m.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    acc = accuracy(m)
    assert acc.oa == pytest.approx(3 / 5)
    assert acc.aa == pytest.approx((0.5 + 1 + 0) / 3)
    pe = (2 * 2 + 2 * 3 + 1 * 0) / 25
    assert acc.kappa == pytest.approx((0.6 - pe) / (1 - pe))
    assert acc.per_class == [0.5, 1.0, 0.0]


# ------------------------------------------------------------------------------ end to end
@pytest.fixture(scope="module")
def crop_hnr(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cls") / "crop.hnr"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hinerc.compress(CROP, path, bpppb=1.0, effort=1)
    return path


def test_cli_classify_end_to_end(runner, tmp_path, crop_hnr):
    out, png, rep, mdl = (tmp_path / n for n in ("c.tif", "c.png", "r.json", "m.npz"))
    r = runner.invoke(cli, ["classify", str(crop_hnr), "--train", str(CROP_LABELS),
                            "--split", "0.5", "--epochs", "3", "--min-steps", "0", "-o",
                            str(out), "--preview",
                            str(png), "--report", str(rep), "--save-model", str(mdl), "--quiet"])
    assert r.exit_code == 0, r.stderr
    report = json.loads(rep.read_text())
    assert report["isi"] and report["asw"] and report["epochs"] == 3
    assert report["train_pixels"] + report["test_pixels"] == 256
    assert 0 <= report["oa"] <= 1 and len(report["confusion"]) == 6
    assert sum(map(sum, report["confusion"])) == report["test_pixels"]
    with rasterio.open(out) as ds, rasterio.open(CROP) as src:
        classes = ds.read(1)
        assert ds.crs == src.crs and ds.transform == src.transform
        assert classes.shape == (16, 16) and 1 <= classes.min() and classes.max() <= 6
        assert ds.colormap(1)[1][:3] != (0, 0, 0)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the saved classifier, applied without training, gives the same map
    out2 = tmp_path / "c2.tif"
    r = runner.invoke(cli, ["classify", str(crop_hnr), "--model", str(mdl), "--test",
                            str(CROP_LABELS), "-o", str(out2), "--json", "--quiet"])
    assert r.exit_code == 0, r.stderr
    with rasterio.open(out2) as ds:
        assert np.array_equal(ds.read(1), classes)
    assert json.loads(r.stdout)["epochs"] == 0


def test_cli_classify_plain_cube_has_no_isi(runner, tmp_path):
    rep = tmp_path / "r.json"
    r = runner.invoke(cli, ["classify", str(CROP), "--train", str(CROP_LABELS), "--split", "8",
                            "--epochs", "1", "--min-steps", "0", "--no-asw", "-o",
                            str(tmp_path / "c.tif"),
                            "--report", str(rep)])
    assert r.exit_code == 0, r.stderr
    d = json.loads(rep.read_text())
    assert not d["isi"] and not d["asw"] and d["train_pixels"] == 6 * 8
    assert "OA" in r.stdout and "ISI off" in r.stderr


def test_cli_classify_errors(runner, tmp_path, crop_hnr):
    out = tmp_path / "c.tif"
    np.save(tmp_path / "small.npy", np.ones((4, 4), np.int32))
    cases = [
        (["--train", str(tmp_path / "small.npy")], 1, "labels are 4×4"),
        (["--train", str(CROP_LABELS), "--split", "abc"], 1, "--split"),
        (["--train", str(CROP_LABELS), "--test", str(CROP_LABELS)], 1, "overlap"),
        ([], 2, "--train"),
        (["--model", str(tmp_path / "none.npz"), "--train", str(CROP_LABELS)], 2, "--model"),
        (["--model", str(tmp_path / "small.npy")], 1, "not a saved hinerc classifier"),
    ]
    for args, code, needle in cases:
        r = runner.invoke(cli, ["classify", str(crop_hnr), "-o", str(out), "--epochs", "1",
                                "--quiet", *args])
        assert r.exit_code == code, (args, r.stderr)
        assert needle in r.stderr, r.stderr
        assert not out.exists()
    out.write_bytes(b"keep")
    r = runner.invoke(cli, ["classify", str(crop_hnr), "--train", str(CROP_LABELS), "-o",
                            str(out), "--split", "0.5", "--epochs", "1", "--quiet"])
    assert r.exit_code == 1 and "exists" in r.stderr and out.read_bytes() == b"keep"


# ------------------------------------------------------------------------------ a few labels
def _stripes(tmp_path: Path, per_class: int = 4) -> tuple[Path, Path, Path]:
    """A 12×12×8 cube of three vertical stripes, each its own spectrum plus noise (seeded),
    ``per_class`` training pixels a class and the other pixels as test labels (.npy files)."""
    rng = np.random.default_rng(0)
    cls = np.repeat(np.arange(1, 4), 4)[None, :].repeat(12, 0)
    cube = rng.uniform(0.2, 1.0, (4, 8))[cls] + rng.normal(0, 0.05, (12, 12, 8))
    train = np.zeros_like(cls)
    for k in (1, 2, 3):
        r, c = np.nonzero(cls == k)
        i = rng.choice(r.size, per_class, replace=False)
        train[r[i], c[i]] = k
    paths = tmp_path / "cube.npy", tmp_path / "train.npy", tmp_path / "test.npy"
    for p, a in zip(paths, (cube.astype(np.float32), train, np.where(train > 0, 0, cls))):
        np.save(p, a)
    return paths


def test_epochs_stretch_to_the_minimum_steps():
    from hinerc.classify.train import MIN_STEPS, TrainSettings, plan_epochs

    s = TrainSettings()  # batch 64, 10 epochs
    assert plan_epochs(77, s) == 150  # 2 steps a pass: 20 steps would be 10 epochs
    assert plan_epochs(12, s) == MIN_STEPS == 300
    assert plan_epochs(3806, s) == 10  # the Potsdam benchmark: 600 steps, unchanged
    assert plan_epochs(77, TrainSettings(min_steps=0)) == 10
    assert plan_epochs(77, TrainSettings(epochs=400)) == 400


@pytest.mark.slow
def test_a_few_labels_train_long_enough(tmp_path):
    """12 training pixels, 10 epochs: 10 optimizer steps left the network at chance (a constant
    map, OA 1/3); the epochs stretched to 300 steps (the few-labels way) separate the three
    spectra."""
    from hinerc.classify.train import TrainSettings, classify

    cube, train, test = _stripes(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res, _ = classify(cube, train, test, settings=TrainSettings(seed=0))
    assert res.steps == 300 and res.epochs == 300 and res.few_labels
    assert res.accuracy.oa >= 0.9 and res.train_accuracy.kappa >= 0.9
    assert not [w for w in caught if "chance" in str(w.message)]


def test_chance_on_the_training_pixels_is_one_warning(runner, tmp_path):
    """The labelled pixels all see the same 7×7 patch (the cube varies only in its first rows):
    whatever the training, the map is constant, and the user is told so in one line."""
    cube = np.ones((12, 12, 8), np.float32)
    cube[:3] = np.random.default_rng(0).random((3, 12, 8))
    train = np.zeros((12, 12), np.int32)
    train[8, 2:6], train[10, 6:10] = 1, 2
    np.save(tmp_path / "cube.npy", cube)
    np.save(tmp_path / "train.npy", train)
    args = ["classify", str(tmp_path / "cube.npy"), "--train", str(tmp_path / "train.npy"),
            "--epochs", "1", "--min-steps", "0", "--no-asw", "-o", str(tmp_path / "c.tif"),
            "--report", str(tmp_path / "r.json")]
    r = runner.invoke(cli, args)
    assert r.exit_code == 0, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if "chance" in ln]
    assert len(lines) == 1 and lines[0].startswith("hinerc: warning: the classifier is at chance")
    assert "after 1 optimizer step (" in lines[0] and "--min-steps" in lines[0]
    d = json.loads((tmp_path / "r.json").read_text())
    assert d["train_kappa"] == pytest.approx(0.0, abs=1e-9) and d["steps"] == 1
    assert "1 epoch (1 step) in" in r.stdout and "1 epochs" not in r.stdout
    r = runner.invoke(cli, [*args, "--force", "--quiet"])
    assert r.exit_code == 0 and r.stderr == ""


def test_cli_min_steps_default_is_the_library_default(runner):
    from hinerc.classify.train import MIN_STEPS

    r = runner.invoke(cli, ["classify", "--help"])
    assert r.exit_code == 0
    text = " ".join(r.stdout.split())
    assert "--min-steps INTEGER RANGE Fewest optimizer steps" in text
    assert f"[default: {MIN_STEPS}; x>=0]" in text


def test_cli_classify_help_speaks_of_classify(runner):
    r = runner.invoke(cli, ["classify", "--help"])
    text = " ".join(r.stdout.split())
    device = text[text.index("--device"):text.index("--force")]
    assert "batch" not in device and "GPUs" not in device and "trains and predicts" in device
    seed = text[text.index("--seed"):text.index("--var")]
    assert "--split" in seed and "initial weights" in seed


def test_cli_classify_preview_format_follows_the_extension(runner, tmp_path):
    cube, train, _ = _stripes(tmp_path)
    base = ["classify", str(cube), "--train", str(train), "--epochs", "1", "--min-steps", "0",
            "--quiet"]
    for name, magic in (("c.jpg", b"\xff\xd8\xff"), ("c.JPEG", b"\xff\xd8\xff"),
                        ("c.PNG", b"\x89PNG\r\n\x1a\n")):
        out = tmp_path / (name + ".tif")
        r = runner.invoke(cli, [*base, "-o", str(out), "--preview", str(tmp_path / name)])
        assert r.exit_code == 0, r.stderr
        assert (tmp_path / name).read_bytes()[:len(magic)] == magic, name
        assert not list(tmp_path.glob(name + ".aux.xml"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a picture has no georeference
        with rasterio.open(tmp_path / "c.jpg") as ds:
            assert ds.driver == "JPEG" and ds.count == 3 and ds.shape == (12, 12)
    for name in ("c.gif", "c.tif", "preview"):
        out = tmp_path / "refused.tif"
        r = runner.invoke(cli, [*base, "-o", str(out), "--preview", str(tmp_path / name)])
        assert r.exit_code == 2, (name, r.stderr)
        assert "--preview writes PNG (.png) or JPEG (.jpg, .jpeg)" in r.stderr
        assert not out.exists() and not (tmp_path / name).exists()


def test_cli_classify_takes_one_device(runner, tmp_path):
    cube, train, _ = _stripes(tmp_path)
    r = runner.invoke(cli, ["classify", str(cube), "--train", str(train), "-o",
                            str(tmp_path / "c.tif"), "--device", "cpu,cpu"])
    assert r.exit_code == 2 and "one --device" in r.stderr
    assert not (tmp_path / "c.tif").exists()


def test_a_map_without_georeference_is_written_quietly(tmp_path):
    """A .npy input has no georeference: its class map has none either, and rasterio's
    NotGeoreferencedWarning (a multi-line warning, not hinerc's) is not shown."""
    from hinerc.classify.output import write_class_map, write_preview
    from hinerc.io import Cube

    classes = np.arange(12, dtype=np.int64).reshape(3, 4) % 5
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        write_class_map(classes, tmp_path / "c.tif", Cube(np.zeros((3, 4, 2), np.float32)))
        write_preview(classes, tmp_path / "c.jpg", "JPEG")
    assert [str(w.message) for w in caught] == []


def test_patch_symmetries_are_the_eight_of_the_square():
    from hinerc.classify.train import symmetries

    maps = symmetries(5)
    grid = np.arange(25).reshape(5, 5)
    want = {tuple(np.rot90(g, k).reshape(-1)) for g in (grid, grid[:, ::-1]) for k in range(4)}
    assert {tuple(m.tolist()) for m in maps} == want and len(maps) == 8
    assert (maps[:, 12] == 12).all()  # the centre pixel stays the centre


def test_centre_weighted_embedding_keeps_its_scale():
    from hinerc.classify.train import centre_weight

    torch.manual_seed(0)
    model = Classifier(ClassifierConfig(bands=6, classes=3))
    before = model.former.embed.weight.detach().clone()
    centre_weight(model, sigma=1.0)
    gain = (model.former.embed.weight.detach() / before)[0].reshape(3, 49)  # band offset × pos
    assert torch.allclose(gain, gain[:1].expand(3, -1))  # the same for the three bands
    g = gain[0].reshape(7, 7)
    assert g[3, 3] == g.max() and g[0, 0] == g.min() and torch.allclose(g, g.T)
    assert g.pow(2).mean().sqrt().item() == pytest.approx(1.0, rel=1e-5)


def test_few_labels_way_only_where_the_epochs_stretch(tmp_path):
    """A training that already has --min-steps steps in its --epochs (the Potsdam benchmark)
    runs exactly as before: no flips, no centre-weighted start."""
    from hinerc.classify.train import (TrainSettings, few_labels, label_maps, load_input,
                                       prepare_cube, train_classifier)

    assert few_labels(77, TrainSettings()) and not few_labels(3806, TrainSettings())
    assert not few_labels(77, TrainSettings(min_steps=0))
    assert few_labels(3806, TrainSettings(few_labels=True))
    cube, train, _ = _stripes(tmp_path)
    prep = prepare_cube(load_input(cube)[0])
    labels = label_maps(prep.data.shape[1:], train, None, None, seed=0)
    states = []
    for few in (None, False, True):
        s = TrainSettings(epochs=3, min_steps=3, seed=0, few_labels=few)
        states.append(train_classifier(prep, labels, s, isi=False).state_dict())
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])
    assert not all(torch.equal(states[0][k], states[2][k]) for k in states[0])


@pytest.mark.slow
def test_default_spectralformer_reaches_the_svm_floor():
    """On the labelled crop with --split 0.3 (77 training pixels), the default classifier is at
    least as accurate as the SVM of benchmarks/classify.py (RBF, C=100) on the same pixels. It
    was a constant map (OA 33.5%, kappa 0) before --min-steps; benchmarks/classify_floor.py
    compares five seeds and scikit-learn's default C=1 as well."""
    pytest.importorskip("sklearn")
    from sklearn.svm import SVC

    from hinerc.classify.train import TrainSettings, classify, label_maps, load_input, prepare_cube

    x = prepare_cube(load_input(CROP)[0]).data
    lab = label_maps(x.shape[1:], CROP_LABELS, None, "0.3", seed=0)
    tr, te = lab.train, lab.test
    svm = (SVC(C=100, gamma="scale").fit(x[:, tr > 0].T, tr[tr > 0]).predict(x[:, te > 0].T)
           == te[te > 0]).mean()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res, _ = classify(CROP, CROP_LABELS, split_spec="0.3", settings=TrainSettings(seed=0))
    assert res.test_pixels == 179 and res.train_pixels == 77 and res.few_labels
    assert res.accuracy.oa >= svm + 0.02, (res.accuracy.oa, svm)
    assert res.accuracy.kappa > 0.3


def test_classify_writes_all_or_nothing_with_ordinary_permissions(tmp_path, monkeypatch):
    """Every output is staged beside its destination and renamed only when all are written
    (no move out of a temporary folder, which is not atomic across filesystems); a failure
    in the last write leaves none of them and no temporary file."""
    import os
    import tempfile

    from hinerc.classify import classify
    from hinerc.classify import output as out
    from hinerc.classify.train import TrainSettings

    cube, train, test = _stripes(tmp_path)
    dest = tmp_path / "out"
    dest.mkdir()
    paths = dict(output=dest / "c.tif", preview=dest / "c.png", report=dest / "r.json",
                 save_model=dest / "m.npz")
    settings = TrainSettings(epochs=1, min_steps=0)

    def broken(report, path):
        raise OSError("disk full")

    monkeypatch.setattr(out, "write_report", broken)
    with pytest.raises(OSError, match="disk full"):
        classify(cube, train=train, test=test, settings=settings, **paths)
    assert list(dest.iterdir()) == []
    monkeypatch.undo()

    # staged beside the destination: the system's temporary folder is never used
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "no-such-folder"))
    old = os.umask(0o022)
    try:
        classify(cube, train=train, test=test, settings=settings, **paths)
    finally:
        os.umask(old)
    assert sorted(p.name for p in dest.iterdir()) == ["c.png", "c.tif", "m.npz", "r.json"]
    for p in paths.values():
        assert p.stat().st_mode & 0o777 == 0o644, p
