"""How well the differentiable identity proxy (models/identity.py) follows dlib, on held-out faces and their decodes.

    python benchmarks/identity_proxy.py runs/identity/export          # 150 held-out faces × rates 0, 0.3, 1 (~2 min, 2-core CPU)
    python benchmarks/identity_proxy.py runs/identity28/export --codec runs/f21-idall-export --rates 0.1 0.15
                                                      # on a FaSDiff decoder's faces (4 steps, realism 1): what its id term saw
    python benchmarks/identity_proxy.py runs/identity28/export runs/identity22/export --codec ...
                                                      # several proxies on the same decodes (decoded and described once)
    FASDIFF_FAST=1 python benchmarks/identity_proxy.py runs/identity/export   # 8 faces: a smoke run

The faces are the 150 validation faces of ../shared (never trained on; the samples where the folder is absent),
each compressed to real bytes and decoded by the shipped hf-compressor at each rate (``--codec``: another codec, a
name or a folder; a FaSDiff one decodes with ``--steps`` and ``--realism``: a decoder trained with the identity term
against this proxy shows here whether what it learned to please is what dlib sees). For every (original,
decoded) pair it measures dlib's cosine (``evaluation.face_metrics``, as the evaluation reports it) and the
proxy's cosine (its own centred, unit embedding), and for each rate:

- ``dlib cos`` / ``proxy cos``: the mean cosine of each model;
- ``Pearson r`` / ``Spearman ρ``: how well the proxy's per-pair cosine follows dlib's, face by face (the
  ``all`` row pools every rate, which is what an identity loss sees: from a blurred face to a good one);
- ``proxy≈dlib``: mean cosine between the proxy's embedding of a face and dlib's descriptor of it mapped into the
  proxy's space (``IdentityNet.target``): 1 would be a perfect copy;
- ``rank-1 dlib`` / ``rank-1 proxy``: re-identification (``face_metrics.reid_rank1``): each decoded face against
  the gallery of all originals, by dlib's descriptors and by the proxy's embeddings.

Prints a Markdown table and the number of faces; ``--json`` also writes the numbers.
"""
from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np
import torch
from scipy import stats

from fasdiff_lite import data, settings
from fasdiff_lite.registry import DEFAULT_REALISM, DEFAULT_STEPS
from fasdiff_lite.evaluation import face_metrics as fm
from fasdiff_lite.evaluation import run as evaluate
from fasdiff_lite.models import zoo
from fasdiff_lite.models.identity import IdentityNet


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return (a * b).sum(axis=1)


@torch.no_grad()
def embed(net: IdentityNet, faces: np.ndarray) -> np.ndarray:
    return torch.cat([net(data.to_tensor(faces[i : i + 50])) for i in range(0, len(faces), 50)]).numpy()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("proxy", nargs="*", default=["runs/identity/export"], help="exported IdentityNet folders (a table each)")
    p.add_argument("--rates", type=float, nargs="+", default=[0.0, 0.3, 1.0])
    p.add_argument("--limit", type=int, default=settings.pick(None, 8), help="at most this many faces")
    p.add_argument("--source", default="auto", help="faces (default: the held-out split of ../shared, else samples)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", default=None, help="also write the numbers to this file")
    p.add_argument("--codec", default="hf-compressor", help="the codec whose decodes are compared (a name or a folder)")
    p.add_argument("--steps", type=int, default=DEFAULT_STEPS, help="a FaSDiff codec's sampler steps")
    p.add_argument("--realism", type=float, default=DEFAULT_REALISM, help="a FaSDiff codec's realism")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    t0 = time.time()
    nets = {folder: IdentityNet.from_pretrained(folder) for folder in args.proxy}
    faces, what = evaluate.load_eval_faces(args.source, limit=args.limit)
    codec = zoo.load(args.codec).eval()
    decode = zoo.decode_settings(args.codec, args.steps, args.realism)
    n = len(faces)
    print(f"{what}; proxies {', '.join(f'{k} ({v.n_parameters} parameters)' for k, v in nets.items())}; codec "
          f"{args.codec} {decode or ''}; rates {args.rates}; {platform.processor() or platform.machine()}, torch threads "
          f"{torch.get_num_threads()}")
    d_orig = fm.descriptors(faces)
    decoded = {}  # rate → (decoded faces, dlib's descriptors of them): the same for every proxy
    for rate in args.rates:
        dec = np.stack([data.to_image(codec.decompress(codec.compress(data.to_tensor(f), rate), **decode)) for f in faces])
        decoded[rate] = (dec, fm.descriptors(dec))
    results = {}
    for folder, net in nets.items():
        rows, originals = proxy_rows(net, faces, d_orig, decoded)
        results[folder] = {"originals_proxy_vs_dlib": originals, "rows": rows}
        print(f"\n{folder}: {n} faces; originals: proxy≈dlib {originals:.3f}\n")
        print("| rate | dlib cos | proxy cos | Pearson r | Spearman ρ | proxy≈dlib | rank-1 dlib | rank-1 proxy |")
        print("|---|---|---|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['rate']} | {r['dlib_cos']:.3f} | {r['proxy_cos']:.3f} | {r['pearson']:.3f} | {r['spearman']:.3f} "
                  f"| {r['proxy_vs_dlib']:.3f} | {r['rank1_dlib']:.3f} | {r['rank1_proxy']:.3f} |")
    print(f"\n(n = {n} faces per rate, {n * len(args.rates)} pairs in 'all'; its proxy≈dlib and rank-1 are the mean "
          f"over rates; {time.time() - t0:.0f} s)")
    if args.json:
        one = results[args.proxy[0]] if len(args.proxy) == 1 else {}
        with open(args.json, "w") as f:
            json.dump({"n_faces": n, "faces": what, "proxy": args.proxy[0] if len(args.proxy) == 1 else args.proxy,
                       "codec": args.codec, "decode": decode, **one,
                       **({"proxies": results} if len(args.proxy) > 1 else {})}, f, indent=1)


def proxy_rows(net: IdentityNet, faces: np.ndarray, d_orig: np.ndarray, decoded: dict) -> tuple[list[dict], float]:
    """One proxy's table rows (a row per rate, then 'all') and its proxy≈dlib on the originals."""
    e_orig, target = embed(net, faces), net.target(d_orig).numpy()
    n = len(faces)
    rows, pooled = [], {"dlib": [], "proxy": []}
    for rate, (dec, d_dec) in decoded.items():
        e_dec = embed(net, dec)
        c_dlib, c_proxy = cosines(d_orig, d_dec), (e_orig * e_dec).sum(axis=1)
        pooled["dlib"].append(c_dlib)
        pooled["proxy"].append(c_proxy)
        rows.append({
            "rate": f"{rate:g}", "dlib_cos": float(c_dlib.mean()), "proxy_cos": float(c_proxy.mean()),
            "pearson": float(stats.pearsonr(c_proxy, c_dlib)[0]) if n > 2 else float("nan"),
            "spearman": float(stats.spearmanr(c_proxy, c_dlib)[0]) if n > 2 else float("nan"),
            "proxy_vs_dlib": float((e_dec * net.target(d_dec).numpy()).sum(axis=1).mean()),
            "rank1_dlib": fm.reid_rank1(None, None, gallery=d_orig, probes=d_dec),
            "rank1_proxy": fm.reid_rank1(None, None, gallery=e_orig, probes=e_dec),
        })
    c_dlib, c_proxy = np.concatenate(pooled["dlib"]), np.concatenate(pooled["proxy"])
    rows.append({"rate": "all", "dlib_cos": float(c_dlib.mean()), "proxy_cos": float(c_proxy.mean()),
                 "pearson": float(stats.pearsonr(c_proxy, c_dlib)[0]) if len(c_dlib) > 2 else float("nan"),
                 "spearman": float(stats.spearmanr(c_proxy, c_dlib)[0]) if len(c_dlib) > 2 else float("nan"),
                 "proxy_vs_dlib": float(np.mean([r["proxy_vs_dlib"] for r in rows])),
                 "rank1_dlib": float(np.mean([r["rank1_dlib"] for r in rows])),
                 "rank1_proxy": float(np.mean([r["rank1_proxy"] for r in rows]))})
    return rows, float((e_orig * target).sum(axis=1).mean())


if __name__ == "__main__":
    main()
