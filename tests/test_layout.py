"""The package's layout, read from the source with ``ast`` (so nothing is imported):

- floors (see ``fasdiff_lite/__init__.py`` and DESIGN.md): a module imports only from its own floor or below
  (imports inside functions count too);
- rooms that hold one thing: no module over :data:`MAX_LINES` lines;
- no two modules import each other (at any depth: an import inside a function closes a circle too);
- our own package is imported at the top of each module, never inside a function;
- and, by running Python once: ``fasdiff-lite --help`` needs no torch, the explorers of notebooks 01–03 no diffusers.
"""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "fasdiff_lite"
TOP = 6
FLOORS = {  # module (dotted, without the package name) or package prefix -> floor
    "settings": 1, "registry": 1, "data": 1, "faces": 1, "face_sets": 1, "frequency": 1, "bitstream": 1, "rans": 1,
    "models.compressor": 2, "models.fusion": 2, "models.identity": 2, "models.prior": 2, "models.adversarial": 2,
    "models.stable_diffusion": 2, "models.prior_loading": 2, "models.latent_decoder": 2, "models.integer_scales": 2,
    "models.control": 3, "models.lfe": 3, "models.steering": 3,
    "models.codec": 4, "models.zoo": 4, "evaluation": 4,
    "train": 5,
    "cli": TOP, "commands": TOP, "demo": TOP, "explore": TOP, "course": TOP, "book": TOP,
}
MAX_LINES = 600
# Imports of our own package that must stay inside a function: module -> why (a cycle that cannot be broken).
# None today; a new one needs its reason here.
INNER_IMPORTS_ALLOWED: dict[str, str] = {}


def floor_of(module: str) -> int:
    """The floor of ``module`` (dotted, relative to the package); a package's __init__ is read as the package."""
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        key = ".".join(parts[:n])
        if key in FLOORS:
            return FLOORS[key]
    if module in ("", "models"):  # the package's and models' __init__ import nothing of ours
        return TOP if module == "" else 2
    raise KeyError(f"fasdiff_lite.{module} has no floor: add it to FLOORS (and to the table in __init__.py)")


def modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).with_suffix("")
        parts = list(rel.parts)
        is_init = parts[-1] == "__init__"
        if is_init:
            parts = parts[:-1]
        yield ".".join(parts), is_init, path


def imports_of(module: str, is_init: bool, path: Path):
    """(line, imported module relative to the package) for every import of our own package in ``path``."""
    package = module.split(".") if is_init else module.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
                names = [target] if node.module else [".".join(base + [a.name]) for a in node.names]
            elif node.module and node.module.split(".")[0] == "fasdiff_lite":
                target = node.module[len("fasdiff_lite"):].lstrip(".")
                names = [target] if target else [a.name for a in node.names]
            else:
                continue
            # "from .models import zoo" imports the module models.zoo
            for name in names:
                for a in node.names:
                    sub = f"{name}.{a.name}".lstrip(".")
                    yield node.lineno, sub if (PACKAGE / (sub.replace(".", "/") + ".py")).exists() else name
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "fasdiff_lite":
                    yield node.lineno, a.name[len("fasdiff_lite"):].lstrip(".")


def climbing_imports():
    bad = []
    for module, is_init, path in modules():
        here = floor_of(module)
        for line, target in imports_of(module, is_init, path):
            if target and floor_of(target) > here:
                bad.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {module or 'fasdiff_lite'} (floor {here}) "
                           f"imports {target} (floor {floor_of(target)})")
    return bad


def test_every_module_has_a_floor():
    for module, _, _ in modules():
        floor_of(module)


def test_no_import_climbs_a_floor():
    bad = climbing_imports()
    assert not bad, "imports that climb a floor:\n" + "\n".join(bad)


def test_the_check_catches_a_climbing_import(tmp_path, monkeypatch):
    fake = tmp_path / "fasdiff_lite"
    (fake / "models").mkdir(parents=True)
    (fake / "data.py").write_text("from .models import codec\n")  # floor 1 importing floor 4
    (fake / "models" / "codec.py").write_text("from .. import data\n")  # downward: fine
    monkeypatch.setattr(f"{__name__}.PACKAGE", fake)
    bad = climbing_imports()
    assert len(bad) == 1 and "imports models.codec (floor 4)" in bad[0]


@pytest.mark.parametrize("old", ["compressor", "prior", "control", "lfe", "codec", "metrics", "face_metrics",
                                 "perceptual", "baselines", "bdrate", "evaluate", "widgets", "rd_explorer",
                                 "fasdiff_explorer"])
def test_no_shim_at_an_old_path(old):
    assert not (PACKAGE / f"{old}.py").exists(), f"fasdiff_lite/{old}.py moved; no compatibility shim at the old path"


# ------------------------------------------------------------------------------------ one thing per room
def long_modules() -> list[str]:
    out = []
    for _, _, path in modules():
        n = len(path.read_text().splitlines())
        if n > MAX_LINES:
            out.append(f"{path.relative_to(PACKAGE.parent)}: {n} lines")
    return out


def test_no_module_is_over_600_lines():
    bad = long_modules()
    assert not bad, f"modules over {MAX_LINES} lines (split out a coherent piece):\n" + "\n".join(bad)


def import_graph() -> dict[str, set[str]]:
    """module -> the modules of the package it imports, anywhere in its file (a package's __init__ is the package)."""
    known = {module for module, _, _ in modules()}

    def owner(target: str) -> str:  # "evaluation.CODEC_COLORS" (a name in a package) -> "evaluation"
        while target not in known and "." in target:
            target = target.rsplit(".", 1)[0]
        return target if target in known else ""

    graph = {}
    for module, is_init, path in modules():
        graph[module] = {owner(t) for _, t in imports_of(module, is_init, path)} - {module, ""}
    return graph


def mutual_imports() -> list[str]:
    graph = import_graph()
    return sorted(f"{a or 'fasdiff_lite'} <-> {b or 'fasdiff_lite'}" for a in graph for b in graph[a]
                  if a < b and a in graph.get(b, ()))


def test_no_two_modules_import_each_other():
    bad = mutual_imports()
    assert not bad, "modules that import each other (move the shared piece below both):\n" + "\n".join(bad)


def inner_imports() -> list[str]:
    """Imports of our own package inside a function (or a method), outside :data:`INNER_IMPORTS_ALLOWED`."""
    bad = []
    for module, _, path in modules():
        if module in INNER_IMPORTS_ALLOWED:
            continue
        for top in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(top, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            for node in ast.walk(top):
                ours = (isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").split(".")[0] == "fasdiff_lite")
                        or isinstance(node, ast.Import) and any(a.name.split(".")[0] == "fasdiff_lite" for a in node.names))
                if ours:
                    bad.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {ast.unparse(node)}")
    return sorted(set(bad))


def test_our_own_package_is_imported_at_the_top_of_each_module():
    bad = inner_imports()
    assert not bad, "imports of fasdiff_lite inside a function (move them to the top of the module):\n" + "\n".join(bad)


def test_the_checks_catch_a_circle_an_inner_import_and_a_long_module(tmp_path, monkeypatch):
    fake = tmp_path / "fasdiff_lite"
    (fake / "models").mkdir(parents=True)
    (fake / "data.py").write_text("def f():\n    from .models import codec\n" + "x = 1\n" * MAX_LINES)
    (fake / "models" / "codec.py").write_text("from .. import data\n")
    (fake / "models" / "zoo.py").write_text("import fasdiff_lite.models.codec\n\n\nclass A:\n    def f(self):\n"
                                            "        import fasdiff_lite.data\n")
    monkeypatch.setattr(f"{__name__}.PACKAGE", fake)
    assert mutual_imports() == ["data <-> models.codec"]
    assert [b.split(": ", 1)[1] for b in inner_imports()] == ["from .models import codec", "import fasdiff_lite.data"]
    assert long_modules() == [f"fasdiff_lite/data.py: {MAX_LINES + 2} lines"]


LIGHT_IMPORTS = """
import sys
from fasdiff_lite import cli
cli.build_parser([])  # what `fasdiff-lite --help` does
assert "torch" not in sys.modules, "fasdiff-lite --help imports torch"
import fasdiff_lite.explore.bands, fasdiff_lite.explore.rate, fasdiff_lite.explore.hf  # notebooks 01, 02, 03
assert "diffusers" not in sys.modules, "the explorers of notebooks 01-03 import diffusers"
"""


def test_help_needs_no_torch_and_the_first_explorers_no_diffusers():
    r = subprocess.run([sys.executable, "-c", LIGHT_IMPORTS], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
