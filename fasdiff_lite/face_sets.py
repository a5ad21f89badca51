"""The two larger face sets in ``../shared/faces``, read straight from their zips (nothing is unpacked to disk).

**UTKFace** (``utkface_200.zip``, for training): 23,317 aligned 200-px colour faces. The labels are in the
file names, ``age_gender_race_date.jpg`` (gender 0 male / 1 female; race 0 White, 1 Black, 2 Asian, 3 Indian,
4 Others)::

    faces, names = load_utkface(64, split="train")      # uint8 N×64×64×3 and the file names, in name order
    utkface_attributes(names[0])                         # {'age': 100, 'gender': 'male', 'race': 'White'}

Decoding 23,000 JPEGs takes a while, so the first call at a size saves the decoded faces as an ``.npz`` in
``$FASDIFF_CACHE`` (default ``~/.cache/fasdiff-lite``); later calls read that back. The cache file's name holds
the zip's size and modification time, so a changed zip is decoded afresh.

The validation faces are a fixed, seeded draw of 1,000 faces, stratified by age group × gender × race so they
have the whole set's mix. Their names are stored in ``assets/splits/utkface_split.json`` (names, not indices, so
the split survives a reordered zip); :func:`write_utkface_split` draws it again, identically. UTKFace has no
identity labels, so one person may appear on both sides of the split: the split keeps *photos*, not *people*,
out of training.

**CelebA identity** (``celeba_identity/``, for measuring only, never for training): 5,996 160-px crops of 296
people, their person ids (:func:`read_identities`) and a verification protocol laid out like LFW's
(:func:`read_pairs`, :func:`celeba_pairs`; the measurement itself is in ``evaluation/verification.py``).
"""
from __future__ import annotations

import json
import os
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from . import data, settings

UTKFACE_ZIP = "utkface_200.zip"
CELEBA_DIR = "celeba_identity"
CELEBA_ZIP = "celeba_identity_160.zip"
UTKFACE_SPLIT_FILE = "splits/utkface_split.json"
GENDERS = ("male", "female")
RACES = ("White", "Black", "Asian", "Indian", "Others")
AGE_GROUPS = (0, 3, 10, 20, 30, 40, 50, 60, 70)  # lower bounds of the age groups the split is stratified by
UTKFACE_NAME = re.compile(r"(\d+)_([01])_([0-4])_(\d+)\.jpg")
PROGRESS_MIN = 300  # decoding more faces than this shows a progress bar


# ------------------------------------------------------------------------------------------ where they are
def _shared_faces(name: str) -> Path:
    root = settings.shared_dir()
    path = root / "faces" / name if root else None
    if path is None or not path.exists():
        raise data.DataUnavailable(f"{name} is not here (looked in ../shared/faces/ and $FASDIFF_SHARED/faces/); "
                                   "the large face sets live only beside the project checkout")
    return path


def utkface_path() -> Path:
    """``../shared/faces/utkface_200.zip``; :class:`~fasdiff_lite.data.DataUnavailable` when it is absent."""
    return _shared_faces(UTKFACE_ZIP)


def celeba_identity_dir() -> Path:
    """``../shared/faces/celeba_identity/``; :class:`~fasdiff_lite.data.DataUnavailable` when it is absent."""
    return _shared_faces(CELEBA_DIR)


# ------------------------------------------------------------------------------------------ UTKFace labels
def utkface_attributes(name: str) -> dict:
    """``"25_1_2_20170116174525125.jpg"`` → ``{"age": 25, "gender": "female", "race": "Asian"}``.

    Raises ValueError for a name that is not ``<age>_<gender 0|1>_<race 0-4>_<digits>.jpg``. Five names in the
    zip break that rule and are skipped by every loader here (:func:`utkface_malformed`): three lack a field
    (``39_1_20170116174525125.jpg``: is ``1`` the gender or the race?) and two carry a stray character in the
    date (a space before ``.jpg``; ``...357jpg.chip.jpg``).
    """
    m = UTKFACE_NAME.fullmatch(Path(name).name)
    if m is None:
        raise ValueError(f"{name!r} is not a UTKFace name: expected <age>_<gender 0|1>_<race 0-4>_<date digits>.jpg")
    return {"age": int(m[1]), "gender": GENDERS[int(m[2])], "race": RACES[int(m[3])]}


def _utkface_names() -> tuple[list[str], list[str]]:
    with zipfile.ZipFile(utkface_path()) as z:
        names = sorted(n for n in z.namelist() if not n.endswith("/"))
    good = [n for n in names if UTKFACE_NAME.fullmatch(n)]
    return good, sorted(set(names) - set(good))


def utkface_names() -> list[str]:
    """The well-formed UTKFace file names, sorted (the order of every loader here)."""
    return _utkface_names()[0]


def utkface_malformed() -> list[str]:
    """The file names :func:`utkface_attributes` refuses (skipped everywhere)."""
    return _utkface_names()[1]


# ------------------------------------------------------------------------------------------ duplicates
NEAR_DUPLICATE_RMS = 3.0  # grey levels (0-255) of RMS difference at 64 px under which two faces are one photo


def near_duplicates(a: np.ndarray, b: np.ndarray | None = None, max_rms: float = NEAR_DUPLICATE_RMS,
                    chunk: int = 512) -> list[tuple[int, int, float]]:
    """Pairs (i, j, rms) of faces ``a[i]`` and ``b[j]`` (uint8 N×H×W×3 of one size) whose RMS pixel difference is
    below ``max_rms`` grey levels: the same photo, re-encoded or resized. ``b`` None: pairs within ``a`` (i < j).

    Fast on tens of thousands of faces: each face is first averaged to an 8×8 grey thumbnail; the RMS of averaged
    differences is never above the full RMS (Jensen), so only pairs whose thumbnails lie within ``max_rms`` are
    compared pixel by pixel."""
    within = b is None
    b = a if within else b
    if a.shape[1:] != b.shape[1:]:
        raise ValueError(f"faces of shapes {a.shape[1:]} and {b.shape[1:]} cannot be compared; load them at one size")

    def thumbs(x: np.ndarray) -> np.ndarray:
        h, w = x.shape[1] // 8 * 8, x.shape[2] // 8 * 8
        g = x[:, :h, :w].astype(np.float32).mean(-1)
        return g.reshape(len(x), 8, h // 8, 8, w // 8).mean((2, 4)).reshape(len(x), 64)

    ta, tb = thumbs(a), thumbs(b)
    nb = (tb ** 2).sum(1)
    out = []
    for s in range(0, len(a), chunk):
        blk = ta[s:s + chunk]
        d2 = (blk ** 2).sum(1)[:, None] + nb[None] - 2 * blk @ tb.T
        for i, j in zip(*np.nonzero(d2 < (max_rms ** 2) * 64 + 1e-3)):
            i = int(i) + s
            if within and j <= i:
                continue
            rms = float(np.sqrt(np.mean((a[i].astype(np.float32) - b[j].astype(np.float32)) ** 2)))
            if rms < max_rms:
                out.append((i, int(j), rms))
    return out


# ------------------------------------------------------------------------------------------ UTKFace split
def _stratum(name: str) -> tuple[int, str, str]:
    a = utkface_attributes(name)
    group = max(g for g in AGE_GROUPS if g <= a["age"])
    return group, a["gender"], a["race"]


def utkface_split(seed: int = 0, n_val: int = 1000, names: list[str] | None = None,
                  faces: np.ndarray | None = None) -> dict:
    """The validation split as stored in the JSON file: ``n_val`` names drawn with ``numpy.random.default_rng(seed)``,
    stratified by age group × gender × race (each stratum gets its share of ``n_val``, rounded by largest remainder).
    ``names``: the set to draw from (default: :func:`utkface_names`); the draw depends only on the sorted names.
    ``faces``: the faces of the sorted ``names`` (e.g. ``load_utkface(64)[0]``): any other face that is a near-duplicate
    of a validation face (:func:`near_duplicates`) is then listed as ``excluded``, in neither split."""
    names = sorted(names if names is not None else utkface_names())
    if not 0 < n_val < len(names):
        raise ValueError(f"n_val must lie between 1 and {len(names) - 1}, got {n_val}")
    strata: dict[tuple, list[str]] = {}
    for n in names:
        strata.setdefault(_stratum(n), []).append(n)
    keys = sorted(strata)
    share = np.array([len(strata[k]) for k in keys]) * n_val / len(names)
    quota = np.floor(share).astype(int)
    extra = np.argsort(-(share - quota), kind="stable")[: n_val - quota.sum()]
    quota[extra] += 1
    rng = np.random.default_rng(seed)
    val = sorted(n for k, q in zip(keys, quota) for n in rng.choice(strata[k], size=q, replace=False))
    excluded = {}
    if faces is not None:
        if len(faces) != len(names):
            raise ValueError(f"{len(faces)} faces for {len(names)} names")
        chosen = set(val)
        iv = [i for i, n in enumerate(names) if n in chosen]
        it = [i for i, n in enumerate(names) if n not in chosen]
        for i, j, rms in near_duplicates(faces[iv], faces[it]):
            excluded[names[it[j]]] = f"a near-duplicate of the validation face {names[iv[i]]} (RMS {rms:.2f} at 64 px)"
    return {
        "description": f"Fixed validation split of ../shared/faces/{UTKFACE_ZIP}: these {n_val} faces (by file name) "
                       "are never used for training. Drawn by fasdiff_lite.face_sets.write_utkface_split"
                       f"(seed={seed}, n_val={n_val}): stratified by age group x gender x race. Train = every other "
                       "well-formed name.",
        "seed": seed, "n_total": len(names), "n_val": n_val, "val": [str(n) for n in val],
        **({"excluded": dict(sorted(excluded.items()))} if faces is not None else {}),
    }


def write_utkface_split(seed: int = 0, n_val: int = 1000, path: str | Path | None = None) -> Path:
    """Draw the split (:func:`utkface_split`, near-duplicates of validation faces excluded from training, checked on
    the faces at 64 px) and write it to ``path`` (default: the shipped split file)."""
    path = Path(path) if path else settings.ASSETS_DIR / UTKFACE_SPLIT_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    faces, names = load_utkface(64, "all")
    path.write_text(json.dumps(utkface_split(seed, n_val, names, faces), indent=1) + "\n")
    return path


def utkface_split_names(split: str) -> list[str]:
    """The sorted names of ``"val"`` (from the split file alone), ``"train"`` or ``"all"`` (these need the zip).
    ``"train"`` leaves out the validation faces and the ``excluded`` near-duplicates of them."""
    if split not in ("all", "train", "val"):
        raise ValueError(f"split must be 'all', 'train' or 'val', not {split!r}")
    if split == "all":
        return utkface_names()
    spec = json.loads((settings.ASSETS_DIR / UTKFACE_SPLIT_FILE).read_text())
    if split == "val":
        return spec["val"]
    out = set(spec["val"]) | set(spec.get("excluded", ()))
    return [n for n in utkface_names() if n not in out]


# ------------------------------------------------------------------------------------------ UTKFace faces
def _decode(jpeg: bytes, size: int | None) -> np.ndarray:
    img = data.load_image(jpeg)
    if size is None or img.shape[:2] == (size, size):
        return img
    return np.asarray(Image.fromarray(img).resize((size, size), Image.Resampling.LANCZOS))


def _decode_many(zip_path: Path, names: list[str], size: int, what: str) -> np.ndarray:
    out = np.empty((len(names), size, size, 3), dtype=np.uint8)
    with zipfile.ZipFile(zip_path) as z:
        for i, n in enumerate(tqdm(names, desc=f"decoding {what} at {size} px", disable=len(names) <= PROGRESS_MIN)):
            out[i] = _decode(z.read(n), size)
    return out


def _utkface_cache_file(size: int) -> Path:
    st = utkface_path().stat()
    return settings.cache_dir() / "utkface" / f"utkface_{size}px_{st.st_size}_{st.st_mtime_ns}.npz"


def load_utkface(size: int = 64, split: str = "all", limit: int | None = None) -> tuple[np.ndarray, list[str]]:
    """UTKFace's well-formed faces of ``split`` ("all", "train", "val"), resized with Lanczos
    → (uint8 N×size×size×3, names), in name order.

    The whole set at ``size`` is decoded once and cached (see the module docstring); with a ``limit`` and no cache
    yet, only the first ``limit`` faces are decoded (and nothing is cached)."""
    if size < data.MIN_SIDE:
        raise ValueError(f"size must be at least {data.MIN_SIDE}, got {size}")
    wanted = utkface_split_names(split)
    cache = _utkface_cache_file(size)
    if limit is not None and not cache.exists():
        wanted = wanted[:limit]
        return _decode_many(utkface_path(), wanted, size, "UTKFace"), wanted
    if cache.exists():
        with np.load(cache) as z:
            images, names = z["images"], [str(n) for n in z["names"]]
    else:
        names = utkface_names()
        images = _decode_many(utkface_path(), names, size, "UTKFace")
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(cache.stem + f".{os.getpid()}.tmp.npz")
        np.savez(tmp, images=images, names=np.array(names))
        os.replace(tmp, cache)  # whole or not at all, even if two processes race
    if len(wanted) != len(names):
        index = {n: i for i, n in enumerate(names)}
        missing = [n for n in wanted if n not in index]
        if missing:
            raise data.DataUnavailable(f"{len(missing)} faces of the {split!r} split are not in {UTKFACE_ZIP} "
                                       f"(first: {missing[0]}); the split file does not belong to this zip")
        images = images[[index[n] for n in wanted]]
    wanted = wanted[:limit] if limit is not None else wanted
    return images[: len(wanted)], wanted


# ------------------------------------------------------------------------------------------ CelebA identity
class ZipImages(Mapping):
    """A read-only dict ``file name → uint8 H×W×3`` over the JPEGs of a zip, each decoded when it is looked up
    (resized to ``size``×``size`` with Lanczos when ``size`` is given). Use it in a ``with`` block, or ``close()``."""

    def __init__(self, path: str | Path, size: int | None = None):
        self.path, self.size = Path(path), size
        self._zip = zipfile.ZipFile(self.path)
        self._names = [n for n in self._zip.namelist() if not n.endswith("/")]
        self._members = set(self._names)

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._members:
            raise KeyError(f"{name} is not in {self.path.name}")
        return _decode(self._zip.read(name), self.size)

    def __iter__(self):
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def close(self) -> None:
        self._zip.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


VALIDATION_SETS = ("shared", "utkface")  # held-out faces a benchmark can measure on (validation_faces)


def validation_faces(which: str = "shared", n: int | None = None, size: int = 64) -> np.ndarray:
    """The first ``n`` faces of a validation split never trained on: ``"shared"`` (the shared faces' fixed split,
    near-duplicates of training faces left out: 129) or ``"utkface"`` (UTKFace's 1,000-face split). Choose a
    setting on one and report it on the other, so that the choice is not fitted to the faces it is reported on."""
    if which == "shared":
        return data.load_faces("shared", size, split="val", limit=n)
    if which == "utkface":
        return load_utkface(size, split="val", limit=n)[0]
    raise ValueError(f"validation faces: choose from {', '.join(VALIDATION_SETS)}, not {which!r}")


def load_celeba_identity(size: int | None = None) -> ZipImages:
    """The 5,996 CelebA identity crops as a lazy dict ``"000093.jpg" → uint8 160×160×3`` (or size×size)."""
    return ZipImages(celeba_identity_dir() / CELEBA_ZIP, size)


def read_identities(path: str | Path | None = None) -> dict[str, int]:
    """``identities.txt`` (a header line, then ``image identity`` per line) → ``{"000093.jpg": 7399, ...}``."""
    path = Path(path) if path else celeba_identity_dir() / "identities.txt"
    out = {}
    for i, line in enumerate(path.read_text().splitlines()[1:], start=2):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2 or not parts[1].isdigit():
            raise ValueError(f"{path.name}, line {i}: expected 'image identity', got {line!r}")
        out[parts[0]] = int(parts[1])
    return out


# ------------------------------------------------------------------------------------------ pairs files
@dataclass(eq=False)
class PairsFile:
    """A verification protocol: pair i compares photos ``a[i]`` and ``b[i]`` (names relative to ``image_dir``),
    ``same[i]`` says whether they show one person, ``fold[i]`` is its fold (0-based)."""

    a: list[str]
    b: list[str]
    same: np.ndarray  # bool
    fold: np.ndarray  # int
    n_folds: int
    per_fold: int  # pairs of each kind per fold
    image_dir: Path | None = None  # a folder or a zip of the photos
    _zip: zipfile.ZipFile | None = field(default=None, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.a)

    def photos(self) -> list[str]:
        """Every photo the pairs name, once each, in order of first appearance."""
        return list(dict.fromkeys(n for pair in zip(self.a, self.b) for n in pair))

    def load(self, name: str) -> np.ndarray:
        """One photo as uint8 H×W×3, from ``image_dir`` (a folder or a zip)."""
        if self.image_dir is None:
            raise data.DataUnavailable("this pairs file has no image_dir: pass read_pairs(path, image_dir=...)")
        if self.image_dir.suffix.lower() == ".zip":
            if self._zip is None:
                self._zip = zipfile.ZipFile(self.image_dir)
            try:
                return data.load_image(self._zip.read(name))
            except KeyError:
                raise data.ImageError(f"{name} is not in {self.image_dir.name}") from None
        return data.load_image(self.image_dir / name)

    def subset(self, folds, per_fold: int | None = None) -> "PairsFile":
        """Only the pairs of ``folds`` (e.g. ``range(2)`` for a quick look), renumbered 0, 1, ...; with ``per_fold``,
        only the first ``per_fold`` same-person and first ``per_fold`` different-person pairs of each."""
        folds = sorted(set(int(f) for f in folds))
        per_fold = self.per_fold if per_fold is None else min(int(per_fold), self.per_fold)
        position = np.arange(len(self.a)) % (2 * self.per_fold)  # place within its fold: same pairs, then different
        first = (position < per_fold) | ((position >= self.per_fold) & (position < self.per_fold + per_fold))
        keep = np.flatnonzero(np.isin(self.fold, folds) & first)
        renumber = {f: i for i, f in enumerate(folds)}
        return PairsFile([self.a[i] for i in keep], [self.b[i] for i in keep], self.same[keep],
                         np.array([renumber[int(f)] for f in self.fold[keep]], dtype=np.int64),
                         len(folds), per_fold, self.image_dir)


def _lfw_photo(name: str, number: str, where: str) -> str:
    if not number.isdigit() or int(number) < 1:
        raise ValueError(f"{where}: photo number {number!r} must be a whole number from 1")
    return f"{name}/{name}_{int(number):04d}.jpg"


def _parse_pair(parts: list[str], where: str) -> tuple[str, str, bool | None]:
    """One line in any layout → (photo a, photo b, same person?)."""
    if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit() and not parts[0].isdigit():
        return _lfw_photo(parts[0], parts[1], where), _lfw_photo(parts[0], parts[2], where), True  # LFW: name i j
    if len(parts) == 4:
        return _lfw_photo(parts[0], parts[1], where), _lfw_photo(parts[2], parts[3], where), False  # name1 i name2 j
    if len(parts) == 3 and parts[2] in ("0", "1"):
        return parts[0], parts[1], parts[2] == "1"  # this project's: a.jpg b.jpg 1|0
    raise ValueError(f"{where}: expected 'a.jpg b.jpg 1|0', 'name i j' or 'name1 i name2 j', got {' '.join(parts)!r}")


def read_pairs(path: str | Path, image_dir: str | Path | None = None) -> PairsFile:
    """Read a pairs file in this project's layout (``a.jpg b.jpg 1|0``) or LFW's (``name i j`` for the same person,
    meaning ``name/name_000i.jpg`` and ``name/name_000j.jpg``; ``name1 i name2 j`` for different people).

    The first line is ``folds per_fold`` (LFW's ``10 300``; a single number n means one fold of n). Then come the
    folds in order, each ``per_fold`` same-person pairs and then ``per_fold`` different-person pairs. Blank lines
    are ignored; anything else that does not fit raises ValueError naming the line. ``image_dir``: the folder or
    zip holding the photos (default: :func:`find_photos` beside the pairs file: its folder, a subfolder such as
    LFW's ``lfw/``, or a zip there, whichever holds the first photo).
    """
    path = Path(path)
    lines = [(i, line.split()) for i, line in enumerate(path.read_text().splitlines(), start=1) if line.strip()]
    if not lines:
        raise ValueError(f"{path.name} is empty")
    head_no, head = lines[0]
    if not (1 <= len(head) <= 2 and all(p.isdigit() and int(p) > 0 for p in head)):
        raise ValueError(f"{path.name}, line {head_no}: expected the header 'folds pairs_per_fold' (e.g. '10 300'), "
                         f"got {' '.join(head)!r}")
    n_folds, per_fold = (1, int(head[0])) if len(head) == 1 else (int(head[0]), int(head[1]))
    rows = lines[1:]
    if len(rows) != 2 * n_folds * per_fold:
        raise ValueError(f"{path.name}: the header promises {n_folds} folds × {per_fold} same + {per_fold} different "
                         f"= {2 * n_folds * per_fold} pairs, but {len(rows)} pair lines follow")
    a, b, same, fold = [], [], [], []
    for k, (no, parts) in enumerate(rows):
        where = f"{path.name}, line {no}"
        x, y, is_same = _parse_pair(parts, where)
        expected = k % (2 * per_fold) < per_fold
        if is_same != expected:
            kind = ("same", "different")
            raise ValueError(f"{where}: a {kind[not is_same]}-person pair where fold {k // (2 * per_fold) + 1}'s "
                             f"{kind[not expected]}-person pairs belong")
        a.append(x)
        b.append(y)
        same.append(is_same)
        fold.append(k // (2 * per_fold))
    image_dir = Path(image_dir) if image_dir is not None else find_photos(path.parent, a[0])
    return PairsFile(a, b, np.array(same, dtype=bool), np.array(fold, dtype=np.int64), n_folds, per_fold, image_dir)


def find_photos(folder: Path, photo: str) -> Path:
    """Where ``photo`` (a name from a pairs file) is, beside the pairs file: ``folder`` itself, one of its subfolders
    (LFW unpacks to ``lfw/`` or ``lfw-deepfunneled/`` next to its ``pairs.txt``) or a zip in it; ``folder`` when
    none holds it (loading a photo then says which is missing)."""
    folder = Path(folder)
    if (folder / photo).is_file():
        return folder
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []:
        if (sub / photo).is_file():
            return sub
    for z in sorted(folder.glob("*.zip")) if folder.is_dir() else []:
        try:
            with zipfile.ZipFile(z) as zf:
                if photo in zf.namelist():
                    return z
        except zipfile.BadZipFile:
            continue
    return folder


def celeba_pairs() -> PairsFile:
    """The CelebA identity protocol (``pairs.txt``), its photos read from ``celeba_identity_160.zip``."""
    folder = celeba_identity_dir()
    return read_pairs(folder / "pairs.txt", image_dir=folder / CELEBA_ZIP)
