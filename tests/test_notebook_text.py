"""No measured figure is typed into a notebook's text: every number a notebook states about what its code measured
is printed by the code (e.g. a summary cell that builds its text with ``IPython.display.Markdown(f"...")`` from the
variables computed above it), and the trained models' figures on the 150 held-out faces are cited as "see the model
card", never copied. Otherwise every retrain makes the notebooks lie (issue 29).

The detector reads every markdown cell of every notebook (rubrics included; code spans, code blocks, formulas, links
and HTML comments left out) and finds **figures**: a number, or a run of numbers joined by ``/``, ``–``, ``,``,
``and``, ``to``, ``against``, ``→``. A figure is a **typed measurement** when

* a measurement unit follows it: dB, bpp, ms, s, min, h, %, "× faster", bytes/B/kB/MB/GB, parameters (bits are
  left out: "a 32-bit state", "16 bits" are format widths) (``"25.2 dB"``,
  ``"19–21 dB"``, ``"+2.6 / +4.4 / +5.5 dB"``, ``"45 B"``);
* a metric word follows it (``"+0.20 re-id"``, ``"0.9 rank-1"``); or
* it holds a decimal fraction (``"0.84"``, ``"30.1"``) and, reading back through the same clause, no **setting**
  (``rate 0.3``, ``realism 0.5``, ``weight 0.15``, ``in steps of 0.25``) or bound (``distance < 0.6``) is named before a
  measure is (``detail ratio of 0.91``, ``from 0.62 to 0.90``): a bare ``"0.84 / 0.94 / 0.99"`` or
  ``"30.1 / 30.1 / 30.1"`` is a result, a ``"rate 0.3"`` is a knob.

A number that is a literal in one of the notebook's own code cells (``STEPS = 4``, ``TRANSPLANT_RATE = 0.15``) is a
setting the code uses, not a result typed from an output, and passes (``"reaches 30 dB"`` where the code's target is
``30``), except a decimal before dB, bpp or ms, or any number before a metric word (``"0.5 dB"`` is a result even
where 0.5 is also a rate). :data:`ALLOWED` lists the few other numbers
with units that are not measurements, each with its reason.
"""
from __future__ import annotations

import io
import json
import re
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

# (notebook prefix or "*", the exact figure text as the detector reports it, why it is not a measured result)
ALLOWED: list[tuple[str, str, str]] = [
    ("08", "−50%", "a worked example of the BD-rate's sign convention (−50 % is half the bytes), not a result"),
    ("08", "−40%", "how to read a BD-rate (−40 % means 40 % fewer bytes), an example value, not a result"),
]

NUM = r"[+\-−±]?\d+(?:[,\u2009 ]\d{3})*(?:\.\d+)?(?:e[+\-−]?\d+)?"
JOIN = r"\s*(?:/|–|—|-|,|→|\bto\b|\band\b|\bor\b|\bagainst\b|\bvs\.?)\s*"
FIGURE = re.compile(rf"(?<![\w.^_/])({NUM})(?:{JOIN}({NUM}))*(?![\w.]*\d)(?!\.\d)", re.I)
UNIT = re.compile(
    r"\s*-?(?:dB\b|bpp\b|ms\b|s\b|sec\b|seconds?\b|min\b|minutes?\b|h\b|hours?\b|%"
    r"|[×x]\s*(?=(?:faster|slower|fewer|more|smaller|larger|less|bigger)\b)"
    r"|B\b|bytes?\b|kB\b|KB\b|MB\b|GB\b|parameters\b|params\b|M\s*parameters|M-parameter|CPU-minutes)", re.I)
# metric words after a number make it a result ("+0.20 re-id")
METRIC_AFTER = re.compile(
    r"\s*(?:re-?id\w*|rank-?1|PSNR|MS-SSIM|SSIM|LPIPS|FID|FD\b|KID|detail ratio|accuracy|AUC|TAR|BD-rate"
    r"|identity cosine|cosine|re-identification)", re.I)
# units that name a result after a decimal (and metric words after any number): a code literal does not excuse them
STRICT_UNITS = {"db", "bpp", "ms"}
# the nouns that make the number after them a knob the author set, not a result
SETTING_WORDS = {
    "rate", "rates", "realism", "realisms", "step", "steps", "weight", "weights", "scale", "scales", "quality",
    "seed", "cutoff", "threshold", "σ", "sigma", "λ", "lambda", "lr", "level", "levels", "split", "t", "t₀", "ε",
    "dose", "power", "radius", "factor", "gain", "size", "version", "arxiv", "python", "compressai", "ipywidgets",
    "numpy", "torch", "sd", "sd's", "diffusion", "scaling_factor", "shift_factor", "mix", "times", "×", "multiply",
}
# words that bound a number instead of reporting it ("distance < 0.6", "within 0.05 of x_fid")
BOUND_WORDS = {"=", "<", ">", "≤", "≥", "below", "above", "under", "within"}
# the words that make the number after them a result
METRIC_WORDS = {
    "psnr", "ms-ssim", "ssim", "lpips", "fid", "fd", "kid", "detail", "ratio", "rank-1", "re-id", "re-identification",
    "re-identified", "accuracy", "auc", "tar", "cosine", "similarity", "identity", "distance", "loss", "energy",
    "share", "bd-rate", "time", "took", "measured",
}
CLAUSE_END = re.compile(r"[.;:!?(\[]\s|[(\[]|\n\n|\|")


def _strip(md: str) -> str:
    """Markdown prose without the parts that are not prose: code blocks and spans, formulas, HTML comments, link
    targets and image links. Each removed part becomes a space, so positions in the text stay meaningful."""
    md = re.sub(r"```.*?```", " ", md, flags=re.S)
    md = re.sub(r"<!--.*?-->", " ", md, flags=re.S)
    md = re.sub(r"\$\$.*?\$\$", " ", md, flags=re.S)
    md = re.sub(r"\$[^$\n]+\$", " ", md)
    md = re.sub(r"`[^`\n]*`", " ", md)
    md = re.sub(r"\]\([^)\s]*\)", "]", md)
    md = re.sub(r"https?://\S+", " ", md)
    return md


def _numbers(figure: str) -> list[float]:
    out = []
    for n in re.findall(NUM, figure):
        try:
            out.append(float(n.replace("−", "-").replace("±", "").replace(",", "").replace("\u2009", "").replace(" ", "")))
        except ValueError:
            pass
    return out


def code_literals(nb: dict) -> set[float]:
    """Every number literal in the notebook's code cells (tokens, not text in strings or comments)."""
    found: set[float] = set()
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        src = "".join(cell["source"])
        src = "\n".join(ln for ln in src.splitlines() if not ln.lstrip().startswith(("%", "!")))
        try:
            for tok in tokenize.generate_tokens(io.StringIO(src).readline):
                if tok.type == tokenize.NUMBER:
                    try:
                        found.add(float(tok.string.replace("_", "")))
                    except ValueError:
                        pass
        except (tokenize.TokenError, IndentationError, SyntaxError):
            pass
    return found


def _context_before(text: str, start: int) -> str | None:
    """What the words before ``start``, in the same clause, make of the number there: "setting" (a knob or a bound
    is named first, reading backwards), "metric" (a measure is named first), or None (neither within 5 words)."""
    head = text[max(0, start - 80):start]
    cut = max((m.end() for m in CLAUSE_END.finditer(head)), default=0)
    words = re.findall(r"[\w₀ᵢ×σλεσ'-]+|[=<>≤≥]", head[cut:])
    for word in reversed(words[-5:]):
        w = word.lower()
        if w in SETTING_WORDS or w in BOUND_WORDS:
            return "setting"
        if w in METRIC_WORDS:
            return "metric"
    return None


def typed_measurements(md: str, literals: set[float] = frozenset()) -> list[tuple[str, str]]:
    """(figure, why) for every typed measurement in the markdown text ``md``."""
    text = _strip(md)
    found = []
    for m in FIGURE.finditer(text):
        figure = m.group(0).strip(" ,/–-")
        if not re.search(r"\d", figure):
            continue
        after = text[m.end():m.end() + 40]
        before = _context_before(text, m.start())
        numbers = _numbers(figure)
        unit = UNIT.match(after)
        metric = METRIC_AFTER.match(after)
        decimal = re.search(r"\d\.\d", figure) is not None
        if unit and unit.group(0).strip() == "%" and re.match(r"\s*%\s*(?:confidence|interval|CI\b)", after):
            continue  # "a bootstrap 95 % interval": a confidence level, chosen
        if unit:
            why = f"unit {unit.group(0).strip()!r}"
        elif metric:
            why = f"metric {metric.group(0).strip()!r} after it"
        elif decimal and before != "setting":
            why = "a decimal after a measure's name" if before else "a decimal with no setting named before it"
        else:
            continue
        strict = metric or (decimal and unit and unit.group(0).strip(" -").lower() in STRICT_UNITS)
        if numbers and all(n in literals for n in numbers) and not strict:
            continue  # every number is a setting the notebook's code uses (a "0.5 dB" is a result even so)
        found.append((figure + (unit.group(0) if unit else ""), why))
    return found


def notebook_findings(path: Path) -> list[str]:
    nb = json.loads(path.read_text())
    literals = code_literals(nb)
    allowed = {fig for where, fig, _ in ALLOWED if where in ("*", path.name[:2])}
    out = []
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "markdown":
            continue
        for fig, why in typed_measurements("".join(cell["source"]), literals):
            if fig.strip() not in allowed:
                out.append(f"{path.name} cell {i}: {fig.strip()!r} ({why})")
    return out


# ------------------------------------------------------------------------------------------- the detector itself
@pytest.mark.parametrize("text", [
    "the LFE adds 25.2 dB here",
    "it adds +2.6/+4.4/+5.5 dB and more",
    "and +0.20 re-id at rate 1",
    "detail 0.84/0.94/0.99 against 0.75",
    "Notebook 05 gives 19–21 dB.",
    "`fasdiff-nolfe` fell to 17.8 dB",
    "the table shows 30.1 / 30.1 / 30.1.",
    "(0.81 / 0.90 / 0.91 / 0.95 against 0.44 / 0.58)",
    "re-identification rank-1 0.93 against 0.94",
    "a 45-byte file", "a file of 45 bytes", "rate 0 (45 B)",
    "it takes 12 ms per step", "LL 71.2 %, detail 15.1 / 9.1 / 4.6 %",
    "trained for 55 CPU-minutes", "accuracy 0.96", "for 0.1–0.6 dB of PSNR", "a detail ratio of 0.91",
    "the detail ratio rose from 0.62 to 0.90", "different people score about 0.84",
])
def test_detector_catches_typed_measurements(text):
    assert typed_measurements(text), text


@pytest.mark.parametrize("text", [
    "decode at rate 0.3 with 4 steps at realism 1", "a 64 px face, 64×64", "realism 0.1, 0.5 and 1",
    "at rates 0 / 0.1 / 0.3 / 1", "Blau & Michaeli, 2018", "arXiv 2505.05870", "notebook 05, section 4",
    "Exercise 3", "with weight 0.15", "distance < 0.6", "the 150 held-out faces", "(`settings.pick(0.5, 0.3)`)",
    "10 folds of 300 pairs", "cutoff 0.25", "with a bootstrap 95 % interval", "(see the model card)", "the LL band after 2 levels",
    "a 32-bit state", "the rate in 16 bits", "Stable Diffusion 2.1", "like SD's 0.18215", "in steps of 0.25",
    "re-id within 0.05 of x_fid's",
])
def test_detector_allows_settings_and_citations(text):
    assert not typed_measurements(text), typed_measurements(text)


def test_a_literal_of_the_notebooks_code_is_a_setting():
    assert typed_measurements("at most 0.15 of it") and not typed_measurements("at most 0.15 of it", {0.15})
    assert typed_measurements("it costs 0.5 dB", {0.5}) and typed_measurements("0.5 re-id", {0.5})  # results even so


# ------------------------------------------------------------------------------------------- the notebooks
def test_there_are_ten_notebooks():
    assert len(NOTEBOOKS) == 10


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_no_typed_measurement_in_the_text(path):
    findings = notebook_findings(path)
    assert not findings, (
        "measured figures typed into the notebook's text go stale with every retrain: print them from the "
        "notebook's own variables (IPython.display.Markdown(f'...')) or say 'see the model card':\n  "
        + "\n  ".join(findings))


def test_every_allowed_entry_is_still_needed():
    """An allow-list entry that no notebook needs any more is removed (it would hide a future typed figure)."""
    used = set()
    for path in NOTEBOOKS:
        nb = json.loads(path.read_text())
        literals = code_literals(nb)
        for cell in nb["cells"]:
            if cell["cell_type"] == "markdown":
                used |= {(path.name[:2], f.strip()) for f, _ in typed_measurements("".join(cell["source"]), literals)}
    stale = [(w, f) for w, f, _ in ALLOWED if not any((w in ("*", nb_) and f == fig) for nb_, fig in used)]
    assert not stale, stale
