"""environment.yml (conda-forge) and pyproject.toml must name the same packages, same floors."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# conda-forge name -> PyPI name, where they differ
CONDA_TO_PYPI = {"pytorch": "torch"}
NOT_PACKAGES = {"python", "pip"}  # in environment.yml only: the interpreter and the installer
_REQ = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(.*?)\s*(?:;.*)?$")


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pyproject_packages(text: str) -> dict[str, str]:
    """``{name: version spec}`` of the dependencies and every extra."""
    project = tomllib.loads(text)["project"]
    reqs = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        reqs += extra
    found = {}
    for req in reqs:
        name, spec = _REQ.match(req).groups()
        found[_normal(name)] = spec.replace(" ", "")
    return found


def conda_packages(text: str) -> tuple[dict[str, str], list[str]]:
    """``({PyPI name: version spec}, [pip lines])`` from environment.yml's dependencies list.

    A hand parse of the simple YAML there: ``- name>=1.0`` items, and a nested ``- pip:`` list,
    whose named packages (PyPI's, for those conda-forge lacks) count as well.
    """
    found, pip, section, pip_indent = {}, [], None, None
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        if indent == 0:
            section = line.rstrip(":").strip()
            continue
        if section != "dependencies":
            continue
        item = line.strip()
        if not item.startswith("- "):
            raise ValueError(f"environment.yml: expected a '- item' line, got {raw!r}")
        item = item[2:].strip()
        if pip_indent is not None and indent > pip_indent:
            pip.append(item)
            named = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(.*)$", item)
            if named:  # a package from PyPI; not "-e ." (the package itself)
                found[_normal(named.group(1))] = named.group(2).replace(" ", "")
            continue
        pip_indent = None
        if item == "pip:":
            pip_indent = indent
            continue
        name, spec = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(.*)$", item).groups()
        if name in NOT_PACKAGES:
            continue
        found[_normal(CONDA_TO_PYPI.get(name, name))] = spec.replace(" ", "")
    return found, pip


@pytest.fixture(scope="module")
def texts():
    return (ROOT / "pyproject.toml").read_text(), (ROOT / "environment.yml").read_text()


def test_the_same_packages(texts):
    pypi = pyproject_packages(texts[0])
    conda, _ = conda_packages(texts[1])
    only_pypi, only_conda = sorted(set(pypi) - set(conda)), sorted(set(conda) - set(pypi))
    assert not only_pypi and not only_conda, (
        f"pyproject.toml only: {only_pypi}; environment.yml only: {only_conda} "
        f"(conda-forge names mapped to PyPI's: {CONDA_TO_PYPI})"
    )


def test_the_same_version_floors(texts):
    pypi = pyproject_packages(texts[0])
    conda, _ = conda_packages(texts[1])
    differ = {n: (pypi[n], conda[n]) for n in pypi.keys() & conda.keys() if pypi[n] != conda[n]}
    assert not differ, f"(pyproject.toml, environment.yml) version specs differ: {differ}"


def test_conda_installs_the_package_itself_with_pip(texts):
    conda, pip = conda_packages(texts[1])
    assert any(re.fullmatch(r"(-e\s+)?\.(\[[a-z,]+\])?", p) for p in pip), pip
    assert "python>=3.11" in texts[1].replace(" ", "")


def test_the_comparison_sees_a_package_added_or_dropped(texts):
    pyproject, env = texts
    base, _ = conda_packages(env)
    added, _ = conda_packages(env.replace("  - pip\n", "  - pandas>=2.0\n  - pip\n"))
    assert set(added) - set(base) == {"pandas"}
    dropped, _ = conda_packages(env.replace("  - pytorch>=2.2\n", ""))
    assert set(base) - set(dropped) == {"torch"}
    from_pypi, _ = conda_packages(env.replace("      - -e .", "      - rich>=13\n      - -e ."))
    assert set(from_pypi) - set(base) == {"rich"} and from_pypi["rich"] == ">=13"
    more = pyproject_packages(pyproject.replace('"tqdm>=4.66",', '"tqdm>=4.66",\n    "rich",'))
    assert set(more) - set(pyproject_packages(pyproject)) == {"rich"}
