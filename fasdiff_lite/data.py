"""Faces in, tensors out: the one path every entry point uses to turn pixels into model input.

    any input ──load_image──▶ uint8 H×W×3 ──face_crop──▶ uint8 N×N×3 ──to_tensor──▶ float 1×3×N×N in [0, 1]
                                                                      ◀──to_image──

``load_image`` accepts a path, raw file bytes, a PIL image, a numpy array or a torch tensor, and converts
grayscale, RGBA (composited over white), palette, 16-bit and float images to 8-bit RGB. Anything it
cannot make sense of raises :class:`ImageError` with a message naming the problem.

``load_faces`` gives a batch of faces from one of several sources:

- ``"samples"``: public-domain portraits shipped in ``fasdiff_lite/assets/samples`` (always available, offline);
- ``"shared"``: the 830 faces in ``../shared/faces/faces_color.npz`` (when that folder exists), with the
  project's fixed train/validation split (``split="train" | "val" | "all"``);
- a folder of image files, or an ``.npz`` holding a uint8 N×H×W×3 array;
- ``"hf:<dataset id>"``: a face set on the Hugging Face hub (e.g. ``"hf:korexyz/celeba-hq-256x256"``), read
  straight from the hub's files with ``huggingface_hub`` (only the shards the ``limit`` needs; parquet shards need
  ``pyarrow``, which Colab has), or from the local Hugging Face cache when the hub cannot be reached;
  ``split="train"`` / ``"val"`` pick the hub's train / validation (or test) split.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

from . import settings

# huggingface_hub (network calls) and pyarrow (optional: parquet shards) are imported only where a hub face set is
# read or written.

SIZES = (64, 128, 256, 512)
MIN_SIDE = 8  # smaller than this is not an image of a face
MAX_PIXELS = 50_000_000  # more pixels than this are refused, from the file's header before it is decoded
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif", ".avif", ".ppm"}
SPLIT_FILE = "splits/shared_faces_split.json"


class ImageError(ValueError):
    """An input that cannot be turned into an RGB face image; the message says why."""


class DataUnavailable(RuntimeError):
    """A face source that is not reachable here (no ../shared folder, no network, missing package)."""


# ----------------------------------------------------------------------------------------- one image
def load_image(src) -> np.ndarray:
    """Any image-like input → uint8 array H×W×3 (RGB)."""
    if isinstance(src, (str, Path)):
        path = Path(src)
        if not path.exists():
            raise ImageError(f"{path}: no such file")
        if path.is_dir():
            raise ImageError(f"{path}: is a folder, not an image file")
        try:  # a file object, not the path: Pillow maps the pixels of a path (mmap), which skips a TIFF's orientation
            f = open(path, "rb")
        except OSError as e:
            raise ImageError(f"{path}: cannot be read ({e})") from None
        with f:
            return _decode(lambda: Image.open(f), f"{path}: ", f"{path}: not a readable image file")
    if isinstance(src, (bytes, bytearray, memoryview)):
        return _decode(lambda: Image.open(io.BytesIO(bytes(src))), "", "bytes are not a readable image")
    if isinstance(src, Image.Image):
        return _decode(lambda: src, "", "the PIL image cannot be read", close=False)
    if isinstance(src, torch.Tensor):
        t = src.detach().cpu()
        if t.ndim == 4 and t.shape[0] == 1:
            t = t[0]
        if t.ndim == 3 and t.shape[0] in (1, 3, 4):
            t = t.permute(1, 2, 0)
        return _array_to_rgb(t.float().numpy() if t.is_floating_point() else t.numpy())
    if isinstance(src, np.ndarray):
        return _array_to_rgb(src)
    raise ImageError(f"cannot read an image from a {type(src).__name__}; give a path, bytes, PIL image, array or tensor")


def _decode(open_image, where: str, unreadable: str, close: bool = True) -> np.ndarray:
    """Open, check the declared size (a small file can declare a huge image: refused unread), decode, convert.
    Pillow's decoders raise many kinds of exception on broken files (OSError, SyntaxError, ValueError, RuntimeError,
    struct.error, EOFError …; its own fuzzers catch ``Exception``): each becomes one :class:`ImageError`."""
    try:
        im = open_image()
        try:
            _check_dims(*im.size, where=where)
            im.load()
            return _pil_to_rgb(im)
        finally:
            if close:
                im.close()
    except ImageError:
        raise
    except Exception as e:  # noqa: BLE001 - a broken file, whatever Pillow calls it
        raise ImageError(f"{unreadable} ({type(e).__name__}: {e})") from None


def _pil_to_rgb(im: Image.Image) -> np.ndarray:
    im = ImageOps.exif_transpose(im) or im
    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        return _array_to_rgb(np.asarray(im))
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        im = im.convert("RGBA")
        background = Image.new("RGBA", im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(background, im)
    return _check_size(np.asarray(im.convert("RGB")))


def _array_to_rgb(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    if a.ndim == 2:
        a = np.stack([a] * 3, axis=-1)
    if a.ndim != 3 or a.shape[-1] not in (3, 4):
        raise ImageError(f"expected an image array H×W, H×W×3 or H×W×4, got shape {a.shape}")
    _check_dims(a.shape[1], a.shape[0])  # before the values are read: an empty array has no min or max
    if a.dtype == np.bool_:
        a = a.astype(np.uint8) * 255
    elif a.dtype == np.uint16:
        a = (a.astype(np.float32) / 257.0).round().astype(np.uint8)
    elif np.issubdtype(a.dtype, np.floating):
        if not np.isfinite(a).all():
            raise ImageError("image array holds NaN or infinite values")
        lo, hi = float(a.min()), float(a.max())
        if lo < -1e-3 or hi > 1 + 1e-3:
            raise ImageError(f"float image values must lie in [0, 1], got [{lo:.3g}, {hi:.3g}]")
        a = (np.clip(a, 0, 1) * 255).round().astype(np.uint8)
    elif np.issubdtype(a.dtype, np.integer) and a.dtype != np.uint8:
        lo, hi = int(a.min()), int(a.max())
        if lo < 0 or hi > 255:
            raise ImageError(f"integer image values must lie in [0, 255] (or use uint16), got [{lo}, {hi}]")
        a = a.astype(np.uint8)
    elif a.dtype != np.uint8:
        raise ImageError(f"unsupported image dtype {a.dtype}")
    if a.shape[-1] == 4:
        alpha = a[..., 3:].astype(np.float32) / 255.0
        a = (a[..., :3] * alpha + 255.0 * (1 - alpha)).round().astype(np.uint8)
    return _check_size(np.ascontiguousarray(a))


def _check_dims(w: int, h: int, where: str = "") -> None:
    if min(h, w) < MIN_SIDE:
        raise ImageError(f"{where}image is {w}×{h} pixels; a face needs at least {MIN_SIDE}×{MIN_SIDE}")
    if h * w > MAX_PIXELS:
        raise ImageError(f"{where}image is {w}×{h} = {h * w / 1e6:.0f} MP; the limit is {MAX_PIXELS / 1e6:.0f} MP")


def _check_size(a: np.ndarray) -> np.ndarray:
    _check_dims(a.shape[1], a.shape[0])
    return a


def face_crop(img, size: int | None = 64, box: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """Square crop around the face, resized to ``size``×``size`` (Lanczos).

    ``box`` = (left, top, right, bottom) of the face if known (e.g. from a detector); the crop is the
    square centred on it, 1.6× its larger side, clipped to the image. Without a box the centre square
    is taken (the shipped and shared faces are already roughly centred). ``size=None`` keeps the side.
    """
    a = load_image(img)
    h, w = a.shape[:2]
    if box is None:
        side = min(h, w)
        cx, cy = w / 2, h / 2
    else:
        l, t, r, b = box
        side = min(int(round(1.6 * max(r - l, b - t))), h, w)
        cx, cy = (l + r) / 2, (t + b) / 2
    left = int(round(min(max(cx - side / 2, 0), w - side)))
    top = int(round(min(max(cy - side / 2, 0), h - side)))
    im = Image.fromarray(a[top : top + side, left : left + side])
    if size is not None and side != size:
        if size < MIN_SIDE:
            raise ImageError(f"crop size {size} is below the minimum {MIN_SIDE}")
        im = im.resize((size, size), Image.Resampling.LANCZOS)
    return np.asarray(im)


def to_tensor(img) -> torch.Tensor:
    """uint8 H×W×3 (or N×H×W×3), or anything :func:`load_image` reads → float tensor 1×3×H×W (or N×3×H×W) in
    [0, 1]. A float tensor (1×)3×H×W or N×3×H×W is taken as it is (already model input)."""
    if isinstance(img, torch.Tensor) and img.is_floating_point() and img.ndim in (3, 4) and img.shape[-3] == 3:
        t = img.detach().float()
        return t if t.ndim == 4 else t[None]
    a = np.asarray(img)
    if a.ndim == 3:
        a = a[None]
    if a.ndim != 4 or a.shape[-1] != 3 or a.dtype != np.uint8:
        a = np.stack([load_image(x) for x in a]) if a.ndim == 4 else load_image(img)[None]
    return torch.from_numpy(np.array(a, dtype=np.uint8, copy=True)).permute(0, 3, 1, 2).float().div(255.0)


def to_image(t: torch.Tensor) -> np.ndarray:
    """float tensor (1×)3×H×W in [0, 1] → uint8 H×W×3; N×3×H×W → N×H×W×3."""
    t = t.detach().float().clamp(0, 1).mul(255).round().to(torch.uint8).cpu()
    if t.ndim == 4 and t.shape[0] == 1:
        t = t[0]
    return (t.permute(1, 2, 0) if t.ndim == 3 else t.permute(0, 2, 3, 1)).numpy()


def prepare(src, size: int | None = 64) -> torch.Tensor:
    """The one path for pixels: any input → centre face crop → 1×3×size×size tensor in [0, 1]."""
    return to_tensor(face_crop(src, size))


# ---------------------------------------------------------------------------------------- many faces
def load_faces(source: str | Path = "auto", size: int = 64, split: str = "all", limit: int | None = None,
               crop=None) -> np.ndarray:
    """A batch of faces as uint8 N×size×size×3.

    source: ``"auto"`` (shared faces if present, else the samples), ``"shared"``, ``"samples"``, a
    folder, an ``.npz`` file, or ``"hf:<dataset id>"``. split: ``"train"``, ``"val"`` or ``"all"``
    (only the shared faces have a split). limit: keep the first ``limit`` faces. crop: for a folder of photos,
    ``crop(path, size) -> face`` (default :func:`face_crop`, the centre square; ``faces.prepare`` aligns the face);
    a photo it refuses with an ``ImageError`` is skipped with a warning.
    """
    if split not in ("train", "val", "all"):
        raise ValueError(f"split must be 'train', 'val' or 'all', not {split!r}")
    src = str(source)
    if src == "auto":
        src = "shared" if settings.shared_dir() else "samples"
    if src == "shared":
        faces = _shared_faces(size, split)
    elif src == "samples":
        faces = sample_faces(size)
    elif src.startswith("hf:"):
        faces = _hf_faces(src[3:], size, limit or 256, split)
    else:
        path = Path(src)
        if not path.exists():
            raise DataUnavailable(f"{path}: no such file or folder")
        faces = _npz_faces(path, size) if path.suffix == ".npz" else _folder_faces(path, size, crop or face_crop)
    if split != "all" and src != "shared" and not src.startswith("hf:"):
        raise ValueError("only the shared faces and hub face sets have a train/val split; use split='all' for other sources")
    return faces[:limit] if limit else faces


def sample_paths() -> list[Path]:
    """The files of the public-domain portraits shipped in ``fasdiff_lite/assets/samples`` (see its README), sorted."""
    folder = settings.ASSETS_DIR / "samples"
    return sorted(p for p in folder.glob("*") if p.suffix.lower() in IMAGE_SUFFIXES)


def sample_faces(size: int = 64) -> np.ndarray:
    """The shipped sample portraits (:func:`sample_paths`), cropped to size."""
    files = sample_paths()
    if not files:
        raise DataUnavailable(f"no sample faces found in {settings.ASSETS_DIR / 'samples'}")
    return np.stack([face_crop(p, size) for p in files])


def sample_names() -> list[str]:
    return [p.stem for p in sample_paths()]


def shared_faces_path() -> Path:
    root = settings.shared_dir()
    if root is None or not (root / "faces" / "faces_color.npz").exists():
        raise DataUnavailable(
            "the shared faces (../shared/faces/faces_color.npz) are not here; use source='samples', "
            "a folder of your own face photos, an .npz, or 'hf:<dataset>' on Colab"
        )
    return root / "faces" / "faces_color.npz"


def split_indices(split: str) -> np.ndarray:
    """Indices into the shared faces for the project's fixed split (``fasdiff_lite/assets/splits``): ``"val"``, its
    validation faces; ``"train"``, every other face but the ``excluded`` near-duplicates of validation faces;
    ``"all"``, all 830."""
    with np.load(shared_faces_path()) as z:
        names = [str(n) for n in z["names"]]
    spec = json.loads((settings.ASSETS_DIR / SPLIT_FILE).read_text())
    val, excluded = set(spec["val"]), set(spec.get("excluded", ()))  # excluded: duplicates, in neither split
    missing = (val | excluded) - set(names)
    if missing:
        raise DataUnavailable(f"{len(missing)} faces named in {SPLIT_FILE} are not in the shared set")
    if split == "all":
        return np.arange(len(names))
    keep = [i for i, n in enumerate(names) if n not in excluded and (n in val) == (split == "val")]
    return np.array(keep, dtype=np.int64)


def _shared_faces(size: int, split: str) -> np.ndarray:
    with np.load(shared_faces_path()) as z:
        key = "images" if size <= 64 else "images_128"
        images = z[key]
    images = images[split_indices(split)]
    if images.shape[1] == size:
        return images
    return np.stack([face_crop(a, size) for a in images])


def _npz_faces(path: Path, size: int) -> np.ndarray:
    with np.load(path, allow_pickle=False) as z:
        key = "images" if "images" in z.files else next(
            (k for k in z.files if z[k].ndim == 4 and z[k].shape[-1] in (1, 3, 4)), None
        )
        if key is None:
            raise ImageError(f"{path}: no N×H×W×3 image array (keys: {z.files})")
        arr = z[key]
    return np.stack([face_crop(a, size) for a in arr])


def _folder_faces(path: Path, size: int, crop=face_crop) -> np.ndarray:
    files = sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DataUnavailable(f"{path}: no image files ({', '.join(sorted(IMAGE_SUFFIXES))})")
    faces, skipped = [], []
    for p in files:
        try:
            faces.append(crop(p, size))
        except ImageError as e:
            skipped.append(str(e))
    if skipped:
        warnings.warn(f"skipped {len(skipped)} unreadable file(s), first: {skipped[0]}", stacklevel=3)
    if not faces:
        raise DataUnavailable(f"{path}: none of the {len(files)} image files could be read (first: {skipped[0]})")
    return np.stack(faces)


HF_SPLITS = {"train": ("train",), "all": ("train",), "val": ("validation", "valid", "val", "test")}  # ours -> the hub's
HF_DATA_SUFFIXES = {".parquet"} | IMAGE_SUFFIXES


def _hf_faces(dataset_id: str, size: int, limit: int, split: str = "all") -> np.ndarray:
    """The first ``limit`` faces of a hub dataset's split, cropped to ``size``: the split's shards are read in order
    (parquet with an image column, or image files) and only as many are downloaded as the faces need."""
    root, files = _hf_split_files(dataset_id, split)
    faces: list[np.ndarray] = []
    for name in files:
        path = root(name)
        images = _parquet_images(path) if name.endswith(".parquet") else [path]
        for img in images:
            faces.append(face_crop(img, size))
            if len(faces) >= limit:
                return np.stack(faces)
    if not faces:
        raise DataUnavailable(f"hf:{dataset_id}: the {split!r} split has no images")
    return np.stack(faces)


def _hf_split_files(dataset_id: str, split: str):
    """(a function repo path -> local file, the split's data files in order) from the hub, or from the local
    Hugging Face cache when the hub cannot be reached (``HF_HUB_OFFLINE``, no network) or lacks the id."""
    from huggingface_hub import HfApi, hf_hub_download, snapshot_download

    cache = os.environ.get("HF_HUB_CACHE") or None  # read now: notebooks may point it at a folder of their own
    offline = os.environ.get("HF_HUB_OFFLINE", "0").strip().lower() not in ("0", "", "false", "no", "off")
    names, snapshot, why = None, None, None
    if not offline:
        try:
            info = HfApi().dataset_info(dataset_id, timeout=10)  # one request, no retries: fails fast offline
            names = [f.rfilename for f in (info.siblings or [])] or HfApi().list_repo_files(dataset_id, repo_type="dataset")
        except Exception as e:  # noqa: BLE001 - not found, gated, no network: look in the local cache next
            why = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
    if names is None:
        try:
            snapshot = Path(snapshot_download(dataset_id, repo_type="dataset", cache_dir=cache, local_files_only=True))
        except Exception:  # noqa: BLE001
            raise DataUnavailable(
                f"could not load the face set {dataset_id!r} from the Hugging Face hub"
                + (f" ({why})" if why else " (HF_HUB_OFFLINE is set)")
                + " and it is not in the local cache. Check the id (e.g. hf:korexyz/celeba-hq-256x256), run where the "
                "hub can be reached, or use a folder of face photos or an .npz instead."
            ) from None
        names = [str(p.relative_to(snapshot)) for p in sorted(snapshot.rglob("*")) if p.is_file()]
    data_files = sorted(n for n in names if Path(n).suffix.lower() in HF_DATA_SUFFIXES)
    chosen = []
    for hub_split in HF_SPLITS.get(split, (split,)):
        chosen = [n for n in data_files if _in_split(n, hub_split)]
        if chosen:
            break
    if not chosen and split in ("train", "all") and not any(_in_split(n, s) for s in HF_SPLITS["val"] for n in data_files):
        chosen = data_files  # a set without splits: all of it is "train"
    if not chosen:
        raise DataUnavailable(f"hf:{dataset_id} has no {split!r} split among its {len(data_files)} data files "
                              f"(it has: {', '.join(sorted({Path(n).parts[0] for n in data_files})) or 'none'})")
    if snapshot is not None:
        return (lambda n: snapshot / n), chosen
    return (lambda n: Path(hf_hub_download(dataset_id, n, repo_type="dataset", cache_dir=cache))), chosen


def _in_split(name: str, split: str) -> bool:
    """True when a repo path belongs to ``split``: a folder of that name, or a file named ``<split>-…``/``<split>_…``."""
    parts = Path(name).parts
    stem = Path(name).name.lower()
    return split in (p.lower() for p in parts[:-1]) or stem.startswith((f"{split}-", f"{split}_", f"{split}."))


def _parquet_images(path: Path):
    """The images of a parquet shard in the hub's format (a column of {"bytes", "path"} structs), one at a time."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise DataUnavailable("this hub face set is stored as parquet, which needs `pip install pyarrow`") from None
    f = pq.ParquetFile(path)
    cols = f.schema_arrow.names
    col = next((c for c in cols if c.lower() in ("image", "img", "images")), None) or next(
        (c for c in cols if "bytes" in str(f.schema_arrow.field(c).type)), None)
    if col is None:
        raise DataUnavailable(f"{path.name}: no image column among {cols}")
    for batch in f.iter_batches(batch_size=64, columns=[col]):
        for cell in batch.column(0).to_pylist():
            yield cell["bytes"] if isinstance(cell, dict) else cell


def write_hub_dataset(dataset_id: str, splits: dict[str, np.ndarray], cache_dir: str | Path | None = None,
                      fmt: str = "auto") -> Path:
    """Write faces (``{"train": N×H×W×3 uint8, "validation": ...}``) as a snapshot of the hub dataset
    ``dataset_id`` in a Hugging Face cache folder (``cache_dir``, default ``$HF_HUB_CACHE``), in the hub's own
    layout: ``data/<split>-00000-of-00001.parquet`` (``fmt="parquet"``, or ``"auto"`` when pyarrow is here) or
    ``<split>/<i>.png`` files. ``load_faces("hf:<dataset_id>")`` then reads it offline by the same code that reads
    the hub: for FAST mode and tests, or to carry a face set to a machine without network. Returns the snapshot."""
    cache = Path(cache_dir or os.environ.get("HF_HUB_CACHE") or Path.home() / ".cache" / "huggingface" / "hub")
    repo = cache / ("datasets--" + dataset_id.replace("/", "--"))
    revision = hashlib.sha1(repr({k: (v.shape, v[:4].tobytes()[:4096]) for k, v in splits.items()}).encode()).hexdigest()
    snapshot = repo / "snapshots" / revision
    if fmt == "auto":
        try:
            import pyarrow  # noqa: F401
            fmt = "parquet"
        except ImportError:
            fmt = "png"
    for split, faces in splits.items():
        pngs = []
        for face in np.asarray(faces):
            buf = io.BytesIO()
            Image.fromarray(np.asarray(face, dtype=np.uint8)).save(buf, format="PNG")
            pngs.append(buf.getvalue())
        if fmt == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            (snapshot / "data").mkdir(parents=True, exist_ok=True)
            table = pa.table({"image": [{"bytes": b, "path": f"{i}.png"} for i, b in enumerate(pngs)]})
            pq.write_table(table, snapshot / "data" / f"{split}-00000-of-00001.parquet")
        else:
            (snapshot / split).mkdir(parents=True, exist_ok=True)
            for i, b in enumerate(pngs):
                (snapshot / split / f"{i:05d}.png").write_bytes(b)
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(revision)
    return snapshot


# ------------------------------------------------------------------------------------ training data
class FaceDataset(torch.utils.data.Dataset):
    """Faces as training tensors with light augmentation: horizontal flip and a small scale/shift jitter.

    The shared set is small (830 faces), so the shipped models are trained with this augmentation.
    """

    def __init__(self, faces: np.ndarray, augment: bool = True, jitter: float = 0.06):
        self.faces = torch.from_numpy(np.ascontiguousarray(faces)).permute(0, 3, 1, 2).contiguous()
        self.augment, self.jitter = augment, jitter

    def __len__(self) -> int:
        return len(self.faces)

    def __getitem__(self, i: int) -> torch.Tensor:
        x = self.faces[i].float() / 255.0
        if not self.augment:
            return x
        if torch.rand(()) < 0.5:
            x = x.flip(-1)
        if self.jitter > 0:
            n = x.shape[-1]
            scale = 1 + (torch.rand(()) * 2 - 1) * self.jitter
            shift = (torch.rand(2) * 2 - 1) * self.jitter
            theta = torch.tensor([[1 / scale, 0, shift[0]], [0, 1 / scale, shift[1]]], dtype=torch.float32)
            grid = torch.nn.functional.affine_grid(theta[None], (1, 3, n, n), align_corners=False)
            x = torch.nn.functional.grid_sample(x[None], grid, padding_mode="reflection", align_corners=False)[0]
        return x


def augment_batch(x: torch.Tensor, size: int = 64, min_crop: float = 0.8, max_shift: float = 0.06,
                  colour: float = 0.08, generator: torch.Generator | None = None) -> torch.Tensor:
    """Random views of a batch of faces, on whatever device the batch is (the GPU when training there).

    x: N×3×S×S in [0, 1] or uint8, usually the 128-px copies of the shared faces. For each face:
    a random square crop of side ``c·S`` (c uniform in [min_crop, 1], so the face appears at 100–125 %
    of its usual scale), shifted by up to ``max_shift`` of the side, a horizontal flip half of the time,
    then an antialiased resize to ``size`` (the same filter family that made the 64-px faces from the
    128-px ones), and a mild colour jitter (brightness, contrast, saturation each ×[1−colour, 1+colour]).
    With ``min_crop=1, max_shift=0, colour=0`` and no flip it reduces to the plain resize.
    """
    if x.ndim != 4 or x.shape[1] != 3:
        raise ValueError(f"expected a batch N×3×H×W, got {tuple(x.shape)}")
    if x.dtype == torch.uint8:
        x = x.float() / 255.0
    n, dev = x.shape[0], x.device

    def rand(*shape):
        return torch.rand(*shape, generator=generator, device="cpu").to(dev)

    c = min_crop + (1 - min_crop) * rand(n)
    flip = torch.where(rand(n) < 0.5, -1.0, 1.0)
    shift = (rand(n, 2) * 2 - 1) * (max_shift + (1 - c[:, None]))  # a smaller crop may move further
    theta = torch.zeros(n, 2, 3, device=dev)
    theta[:, 0, 0], theta[:, 1, 1] = c * flip, c
    theta[:, :, 2] = shift
    grid = torch.nn.functional.affine_grid(theta, (n, 3, x.shape[-2], x.shape[-1]), align_corners=False)
    x = torch.nn.functional.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    if x.shape[-1] != size or x.shape[-2] != size:
        x = torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    if colour > 0:
        b = 1 + (rand(n, 1, 1, 1) * 2 - 1) * colour
        k = 1 + (rand(n, 1, 1, 1) * 2 - 1) * colour
        s = 1 + (rand(n, 1, 1, 1) * 2 - 1) * colour
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        x = (x - mean) * k + mean  # contrast
        grey = x.mean(dim=1, keepdim=True)
        x = (x - grey) * s + grey  # saturation
        x = x * b  # brightness
    return x.clamp(0, 1)
