"""Who loses identity: the machine-vision figures of a codec, face group by face group.

A codec's average identity figures can hide that some faces lose more than others. UTKFace labels each face with
an age, a gender and a race (as its authors labelled them), so the same measurement can be split by group::

    UTKFace validation faces ──codec at rate r──▶ decoded faces
          │                                            │
          └──── dlib descriptors ──────────────────────┘
                identity distance  ‖d(x) − d(x̂)‖  (lower = the same person to the recogniser; 0.6 = dlib's threshold)
                re-id rank-1: is x̂ nearest to its own original among all the validation originals?
                ──▶ mean per age group, gender, race, with a bootstrap 95 % interval over the group's faces

Read the intervals before the means: groups with few faces (UTKFace has few people over 80, or "Others") carry
wide ones. A gap between groups here says where the codec (and the recogniser, which has its own biases) fails
more; it is not a claim about the people in the group.
"""
from __future__ import annotations

import numpy as np
import torch
from tqdm.auto import tqdm

from .. import data
from ..face_sets import utkface_attributes
from . import bootstrap, face_metrics

AGE_BANDS = ((0, 19), (20, 39), (40, 59), (60, 120))  # the age groups a table reports (inclusive years)
BOOTSTRAP = 1000


def group_labels(names: list[str]) -> dict[str, list[str]]:
    """For each UTKFace file name: its ``age`` band (e.g. "20–39"), ``gender`` and ``race`` label."""
    out = {"age": [], "gender": [], "race": []}
    for n in names:
        a = utkface_attributes(n)
        lo, hi = next(band for band in AGE_BANDS if band[0] <= a["age"] <= band[1])
        out["age"].append(f"{lo}–{hi}" if hi < 120 else f"{lo}+")
        out["gender"].append(a["gender"])
        out["race"].append(a["race"])
    return out


def per_face(originals: np.ndarray, decoded: np.ndarray, gallery: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Face by face: ``distance`` (dlib descriptor distance to its own original) and ``reid`` (1 where the decoded
    face's nearest original, among all of ``originals``, is its own). ``gallery``: the originals' descriptors."""
    gallery = face_metrics.descriptors(originals) if gallery is None else gallery
    probes = face_metrics.descriptors(decoded)
    return {"distance": np.linalg.norm(gallery - probes, axis=1), "reid": face_metrics.rank1_hits(gallery, probes)}


def interval(values: np.ndarray, seed: int = 0, draws: int = BOOTSTRAP) -> tuple[float, float]:
    """The bootstrap 95 % interval of the mean of ``values`` (percentiles of ``draws`` resampled means)."""
    values = np.asarray(values, dtype=np.float64)
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), (draws, len(values)))].mean(1)
    return bootstrap.interval(means, float(values.mean()))


def by_group(scores: dict[str, np.ndarray], labels: dict[str, list[str]]) -> list[dict]:
    """One row per (attribute, group): ``attribute``, ``group``, ``n``, and for each score its mean and 95 % interval
    (``distance``, ``distance_ci``, ``reid``, ``reid_ci``), largest groups first within an attribute."""
    rows = []
    for attribute, groups in labels.items():
        groups = np.asarray(groups)
        names, counts = np.unique(groups, return_counts=True)
        for g in names[np.argsort(-counts, kind="stable")] if attribute != "age" else sorted(names, key=_age_key):
            keep = groups == g
            row = {"attribute": attribute, "group": str(g), "n": int(keep.sum())}
            for k, v in scores.items():
                row[k] = float(v[keep].mean())
                row[f"{k}_ci"] = interval(v[keep])
            rows.append(row)
    return rows


def _age_key(band: str) -> int:
    return int(band.replace("+", "–").split("–")[0])


@torch.no_grad()
def measure(model, faces: np.ndarray, names: list[str], rates=(0.1, 0.5), gallery: np.ndarray | None = None,
            progress: bool = True) -> dict[float, list[dict]]:
    """A learned codec (``compress``/``decompress``) on UTKFace ``faces`` at each rate → {rate: :func:`by_group`
    rows}. ``gallery``: the originals' descriptors, when already computed (they are shared by every codec)."""
    labels = group_labels(names)
    gallery = face_metrics.descriptors(faces) if gallery is None else gallery
    out = {}
    for r in rates:
        decoded = np.stack([data.to_image(model.decompress(model.compress(data.to_tensor(f), r)))
                            for f in tqdm(faces, desc=f"coding at rate {r:g}", disable=not progress)])
        out[float(r)] = by_group(per_face(faces, decoded, gallery), labels)
    return out


def format_table(results: dict[str, dict[float, list[dict]]]) -> str:
    """A Markdown table: one line per group, for each codec and rate the identity distance and re-id rank-1 with
    their intervals. ``results``: codec name → :func:`measure`'s output."""
    cols = [(c, r) for c, per_rate in results.items() for r in per_rate]
    head = "| attribute | group | n | " + " | ".join(f"{c} r{r:g}: distance / re-id" for c, r in cols) + " |"
    lines = [head, "|" + "---|" * (3 + len(cols))]
    first = results[cols[0][0]][cols[0][1]]
    for i, row in enumerate(first):
        cells = []
        for c, r in cols:
            x = results[c][r][i]
            d, (dl, dh), q, (ql, qh) = x["distance"], x["distance_ci"], x["reid"], x["reid_ci"]
            cells.append(f"{d:.3f} [{dl:.3f}, {dh:.3f}] / {q:.2f} [{ql:.2f}, {qh:.2f}]")
        lines.append(f"| {row['attribute']} | {row['group']} | {row['n']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
