"""The package's floors (see ``fasdiff_lite/__init__.py`` and DESIGN.md): a module imports only from its own floor
or below. Read from the source with ``ast`` (imports inside functions count too), so nothing is imported."""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "fasdiff_lite"
TOP = 6
FLOORS = {  # module (dotted, without the package name) or package prefix -> floor
    "settings": 1, "registry": 1, "data": 1, "faces": 1, "face_sets": 1, "frequency": 1, "bitstream": 1, "rans": 1,
    "models.compressor": 2, "models.fusion": 2, "models.identity": 2, "models.prior": 2, "models.adversarial": 2,
    "models.control": 3, "models.lfe": 3, "models.steering": 3,
    "models.codec": 4, "models.zoo": 4, "evaluation": 4,
    "train": 5,
    "cli": TOP, "commands": TOP, "demo": TOP, "explore": TOP, "course": TOP,
}


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
