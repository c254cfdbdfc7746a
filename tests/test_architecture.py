"""The layers of docs/architecture.md, read from the source with `ast`: who
may import whom, and what ``import ctrng`` may load."""

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "ctrng"
CSRC = ROOT / "csrc"

# Frameworks that ``import ctrng`` must never load: each face imports its own.
FORBIDDEN = ["torch", "tensorflow", "keras", "jax", "dask", "distributed", "mpi4py", "pyarrow", "cupy", "numba.cuda"]

# The layers, bottom up (docs/architecture.md), by module-name prefix; the
# first match counts.
LAYERS = [
    ("core", ["ctrng._core"]),
    ("keys", ["ctrng.derive", "ctrng.key"]),
    ("library", ["ctrng.stateless", "ctrng.shuffle", "ctrng.generator", "ctrng.bitgen", "ctrng.seeds",
                 "ctrng.init", "ctrng"]),
    ("face", ["ctrng.numba", "ctrng.cuda", "ctrng.torch", "ctrng.tf", "ctrng.jax", "ctrng.dask", "ctrng.mpi"]),
    ("tool", ["ctrng.cli", "ctrng.bench", "ctrng.__main__"]),
]
FACES = dict(LAYERS)["face"]
# What each layer may import at module level.
MAY_IMPORT = {
    "core": {"core"},
    "keys": {"core", "keys"},
    "library": {"core", "keys", "library"},
    "face": {"core", "keys", "library", "face"},
    "tool": {"core", "keys", "library", "tool"},
}


def module_name(path):
    parts = list(path.relative_to(ROOT / "src").with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _within(name, prefix):
    return name == prefix or name.startswith(prefix + ".")


def layer(name):
    for label, prefixes in LAYERS:
        if any(_within(name, p) for p in prefixes if p != "ctrng") or name == "ctrng" and "ctrng" in prefixes:
            return label
    return None


def face(name):
    """The face a module belongs to (its top-level module), or None."""
    return next((f for f in FACES if _within(name, f)), None)


class Import:
    """One import of a ctrng module: what it names, and whether it runs only
    when a function is called (lazy)."""

    def __init__(self, target, names, lazy, line):
        self.target, self.names, self.lazy, self.line = target, names, lazy, line

    def __repr__(self):
        return f"line {self.line}: {self.target}" + (f" ({', '.join(self.names)})" if self.names else "")


def imports(name):
    """The imports of ctrng modules in module `name`, relative ones resolved;
    ``from package import module`` counts as an import of that module."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text())
    found = []

    def visit(node, lazy):
        for child in ast.iter_child_nodes(node):
            inner = lazy or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                found.extend(Import(a.name, [], lazy, child.lineno) for a in child.names
                             if _within(a.name, "ctrng"))
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")[: len(package.split(".")) - (child.level - 1)]
                    target = ".".join(base + ([child.module] if child.module else []))
                else:
                    target = child.module or ""
                if _within(target, "ctrng"):
                    for a in child.names:
                        sub = f"{target}.{a.name}"
                        if sub in MODULES or sub == "ctrng._core._ctrng":
                            found.append(Import(sub, [], lazy, child.lineno))
                        else:
                            found.append(Import(target, [a.name], lazy, child.lineno))
            visit(child, inner)

    visit(tree, False)
    return found


def test_every_module_has_a_layer():
    assert [m for m in MODULES if layer(m) is None] == []


def test_core_imports_nothing_above_it():
    bad = {m: [i for i in imports(m) if not _within(i.target, "ctrng._core")]
           for m in MODULES if layer(m) == "core"}
    assert {m: v for m, v in bad.items() if v} == {}


def test_layers_import_only_what_is_below_them():
    bad = {}
    for m in MODULES:
        for i in imports(m):
            if not i.lazy and layer(i.target) not in MAY_IMPORT.get(layer(m), set()):
                bad.setdefault(m, []).append(i)
    assert bad == {}


def test_faces_import_no_other_face():
    """Except ctrng.numba (the device functions others build on, and
    ctrng.numba._device's shared constants), and ctrng.cuda inside a function
    that was handed a CUDA array (ctrng.init, ctrng.torch)."""
    bad = {}
    for m in MODULES:
        for i in imports(m):
            other = face(i.target)
            if other is None or other == face(m) or other == "ctrng.numba":
                continue
            if other == "ctrng.cuda" and i.lazy:
                continue
            bad.setdefault(m, []).append(i)
    assert bad == {}


def test_reference_imports_nothing_from_ctrng():
    tree = ast.parse((ROOT / "tests" / "reference.py").read_text())
    names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    names += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert [n for n in names if _within(n, "ctrng")] == []


@pytest.mark.parametrize("header", ["cipher/philox.h", "cipher/threefry.h", "dist/lemire.h"])
def test_pure_c_headers_include_only_stdint(header):
    included = re.findall(r"^\s*#\s*include\s*([<\"][^>\"]+[>\"])", (CSRC / header).read_text(), re.M)
    assert set(included) <= {"<stdint.h>"}


def test_import_ctrng_loads_no_framework():
    script = ("import json, sys, ctrng\n"
              f"forbidden = {FORBIDDEN!r}\n"
              "print(json.dumps(sorted({f for m in sys.modules for f in forbidden"
              " if m == f or m.startswith(f + '.')})))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == []


def test_only_the_bridge_uses_the_extension():
    """Only ctrng._core.bridge imports the compiled extension ctrng._core._ctrng
    or touches its ffi and lib; every other module calls the bridge's
    functions (docs/architecture.md)."""
    bad = {}
    for m, path in MODULES.items():
        if m == "ctrng._core.bridge":
            continue
        uses = [i for i in imports(m) if i.target == "ctrng._core._ctrng"
                or i.target == "ctrng._core.bridge" and {"ffi", "lib"} & set(i.names)]
        uses += [f"line {n.lineno}: bridge.{n.attr}" for n in ast.walk(ast.parse(path.read_text()))
                 if isinstance(n, ast.Attribute) and n.attr in ("ffi", "lib")
                 and isinstance(n.value, ast.Name) and n.value.id == "bridge"]
        if uses:
            bad[m] = uses
    assert bad == {}
