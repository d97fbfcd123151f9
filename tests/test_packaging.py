"""The package installs: the wheel holds every stage and the console scripts; editable installs map the folders."""

from __future__ import annotations

import configparser
import importlib.util
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import aesthetic.core
import aesthetic.crawler

REPO = Path(__file__).resolve().parents[1]
PACKAGES = {
    "aesthetic.core": "core",
    "aesthetic.crawler": "crawler",
    "aesthetic.crawler.sites": "crawler/sites",
    "aesthetic.corpus": "corpus",
    "aesthetic.benchmark": "benchmark",
    "aesthetic.benchmark.models": "benchmark/models",
}
SCRIPTS = ("aesthetic-crawl", "aesthetic-build-splits", "aesthetic-benchmark")


def _run(*cmd: str | Path, cwd: Path | None = None) -> None:
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout}\n{proc.stderr}"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the wheel from a copy of the sources, so setuptools' build/ never lands in the shared work tree."""
    src = tmp_path_factory.mktemp("src")
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    for folder in {path.split("/")[0] for path in PACKAGES.values()}:
        shutil.copytree(REPO / folder, src / folder, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = tmp_path_factory.mktemp("wheel")
    _run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
         "-w", out, src)
    (built,) = out.glob("aesthetic_comments-*.whl")
    return built


def test_wheel_holds_every_package_and_the_console_scripts(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        parser = configparser.ConfigParser()
        parser.read_string(zf.read(entry_points).decode())
    for package in PACKAGES:
        assert f"{package.replace('.', '/')}/__init__.py" in names, package
    assert "aesthetic/__init__.py" not in names  # `aesthetic` is a namespace over the stages
    assert not any(n.startswith(("tests/", "demo/", "perf/", "core/")) for n in names)
    scripts = dict(parser["console_scripts"])
    assert scripts == {
        "aesthetic-crawl": "aesthetic.crawler.cli:main",
        "aesthetic-build-splits": "aesthetic.corpus.cli:main",
        "aesthetic-benchmark": "aesthetic.benchmark.cli:main",
    }


def test_wheel_installs_into_a_clean_environment(wheel: Path, tmp_path: Path) -> None:
    """A bare venv from the base interpreter: nothing from the dev venv's editable install can shadow the wheel."""
    venv = tmp_path / "venv"
    _run(getattr(sys, "_base_executable", sys.executable), "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    _run(sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps", "--no-index", wheel)
    for script in SCRIPTS:
        assert (venv / "bin" / script).is_file(), script
    # core.errors needs only the standard library, so it imports without installing the dependencies.
    proc = subprocess.run(
        [str(python), "-c", "import aesthetic.core.errors as m; print(m.__file__); print(m.UserError('x'))"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    where, message = proc.stdout.splitlines()
    assert Path(where).is_relative_to(venv) and "site-packages/aesthetic/core/errors.py" in where
    assert message == "x"


def test_editable_install_maps_each_package_to_its_top_level_folder() -> None:
    assert Path(aesthetic.crawler.__file__).resolve() == REPO / "crawler" / "__init__.py"
    assert Path(aesthetic.core.__file__).resolve() == REPO / "core" / "__init__.py"
    for package, folder in PACKAGES.items():
        # find_spec locates without running the package (benchmark.models would import torch).
        spec = importlib.util.find_spec(package)
        assert spec is not None and Path(spec.origin).resolve() == REPO / folder / "__init__.py", package


def test_setup_cfg_declares_the_same_packages() -> None:
    parser = configparser.ConfigParser()
    parser.read(REPO / "setup.cfg")
    mapping = dict(line.split(" = ") for line in parser["options"]["package_dir"].strip().splitlines())
    assert mapping == PACKAGES
    assert parser["options"]["packages"].split() == list(PACKAGES)
