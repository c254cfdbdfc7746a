"""The examples in the docstrings run and print what they say."""

import ast
import doctest
import importlib
import os
import re
from pathlib import Path

import pytest

MODULES = ["ctrng._core.bridge", "ctrng.key", "ctrng.stateless", "ctrng.generator", "ctrng.shuffle.permutation",
           "ctrng.shuffle.index_permutation", "ctrng.shuffle.sampler", "ctrng.shuffle.files", "ctrng.seeds", "ctrng.dask",
           "ctrng.bitgen", "ctrng.numba", "ctrng.init", "ctrng.tf", "ctrng.jax"]
# CI installs TensorFlow and JAX (the "tf" and "jax" extras); elsewhere their modules may skip.
OPTIONAL = {"ctrng.tf": "tensorflow", "ctrng.jax": "jax"}


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    if name in OPTIONAL and not os.environ.get("CI"):
        pytest.importorskip(OPTIONAL[name])
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0


# -- citations of the docs ----------------------------------------------------------
# Code, tests and pages cite the docs by path ("docs/guarantee.md"), by
# anchor ("docs/contract.md#raw-words", "[...](#raw-words)") or by a section's
# title ('docs/guarantee.md, "Derived keys"').  Each must name a file and a
# section that exist, so a renamed heading or a moved page fails here.

ROOT = Path(__file__).resolve().parents[1]
CITING = ["README.md", "docs", "src", "csrc", "tests", "benchmarks", "examples"]
SUFFIXES = {".md", ".py", ".c", ".h"}
# A path to a .md file, an optional #anchor, and an optional quoted title after
# it: ', "Title"' or ' ("Title")', possibly on the next line of a comment.
CITATION = re.compile(r'(?<![\w./-])([\w./-]*\w\.md)\b(?:#([\w-]+))?'
                      r'(?:`?(?:,|\s\()[\s#*]*"([^"\n]+)")?')
LOCAL_ANCHOR = re.compile(r"\]\(#([\w-]+)\)")


def slug(title):
    """The anchor GitHub gives a heading."""
    title = re.sub(r"[^\w\- ]", "", title.strip().lower())
    return title.replace(" ", "-")


def headings(path):
    """The headings of a markdown file (outside code blocks), as written."""
    found, fenced = [], False
    for line in path.read_text().splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and re.match(r"#{1,6} ", line):
            found.append(line.lstrip("#").strip())
    return found


def anchors(path):
    """GitHub's anchors for a markdown file's headings (repeats numbered)."""
    seen, out = {}, set()
    for title in headings(path):
        s = slug(title)
        out.add(s if s not in seen else f"{s}-{seen[s]}")
        seen[s] = seen.get(s, 0) + 1
    return out


def resolve(cited, citing):
    """The file a citation names: from the repo's root, the citing file's
    folder, or docs/."""
    for base in (ROOT, citing.parent, ROOT / "docs"):
        if (base / cited).is_file():
            return base / cited
    return None


def citation_errors(text, citing):
    """What is wrong with the citations of the docs in `text`."""
    errors = []
    for match in CITATION.finditer(text):
        cited, anchor, title = match.groups()
        target = resolve(cited, citing)
        if target is None:
            errors.append(f"{cited}: no such file")
        elif anchor and anchor not in anchors(target):
            errors.append(f"{cited}#{anchor}: no such section")
        elif title and not any(h.replace("`", "").lower().startswith(title.lower())
                               for h in headings(target)):
            errors.append(f'{cited}, "{title}": no such section')
    if citing.suffix == ".md":
        errors += [f"#{a}: no such section" for a in LOCAL_ANCHOR.findall(text) if a not in anchors(citing)]
    return errors


def citing_files():
    for name in CITING:
        path = ROOT / name
        paths = [path] if path.is_file() else sorted(path.rglob("*"))
        for p in paths:
            if p.suffix in SUFFIXES and p.is_file() and p != Path(__file__).resolve() \
                    and ".egg-info" not in str(p) and "__pycache__" not in p.parts:
                yield p


def test_citations_of_the_docs_exist():
    errors = [f"{p.relative_to(ROOT)}: {e}" for p in citing_files() for e in citation_errors(p.read_text(), p)]
    assert not errors, "\n".join(errors)


def test_the_citation_check_can_fail():
    here = ROOT / "src" / "ctrng" / "key.py"
    assert citation_errors('see docs/guarantee.md, "Derived keys" and docs/contract.md#raw-words', here) == []
    assert citation_errors("(docs/guarantee.md,\n    # \"Derived keys\")", here) == []
    assert citation_errors("the layout from SPEC.md", here) == ["SPEC.md: no such file"]
    assert citation_errors("docs/contract.md#no-such-part", here) == ["docs/contract.md#no-such-part: no such section"]
    assert citation_errors('docs/guarantee.md, "No such part"', here) == [
        'docs/guarantee.md, "No such part": no such section']
    assert citation_errors("[x](#nowhere)", ROOT / "docs" / "contract.md") == ["#nowhere: no such section"]


# -- the contract's list of public names ----------------------------------------------

PUBLIC_MODULES = ["__init__.py", "init.py", "numba/__init__.py", "cuda/__init__.py", "torch.py", "tf.py",
                  "jax.py", "dask.py", "mpi.py"]


def declared_names(path):
    """A module's __all__, read without importing it (its framework may be
    missing here)."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError(f"{path} has no literal __all__")


@pytest.mark.parametrize("module", PUBLIC_MODULES)
def test_the_contract_lists_every_public_name(module):
    """A face's names in its own row of the contract's table; ctrng's and
    ctrng.init's anywhere on the page."""
    contract = (ROOT / "docs" / "contract.md").read_text()
    dotted = "ctrng." + module.removesuffix(".py").removesuffix("/__init__")
    rows = [line for line in contract.splitlines() if line.startswith(f"| `{dotted}` |")]
    if module not in ("__init__.py", "init.py"):
        assert len(rows) == 1, f"docs/contract.md has no row for {dotted}"
        contract = rows[0]
    names = declared_names(ROOT / "src" / "ctrng" / module)
    missing = [n for n in names if f"`{n}`" not in contract]
    assert not missing, f"docs/contract.md does not list {missing} of {dotted}"
