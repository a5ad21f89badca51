"""evaluation/groups.py: identity figures split by UTKFace's age, gender and race labels."""
import numpy as np
import pytest

from fasdiff_lite import data
from fasdiff_lite.evaluation import face_metrics, groups

NAMES = ["5_0_0_1.jpg", "25_1_1_2.jpg", "45_0_2_3.jpg", "70_1_3_4.jpg", "30_0_4_5.jpg", "19_1_0_6.jpg"]


def test_group_labels_use_the_age_bands():
    lab = groups.group_labels(NAMES)
    assert lab["age"] == ["0–19", "20–39", "40–59", "60+", "20–39", "0–19"]
    assert lab["gender"][:2] == ["male", "female"] and lab["race"][:5] == ["White", "Black", "Asian", "Indian", "Others"]


def test_by_group_means_and_intervals():
    lab = groups.group_labels(NAMES)
    scores = {"distance": np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]), "reid": np.array([1, 1, 0, 0, 1, 0.0])}
    rows = groups.by_group(scores, lab)
    young = next(r for r in rows if r["attribute"] == "age" and r["group"] == "0–19")
    assert young["n"] == 2 and young["distance"] == pytest.approx(0.35) and young["reid"] == 0.5
    lo, hi = young["distance_ci"]
    assert 0.1 <= lo <= 0.35 <= hi <= 0.6
    assert [r["group"] for r in rows if r["attribute"] == "age"] == ["0–19", "20–39", "40–59", "60+"]
    assert sum(r["n"] for r in rows if r["attribute"] == "gender") == 6
    one = next(r for r in rows if r["attribute"] == "race" and r["group"] == "Asian")
    assert one["distance_ci"] == (0.3, 0.3)  # one face: no spread
    table = groups.format_table({"jpeg": {0.5: rows}})
    assert "jpeg r0.5" in table and table.count("\n") == len(rows) + 1


@pytest.mark.skipif(not face_metrics.is_available(), reason="needs dlib")
def test_measure_a_lossless_codec_loses_no_identity():
    class Lossless:
        def compress(self, x, rate):
            return x

        def decompress(self, x):
            return x

    faces = np.concatenate([data.sample_faces(64)] * 3)
    names = NAMES[: len(faces)]
    out = groups.measure(Lossless(), faces, names, rates=(0.3,), progress=False)
    rows = out[0.3]
    assert all(r["distance"] == 0 for r in rows)
