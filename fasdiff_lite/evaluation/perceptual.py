"""Optional human-vision metrics: LPIPS (a learned perceptual distance) and FID/KID (distances between the
distributions of original and decoded faces).

They need packages the suite does not depend on (``lpips``, ``torchmetrics`` with ``torch-fidelity``) and
network weights downloaded on first use, so they run on Colab and are skipped elsewhere, each with a note
that says what to install: :func:`perceptual_backends` finds what this machine can compute,
:func:`add_perceptual` adds it to an evaluation summary (``fasdiff-lite eval`` does both).
"""
from __future__ import annotations

from collections import defaultdict

import numpy as np
import torch
from tqdm.auto import tqdm

from .. import data


class MetricUnavailable(RuntimeError):
    """An optional metric whose package or network weights are not here (it is skipped, with this message)."""


def _batch(images) -> torch.Tensor:
    return torch.cat([data.to_tensor(im) for im in images])  # N×3×H×W in [0, 1]


def _lpips_backend():
    try:
        import lpips
    except ImportError:
        raise MetricUnavailable("LPIPS skipped: the `lpips` package is not installed (on Colab: pip install lpips; "
                                "it downloads AlexNet weights on first use)") from None
    try:
        net = lpips.LPIPS(net="alex", verbose=False).eval()
    except Exception as e:  # noqa: BLE001 - a failed download comes in many types
        raise MetricUnavailable(f"LPIPS skipped: its AlexNet weights could not be loaded ({type(e).__name__}: {e}); "
                                "they download on first use, which needs the internet") from None

    @torch.no_grad()
    def lpips_fn(originals, decodeds) -> dict:
        return {"lpips": float(net(_batch(originals) * 2 - 1, _batch(decodeds) * 2 - 1).mean())}

    return lpips_fn


def _fid_kid_backend():
    try:
        from torchmetrics.image.fid import FrechetInceptionDistance
        from torchmetrics.image.kid import KernelInceptionDistance
    except ImportError:
        raise MetricUnavailable("FID/KID skipped: `torchmetrics` (with `torch-fidelity`) is not installed (on Colab: "
                                "pip install torchmetrics torch-fidelity; the Inception weights download on first "
                                "use)") from None
    try:
        FrechetInceptionDistance(normalize=True)
    except Exception as e:  # noqa: BLE001
        raise MetricUnavailable(f"FID/KID skipped: the Inception weights could not be loaded ({type(e).__name__}: "
                                f"{e}); they download on first use, which needs the internet") from None

    @torch.no_grad()
    def fid_kid_fn(originals, decodeds) -> dict:
        real, fake = _batch(originals), _batch(decodeds)
        if len(real) < 2:
            return {}
        fid = FrechetInceptionDistance(normalize=True)
        kid = KernelInceptionDistance(subset_size=min(50, len(real)), normalize=True)
        out = {}
        for name, m in (("fid", fid), ("kid", kid)):
            m.update(real, real=True)
            m.update(fake, real=False)
            v = m.compute()
            out[name] = float(v[0] if isinstance(v, tuple) else v)
        return out

    return fid_kid_fn


def perceptual_backends() -> tuple[dict, list[str]]:
    """The distribution/perceptual metrics this machine can compute: ``({name: fn(originals, decodeds) →
    dict}, notes)``. LPIPS (``lpips``) and FID/KID (``torchmetrics``) need packages the suite does not
    depend on and weights downloaded on first use (Colab); where they are missing, the notes say so and
    what to install. Read FID on a few dozen 64-px faces with care: it is strongly biased at small N
    (compare codecs only with each other, on the same faces); KID is unbiased."""
    found, notes = {}, []
    for name, build in (("lpips", _lpips_backend), ("fid/kid", _fid_kid_backend)):
        try:
            found[name] = build()
        except MetricUnavailable as e:
            notes.append(str(e))
    return found, notes


def add_perceptual(summary: list[dict], rows: list[dict], faces: np.ndarray, backends: dict,
                   progress: bool = True) -> list[dict]:
    """Add each backend's metrics (``lpips``, ``fid``, ``kid``) to each (codec, rate) line of a
    :func:`summarize` table, from rows measured with ``keep_images=True`` (see :func:`perceptual_backends`)."""
    groups = defaultdict(list)
    for r in rows:
        groups[(r["codec"], round(r["rate"], 4))].append(r)
    for line in tqdm(summary, desc="perceptual", disable=not (progress and backends)):
        rs = groups[(line["codec"], line["rate"])]
        if not rs or "image" not in rs[0]:
            continue
        for fn in backends.values():
            line.update(fn([faces[r["face"]] for r in rs], [r["image"] for r in rs]))
    return summary
