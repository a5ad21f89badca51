"""Face verification, measured as face-compression papers measure it: the LFW protocol.

*Verification* asks of two photos: "is this the same person?". A face recogniser turns each photo into a
descriptor (dlib's 128-d ResNet descriptor here, ``face_metrics``), and a pair is accepted as the same person
when the two descriptors lie closer than a threshold. Compression that blurs away identity shows up as same-person
pairs drifting apart, and the accuracy drops.

The protocol (LFW's, "unrestricted, labelled outside data")::

    10 folds × (300 same-person + 300 different-person pairs); the people of one fold appear in no other
    for each fold k:
        threshold_k = the distance threshold that maximises accuracy on the OTHER nine folds
        accuracy_k  = the fraction of fold k's pairs that threshold_k decides rightly
    report  accuracy mean ± std over the folds (std as numpy computes it, ddof=0, the usual convention),
            ROC AUC over all pairs, and TAR @ FAR: the largest true-accept rate (same pairs accepted)
            whose false-accept rate (different pairs accepted) is at most 1 % or 0.1 %

Choosing the threshold on the fold it is tested on would flatter every codec; choosing it on the other folds
is what a deployed system does: fix the threshold first, then meet new people. Note how few pairs the strict
rates rest on: with 3,000 different-person pairs, FAR 0.1 % allows 3 false accepts, so TAR@0.1% is noisy.

Typical use::

    from fasdiff_lite import face_sets
    from fasdiff_lite.evaluation import verification
    pairs = face_sets.celeba_pairs()
    rows = [dict(codec="original", rate="-", **verification.verify(pairs, size=64))]
    print(verification.format_table(rows))
"""
from __future__ import annotations

import json
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from .. import data, faces
from ..face_sets import PairsFile, read_pairs
from ..models import zoo
from ..registry import DEFAULT_REALISM, DEFAULT_STEPS
from . import CODEC_COLORS, baselines, bdrate, bootstrap, face_metrics

FARS = (0.01, 0.001)
INTERVAL = "percentile"  # paired_difference's bootstrap interval (benchmarks/verification_interval_coverage.py)
QUALITIES = {"jpeg": (1, 5, 10, 20, 40, 75), "webp": (0, 5, 15, 30, 50, 80), "avif": (0, 10, 25, 40, 60, 80)}
DECODE_CHUNK = 16  # photos a diffusion codec denoises together in a sweep (FaSDiffCodec.decompress_many)


# ------------------------------------------------------------------------------------------ the maths
def verification_scores(desc_a: np.ndarray, desc_b: np.ndarray) -> np.ndarray:
    """The Euclidean distance of each pair of descriptors (rows of two N×D arrays): smaller = more alike."""
    desc_a, desc_b = np.asarray(desc_a, dtype=np.float64), np.asarray(desc_b, dtype=np.float64)
    if desc_a.shape != desc_b.shape:
        raise ValueError(f"descriptors {desc_a.shape} and {desc_b.shape} must pair up")
    return np.linalg.norm(desc_a - desc_b, axis=-1)


def best_threshold(distances: np.ndarray, same: np.ndarray) -> float:
    """The threshold t that maximises the accuracy of the rule "same person when distance < t".

    Candidates lie midway between consecutive distinct distances (plus -inf, accept nothing, and +inf, accept every
    finite distance); of equally good ones the smallest wins. An infinite distance is never accepted."""
    d, same = np.asarray(distances, dtype=np.float64), np.asarray(same, dtype=bool)
    order = np.argsort(d, kind="stable")
    d, same = d[order], same[order]
    finite = np.isfinite(d)
    values = np.unique(d[finite])
    candidates = np.concatenate([[-np.inf], (values[:-1] + values[1:]) / 2, [np.inf]])
    # accepting the first i sorted pairs: right = same pairs among them + different pairs after them
    accepted = np.searchsorted(d[finite], candidates, side="left")
    same_before = np.concatenate([[0], np.cumsum(same)])[accepted]
    different_after = (~same).sum() - (accepted - same_before)
    return float(candidates[np.argmax(same_before + different_after)])


def roc(distances: np.ndarray, same: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(false-accept rates, true-accept rates) as the threshold sweeps from accepting nothing to accepting every
    pair, one point per distinct distance (tied distances are accepted together)."""
    d, same = np.asarray(distances, dtype=np.float64), np.asarray(same, dtype=bool)
    n_same, n_diff = int(same.sum()), int((~same).sum())
    if n_same == 0 or n_diff == 0:
        raise ValueError(f"a ROC needs both kinds of pairs; got {n_same} same and {n_diff} different")
    order = np.argsort(d, kind="stable")
    d, same = d[order], same[order]
    last_of_tie = np.r_[d[1:] != d[:-1], True]
    tp, fp = np.cumsum(same)[last_of_tie], np.cumsum(~same)[last_of_tie]
    return np.r_[0.0, fp / n_diff], np.r_[0.0, tp / n_same]


def auc(far: np.ndarray, tar: np.ndarray) -> float:
    """Area under a ROC (trapezoids): 1 for perfect separation, 0.5 for a coin toss."""
    return float(np.sum(np.diff(far) * (tar[1:] + tar[:-1]) / 2))


def tar_at_far(far: np.ndarray, tar: np.ndarray, target: float) -> float:
    """The largest true-accept rate among the ROC's points whose false-accept rate is at most ``target``."""
    return float(tar[far <= target + 1e-12].max())


def fold_accuracies(d: np.ndarray, same: np.ndarray, folds: np.ndarray) -> tuple[list[float], list[float]]:
    """(accuracy, threshold) of each fold, in fold order, the threshold chosen on the other folds: the heart of
    :func:`ten_fold` (arrays already checked)."""
    ids = np.unique(folds)
    if len(ids) < 2:
        raise ValueError("the protocol needs at least two folds (each fold's threshold comes from the others)")
    thresholds, accuracies = [], []
    for k in ids:
        test = folds == k
        t = best_threshold(d[~test], same[~test])
        thresholds.append(t)
        accuracies.append(float(np.mean((d[test] < t) == same[test])))
    return accuracies, thresholds


def ten_fold(distances, same, folds, fars=FARS) -> dict:
    """The LFW protocol on precomputed distances (see the module docstring).

    distances: N floats (np.inf for a pair that could not be measured: never accepted); same: N bools;
    folds: N fold numbers. Returns ``accuracy_mean``, ``accuracy_std``, ``accuracies`` and ``thresholds`` (per
    fold, in fold order), ``auc``, ``tar_at_far`` ({far: tar}), ``roc`` ((far, tar) arrays) and ``n_pairs``."""
    d = np.asarray(distances, dtype=np.float64)
    same, folds = np.asarray(same, dtype=bool), np.asarray(folds)
    if not (d.shape == same.shape == folds.shape) or d.ndim != 1:
        raise ValueError(f"distances {d.shape}, same {same.shape} and folds {folds.shape} must be 1-d and equally long")
    if np.isnan(d).any():
        raise ValueError("distances hold NaN")
    accuracies, thresholds = fold_accuracies(d, same, folds)
    far, tar = roc(d, same)
    return {
        "accuracy_mean": float(np.mean(accuracies)),
        "accuracy_std": float(np.std(accuracies)),
        "accuracies": accuracies,
        "thresholds": thresholds,
        "auc": auc(far, tar),
        "tar_at_far": {f: tar_at_far(far, tar, f) for f in fars},
        "roc": (far, tar),
        "n_pairs": int(len(d)),
    }


# ------------------------------------------------------------------------------------------ photos to numbers
def _crop(image: np.ndarray, size: int, align: bool) -> tuple[np.ndarray, bool]:
    """(the size×size crop the models see, False when alignment was asked for but the aligner found no face and
    the centre crop stands in)."""
    if not align:
        return data.face_crop(image, size), True
    try:
        return faces.prepare(image, size), True
    except faces.NoFaceFound:
        return data.face_crop(image, size), False


@dataclass
class AlignedPhotos:
    """Every photo of a pairs file aligned once to the models' size: ``crops`` (name → uint8 size×size×3; a photo
    that could not be read is absent), ``not_aligned`` (names where the aligner found no face and the centre crop
    stands in), ``failures`` ("name: why" of the unreadable ones)."""

    size: int
    crops: dict[str, np.ndarray]
    not_aligned: list[str]
    failures: list[str]


def align_photos(pairs: PairsFile, size: int = 64, align: bool = True, progress: bool = True,
                 cache: str | Path | None = None) -> AlignedPhotos:
    """Read and align each photo of ``pairs`` once (``faces.prepare``; a centre crop where no face is found).
    ``cache``: an ``.npz`` file that keeps the aligned photos (read back when it holds these photos at this size, so a
    resumed sweep does not align them again)."""
    if cache is not None and Path(cache).exists():
        with np.load(cache, allow_pickle=False) as z:
            names, kept = [str(n) for n in z["names"]], z["crops"]
            if (int(z["size"]) == size and bool(z["align"]) == align
                    and sorted(names + [str(n) for n in z["unread"]]) == sorted(pairs.photos())):
                return AlignedPhotos(size, dict(zip(names, kept)), [str(n) for n in z["not_aligned"]],
                                     [str(n) for n in z["failures"]])
    crops, not_aligned, failures = {}, [], []
    for name in tqdm(pairs.photos(), desc=f"aligning to {size} px", disable=not progress):
        try:
            crops[name], aligned = _crop(pairs.load(name), size, align)
        except data.ImageError as e:
            failures.append(f"{name}: {e}")
            continue
        if not aligned:
            not_aligned.append(name)
    if cache is not None:
        Path(cache).parent.mkdir(parents=True, exist_ok=True)
        unread = [n for n in pairs.photos() if n not in crops]
        np.savez(cache, names=np.array(list(crops), dtype=str), crops=np.stack(list(crops.values())) if crops else
                 np.zeros((0, size, size, 3), np.uint8), size=size, align=align,
                 not_aligned=np.array(not_aligned, dtype=str), failures=np.array(failures, dtype=str),
                 unread=np.array(unread, dtype=str))
    return AlignedPhotos(size, crops, not_aligned, failures)


def verify_aligned(pairs: PairsFile, photos: AlignedPhotos, decode=None, progress: bool = True,
                   desc: str = "verification") -> dict:
    """The LFW protocol on already-aligned photos, each passed through ``decode`` (uint8 image → uint8 image, e.g. a
    codec's compress + decompress) when given, then described by dlib: see :func:`verify`."""
    if not face_metrics.is_available():
        raise face_metrics.FaceMetricsUnavailable(f"verification needs dlib: {face_metrics.INSTALL_HINT}")
    backend = face_metrics.get_backend()
    described: dict[str, np.ndarray] = {}
    not_detected = 0
    failures = list(photos.failures)
    start = time.perf_counter()
    items = list(photos.crops.items())
    chunk = DECODE_CHUNK if getattr(decode, "many", None) else 1
    with tqdm(total=len(items), desc=desc, disable=not progress) as bar:
        for k in range(0, len(items), chunk):
            part = items[k: k + chunk]
            decoded = decode.many([c for _, c in part]) if chunk > 1 else [None] * len(part)
            for (name, crop), dec in zip(part, decoded):
                try:
                    if decode is not None:
                        crop = data.load_image(dec if dec is not None else decode(crop))
                    found = backend.analyse(crop)
                except data.ImageError as e:
                    failures.append(f"{name}: {e}")
                    continue
                not_detected += not found.detected
                described[name] = found.descriptor
            bar.update(len(part))
    missing = np.full(face_metrics.DESCRIPTOR_DIM, np.nan)
    da = np.stack([described.get(n, missing) for n in pairs.a])
    db = np.stack([described.get(n, missing) for n in pairs.b])
    distances = verification_scores(da, db)
    failed_pairs = np.isnan(distances)
    distances[failed_pairs] = np.inf
    out = ten_fold(distances, pairs.same, pairs.fold)
    out.update(distances=distances, n_photos=len(photos.crops) + len(photos.failures), not_aligned=len(photos.not_aligned),
               not_detected=not_detected, failed=len(failures), failures=failures,
               n_pairs_failed=int(failed_pairs.sum()), seconds=time.perf_counter() - start)
    return out


def verify(pairs: PairsFile, decode=None, size: int = 64, align: bool = True, progress: bool = True) -> dict:
    """The LFW protocol on the photos of ``pairs``, each photo aligned to ``size`` px (``faces.prepare``; a centre
    crop where no face is found), optionally passed through ``decode`` (uint8 image → uint8 image, e.g. a codec's
    compress + decompress), then described by dlib. Each photo is processed once, however many pairs it is in.

    Returns :func:`ten_fold`'s dict plus the counts: ``n_photos``; ``not_aligned`` (no face found by the aligner,
    centre crop used); ``not_detected`` (dlib's detector found no face in the crop, so the descriptor comes from
    ``face_metrics``' fallback box, still counted as a photo described); ``failed`` (no descriptor at all, e.g. an
    unreadable file: its pairs get an infinite distance, i.e. are never accepted, which costs its same-person pairs);
    ``n_pairs_failed`` and ``seconds`` (describing and coding, after the alignment)."""
    return verify_aligned(pairs, align_photos(pairs, size, align, progress), decode, progress)


# ------------------------------------------------------------------------------------------ codecs on the protocol
def codec_settings(codecs, rates, qualities: dict | None = None) -> list[tuple[str, str, float]]:
    """(codec, "rate" or "quality", value) for each row a sweep measures: every learned codec (a shipped name or a
    folder) at each rate, every classical one (JPEG/WebP/AVIF) at each of its ``qualities`` (default
    :data:`QUALITIES`)."""
    qualities = {**QUALITIES, **(qualities or {})}
    out = []
    for c in codecs:
        if c in baselines.CODECS:
            out += [(c, "quality", float(q)) for q in qualities[c]]
        else:
            out += [(c, "rate", float(r)) for r in rates]
    return out


def coder(codec: str, kind: str, value: float, steps: int = DEFAULT_STEPS, realism: float = DEFAULT_REALISM,
          device: str = "cpu"):
    """(uint8 image → uint8 decoded image, the list the file sizes are appended to) for one row of a sweep."""
    sizes: list[int] = []
    if kind == "quality":
        def code(img):
            blob = baselines.encode(img, codec, int(value))
            sizes.append(len(blob))
            return baselines.decode(blob)
        return code, sizes
    model = zoo.cached(codec, device)
    kw = zoo.decode_settings(codec, steps, realism)

    def code(img):
        blob = model.compress(data.to_tensor(img), value)
        sizes.append(len(blob))
        return data.to_image(model.decompress(blob, **kw))

    if hasattr(model, "decompress_many"):  # a diffusion codec: denoise the photos in batches (about twice as fast)
        def many(imgs):
            blobs = [model.compress(data.to_tensor(img), value) for img in imgs]
            sizes.extend(len(b) for b in blobs)
            return [data.to_image(x) for x in model.decompress_many(blobs, **kw)]
        code.many = many
    return code, sizes


@torch.no_grad()
def measure(pairs: PairsFile, codecs, rates=(0.0, 0.1, 0.2, 0.3, 0.5, 1.0), qualities: dict | None = None,
            size: int = 64, align: bool = True, steps: int = DEFAULT_STEPS, realism: float = DEFAULT_REALISM,
            done: list[dict] | None = None, on_row=None, progress: bool = True, device: str = "cpu",
            cache: str | Path | None = None) -> list[dict]:
    """Every codec on the protocol: the uncompressed reference at ``size`` px first, then one row per codec and
    rate (learned codecs; FaSDiff decoded with ``steps`` and ``realism``) or quality (JPEG/WebP/AVIF). Each row:
    ``codec``, ``kind`` (reference / rate / quality), ``value``, ``bytes`` and ``bpp`` (mean file size), and
    :func:`verify`'s numbers (without the ROC arrays). ``done``: rows already measured (skipped: a long sweep
    resumes); ``on_row(row)`` is called after each new row (to save it); ``cache``: :func:`align_photos`' file of
    aligned photos."""
    rows = list(done or [])
    seen = {(r["codec"], r["kind"], r["value"]) for r in rows}
    todo = [s for s in [("original", "reference", 0.0)] + codec_settings(codecs, rates, qualities) if s not in seen]
    photos = align_photos(pairs, size, align, progress, cache) if todo else None
    for codec, kind, value in todo:
        code, sizes = (None, []) if kind == "reference" else coder(codec, kind, value, steps, realism, device)
        res = verify_aligned(pairs, photos, code, progress, desc=f"{codec} {kind} {value:g}")
        res.pop("roc")
        n_bytes = float(np.mean(sizes)) if sizes else None
        row = {"codec": codec, "kind": kind, "value": value, "bytes": n_bytes,
               "bpp": n_bytes * 8 / (size * size) if n_bytes is not None else None, "size": size, **res}
        rows.append(row)
        if on_row is not None:
            on_row(row)
    return rows


def row_key(row: dict) -> str:
    """The name of a row's per-pair distances in the ``*_distances.npz`` beside a sweep's JSON."""
    return f"{row['codec']}|{row['kind']}|{row['value']:g}"


def _distances_file(path: Path) -> Path:
    return path.with_name(path.stem + "_distances.npz")


def save_rows(rows: list[dict], path, **about) -> Path:
    """Write a sweep's rows (and what they were measured on, ``about``) as JSON; :func:`load_rows` reads them back.
    Rows that carry their per-pair ``distances`` (float arrays) have them stored in ``<name>_distances.npz`` beside
    it (the JSON stays small), for paired comparisons of two rows (:func:`paired_difference`). Rows another sweep
    wrote to the same file since (the same ``about``, another codec or rate) are kept: two sweeps can share a folder
    (a lock file serialises their writes where the system has ``fcntl``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _locked(path):
        mine = {row_key(r) for r in rows}
        rows = list(rows) + [r for r in load_rows(path, **about) if row_key(r) not in mine]
        arrays = {row_key(r): np.asarray(r["distances"], dtype=np.float32) for r in rows if r.get("distances") is not None}
        slim = [{k: v for k, v in r.items() if k != "distances"} for r in rows]
        _write_rows(path, {**about, "rows": slim}, arrays or None)
    return path


def _write_rows(path: Path, saved: dict, arrays: dict | None) -> None:
    """Write a rows file's JSON (and, unless ``arrays`` is None, its distances file), each through a temporary file
    renamed over the old one, the distances first: a reader never sees half a file, nor rows whose distances are
    not there yet. Called under the sweep's lock."""
    if arrays is not None:
        tmp = _distances_file(path).with_suffix(".tmp.npz")
        np.savez_compressed(tmp, **arrays)
        tmp.replace(_distances_file(path))
    tmp = path.with_suffix(".tmp.json")
    tmp.write_text(json.dumps(saved, indent=1, default=float))
    tmp.replace(path)


@contextmanager
def _locked(path: Path):
    """An exclusive lock on ``.<name>.lock`` beside ``path`` while the block runs (none where ``fcntl`` is missing:
    Windows). The lock file stays: removing it would let a third writer lock a new file while the second holds the
    old one."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    with open(path.parent / f".{path.stem}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def load_rows(path, **about) -> list[dict]:
    """The rows :func:`save_rows` wrote, when they were measured on the same ``about`` (pairs file, size, decode
    setting), else none: a sweep resumes only on its own measurements. A row's per-pair ``distances`` come back
    where they were stored (rows of older sweeps have none)."""
    path = Path(path)
    if not path.exists():
        return []
    saved = json.loads(path.read_text())
    if any(saved.get(k) != v for k, v in about.items()):
        return []
    rows = saved["rows"]
    stored = {}
    if _distances_file(path).exists():
        with np.load(_distances_file(path), allow_pickle=False) as z:
            stored = {k: z[k].astype(np.float64) for k in z.files}
    for r in rows:
        r["tar_at_far"] = {float(k): v for k, v in r["tar_at_far"].items()}  # JSON keys are strings
        if row_key(r) in stored:
            r["distances"] = stored[row_key(r)]
    return rows


def rename_codecs(path, names: dict[str, str]) -> int:
    """Rename codecs in a sweep's rows file (and the keys of their per-pair distances), in place and under the
    sweep's lock: a run measured under its folder's path becomes the shipped name it was shipped as (the same
    weights). Returns how many rows were renamed. Renaming onto a row the file already holds at the same setting
    drops the renamed one when both hold the same measurement (the same accuracy and per-pair distances: a sweep that
    started before an earlier rename wrote the old name back); with other numbers it is an error (nothing written)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no rows file {path}")
    with _locked(path):
        saved = json.loads(path.read_text())
        rows = saved["rows"]
        stored = {}
        if _distances_file(path).exists():
            with np.load(_distances_file(path), allow_pickle=False) as z:
                stored = {k: z[k] for k in z.files}
        renamed = [dict(r, codec=names.get(r["codec"], r["codec"])) for r in rows]
        kept, keys, clash = [], {}, []
        for old, new in zip(rows, renamed):
            k = row_key(new)
            if k in keys:
                other = keys[k]
                same = (other[0]["accuracy_mean"] == old["accuracy_mean"]
                        and np.array_equal(stored.get(row_key(other[0])), stored.get(row_key(old))))
                if not same:
                    clash.append(k)
                continue  # the same measurement under both names: one row is kept
            keys[k] = (old, new)
            kept.append((old, new))
        if clash:
            raise ValueError(f"renaming would give two rows the same codec and setting: {', '.join(sorted(set(clash)))}")
        moved = {row_key(a): row_key(b) for a, b in kept if a["codec"] != b["codec"]}
        dropped = len(rows) - len(kept)
        arrays = None
        if stored and (moved or dropped):
            wanted = {row_key(a): row_key(b) for a, b in kept}
            arrays = {wanted[k]: v for k, v in stored.items() if k in wanted}
        _write_rows(path, {**saved, "rows": [b for _, b in kept]}, arrays)
    return len(moved)


def merge_rows(src, dest) -> int:
    """Add to the rows file ``dest`` every row of ``src`` it lacks (by codec and setting), with its per-pair
    distances: a sweep's committed rows brought into a working copy that has since measured others. Both files must
    have been measured on the same pairs and setting (else an error, and nothing written). Returns how many rows
    were added; ``dest`` is created as a copy of ``src`` when it does not exist."""
    src, dest = Path(src), Path(dest)
    saved = json.loads(src.read_text())
    about = {k: v for k, v in saved.items() if k != "rows"}
    if dest.exists():
        theirs = {k: v for k, v in json.loads(dest.read_text()).items() if k != "rows"}
        if theirs != about:
            differ = sorted(k for k in set(about) | set(theirs) if about.get(k) != theirs.get(k))
            raise ValueError(f"{src} and {dest} were measured on different settings ({', '.join(differ)}): not merged")
    have = {row_key(r) for r in load_rows(dest, **about)}
    new = [r for r in load_rows(src, **about) if row_key(r) not in have]
    if new:
        save_rows(new, dest, **about)
    return len(new)


def paired_difference(dist_a, dist_b, same, folds, draws: int = 1000, seed: int = 0, level: float = 0.95,
                      kind: str = INTERVAL) -> dict:
    """Verification accuracy of A minus that of B (two codecs' per-pair distances on the same pairs), with a paired
    bootstrap interval: each draw resamples the pairs with replacement within each fold and kind (same or different
    person), so it keeps the protocol's folds and mix, and both codecs are scored on the same draw as :func:`ten_fold`
    scores them (each fold's threshold from the other folds). Returns ``diff`` (on the pairs as they are), ``lo`` /
    ``hi`` (the ``level`` interval of ``kind``, :func:`bootstrap.interval`; :data:`INTERVAL` by default) and
    ``draws``. An interval that holds 0 is a difference these pairs cannot tell from none."""
    a, b = np.asarray(dist_a, dtype=np.float64), np.asarray(dist_b, dtype=np.float64)
    same, folds = np.asarray(same, dtype=bool), np.asarray(folds)
    if not (a.shape == b.shape == same.shape == folds.shape):
        raise ValueError(f"distances {a.shape} and {b.shape}, same {same.shape}, folds {folds.shape} must pair up")
    if draws < 1:
        raise ValueError(f"draws must be at least 1, got {draws}")
    acc = lambda d, idx: float(np.mean(fold_accuracies(d[idx], same[idx], folds[idx])[0]))  # noqa: E731
    everything = np.arange(len(a))
    diff = acc(a, everything) - acc(b, everything)
    rng = np.random.default_rng(seed)
    members = [m for k in np.unique(folds) for m in (np.flatnonzero((folds == k) & same),
                                                     np.flatnonzero((folds == k) & ~same)) if len(m)]
    diffs = np.empty(draws)
    for i in range(draws):
        idx = np.concatenate([rng.choice(m, size=len(m), replace=True) for m in members])
        diffs[i] = acc(a, idx) - acc(b, idx)
    lo, hi = bootstrap.interval(diffs, diff, level, kind)
    return {"diff": float(diff), "lo": float(lo), "hi": float(hi), "draws": int(draws)}


class Sweep:
    """A verification sweep's rows file (``verification.json`` of ``fasdiff-lite eval --pairs ... --out DIR``), for
    comparing two of its codecs pair by pair: the rate rows that kept their per-pair distances, by codec and rate,
    and the pairs they were measured on (read when first needed)."""

    def __init__(self, path):
        self.path = Path(path)
        if not self.path.exists():
            raise FileNotFoundError(f"no verification sweep {self.path} (fasdiff-lite eval --pairs FILE --out DIR writes one)")
        self.about = json.loads(self.path.read_text())
        self.rows = {(r["codec"], r["value"]): r for r in load_rows(self.path)
                     if r["kind"] == "rate" and r.get("distances") is not None}
        self._pairs = None

    @property
    def pairs(self) -> PairsFile:
        if self._pairs is None:
            pairs = read_pairs(self.about["pairs"], self.about.get("images"))
            n = {len(r["distances"]) for r in self.rows.values()}
            if n - {len(pairs)}:
                raise ValueError(f"{self.path}: its distances are not over the {len(pairs)} pairs of {self.about['pairs']}")
            self._pairs = pairs
        return self._pairs

    def codecs(self) -> list[str]:
        return sorted({c for c, _ in self.rows})

    def rates(self, a: str, b: str) -> list[float]:
        """The rates at which both codecs have per-pair distances."""
        return sorted({v for c, v in self.rows if c == a} & {v for c, v in self.rows if c == b})

    def row(self, rate: float, *names: str) -> dict | None:
        """The codec's row at ``rate`` under the first of ``names`` the sweep holds (a shipped name, or the folder it
        was measured as), else None."""
        return next((self.rows[(n, rate)] for n in names if n is not None and (n, rate) in self.rows), None)

    def difference(self, row_a: dict, row_b: dict, draws: int = 1000) -> dict:
        """:func:`paired_difference` of two of its rows, with both accuracies (``a``, ``b``) and the pair count."""
        d = paired_difference(row_a["distances"], row_b["distances"], self.pairs.same, self.pairs.fold, draws=draws)
        return {"a": row_a["accuracy_mean"], "b": row_b["accuracy_mean"], **d, "pairs": len(self.pairs.same)}


def bd_rows(rows: list[dict]) -> list[dict]:
    """BD-rates (``bdrate.bd_rate_table``, bytes) on verification accuracy and AUC, every codec against JPEG and the
    plain hyperprior where they were measured."""
    return bdrate.bd_rate_table([r for r in rows if r["kind"] != "reference"], metrics_=("accuracy_mean", "auc"))


# ------------------------------------------------------------------------------------------ the plot
def plot_rate_accuracy(rows: list[dict], ax=None, metric: str = "accuracy_mean"):
    """Verification accuracy (or ``metric``: ``auc``) against bits per pixel, one line per codec, the uncompressed
    reference as a dashed line: the rate–verification curve, to read beside rate–PSNR."""
    import matplotlib.pyplot as plt  # only where a figure is drawn: the CLI imports this module when it starts

    if ax is None:
        _, ax = plt.subplots(figsize=(5.2, 3.4))
    for codec in dict.fromkeys(r["codec"] for r in rows if r["kind"] != "reference"):
        line = sorted((r for r in rows if r["codec"] == codec), key=lambda r: r["bpp"])
        ax.plot([r["bpp"] for r in line], [r[metric] for r in line], "o-", color=CODEC_COLORS.get(codec), label=codec)
    for r in rows:
        if r["kind"] == "reference":
            ax.axhline(r[metric], color="k", ls="--", lw=0.9, label=f"uncompressed, {r['size']} px")
    ax.set_xlabel("bits per pixel")
    ax.set_ylabel({"accuracy_mean": "verification accuracy", "auc": "ROC AUC"}.get(metric, metric))
    n = next((r["n_pairs"] for r in rows), 0)
    ax.set_title(f"rate–verification ({n} pairs, threshold from the other folds)", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return ax


# ------------------------------------------------------------------------------------------ the table
def format_table(rows: list[dict]) -> str:
    """Plain text, one row per dict: ``codec``, its setting (``kind`` and ``value``: rate or quality; or ``rate``, any
    label), ``bpp`` when known, and :func:`ten_fold`'s numbers."""
    head = (f"{'codec':<16} {'setting':>12} {'bpp':>6}  {'accuracy':>15}  {'AUC':>6}  {'TAR@1%':>7}  {'TAR@0.1%':>8}")
    lines = [head, "-" * len(head)]
    for r in rows:
        if "kind" in r:
            setting = "-" if r["kind"] == "reference" else f"{r['kind'][0]} {r['value']:g}"
        else:
            rate = r.get("rate", "-")
            setting = f"{rate:.3f}" if isinstance(rate, (int, float)) else str(rate)
        bpp = f"{r['bpp']:.3f}" if r.get("bpp") is not None else "-"
        tar = r["tar_at_far"]
        acc = f"{r['accuracy_mean']:.4f} ± {r['accuracy_std']:.4f}"
        lines.append(f"{str(r.get('codec', '?')):<16} {setting:>12} {bpp:>6}  {acc:>15}  {r['auc']:6.4f}  "
                     f"{tar[0.01]:7.4f}  {tar[0.001]:8.4f}")
    return "\n".join(lines)
