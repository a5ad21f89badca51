"""Whose detail is it? The diffusion prior's share of a FaSDiff decode, measured by taking the prior's face away.

A FaSDiff decode (``FaSDiffCodec.decode_stages``) is x_fid from the bytes; the prior's few-step face x_gen, steered by
the visual prompt and the LFE; then, in codecs with a fidelity fusion, ``fusion(x_gen, x_fid)``; then the LFE's
low-frequency correction. :func:`without_prior` decodes the same bytes with the prior's face replaced by x_fid (the
fusion and the correction see x_fid where x_gen was; every other part unchanged): what the output loses then is what
the prior added. :func:`pixel_readings` reads two things off the pixels: how much the output moves when the prior's
face is taken away, against how far that face is from x_fid, and whether the detail the decoder adds to x_fid is the
prior's (``hf_cos`` near 1) or its own (near 0). ``benchmarks/prior_share.py`` measures it on the held-out faces with
paired intervals; notebook 07 shows one face.
"""
from __future__ import annotations

from contextlib import contextmanager

import torch
import torch.nn.functional as F

from ..registry import DEFAULT_REALISM


@contextmanager
def without_prior(codec):
    """Inside the block ``codec`` (a FaSDiffCodec) decodes with x_fid where the prior's face x_gen was, in the fusion
    and the low-frequency correction; after it, as before."""
    codec.fuse = lambda x, x_fid, rate, realism=DEFAULT_REALISM: type(codec).fuse(codec, x_fid, x_fid, rate, realism)
    try:
        yield codec
    finally:
        del codec.fuse  # back to the class's method


def high_pass(x: torch.Tensor) -> torch.Tensor:
    """The image minus its 5×5 box blur (replicate padding): the fine detail."""
    return x - F.avg_pool2d(F.pad(x, (2, 2, 2, 2), mode="replicate"), 5, stride=1)


def pixel_readings(stages: list[dict], without: list[torch.Tensor]) -> dict:
    """Over the faces: ``change`` = mean |out − out without the prior|, ``gen_vs_fid`` = mean |x_gen − x_fid| (a
    decoder that passes the prior's face on moves as much as it), and ``hf_cos`` = the mean cosine between
    HP(out − x_fid), the fine detail the decoder adds to x_fid, and HP(x_gen − x_fid), the fine detail the prior's face
    has over x_fid. ``stages``: :meth:`FaSDiffCodec.decode_stages` of each file; ``without``: each file decoded
    inside :func:`without_prior`."""
    out = torch.cat([s["out"] for s in stages])
    x_gen, x_fid = torch.cat([s["x_gen"] for s in stages]), torch.cat([s["x_fid"] for s in stages])
    b = torch.cat(without)
    cos = F.cosine_similarity(high_pass(out - x_fid).flatten(1), high_pass(x_gen - x_fid).flatten(1), dim=1)
    return {"change": float((out - b).abs().mean()), "gen_vs_fid": float((x_gen - x_fid).abs().mean()),
            "hf_cos": float(cos.mean())}
