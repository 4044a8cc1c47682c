"""The type stubs describe the native module."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

import pprl
from pprl import _pprl


def test_stubtest():
    if importlib.util.find_spec("mypy") is None:
        pytest.skip("mypy is not installed")
    run = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "pprl._pprl"], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_stub_names_exist_and_typed_marker_ships():
    pkg = Path(pprl.__file__).parent
    assert (pkg / "py.typed").exists() and (pkg / "_pprl.pyi").exists()
    stub = (pkg / "_pprl.pyi").read_text()
    import re

    names = re.findall(r"^(?:class|def) (\w+)", stub, flags=re.M)
    assert len(names) > 10
    for name in names:
        assert hasattr(_pprl, name), name
    for name in pprl.__all__:
        assert hasattr(pprl, name), name


def test_docstrings():
    for obj in (pprl.encode, pprl.match, pprl.Schema, pprl.Encodings, pprl.Links, pprl.Schema.load,
                pprl.Encodings.read, pprl.Encodings.write, pprl.Encodings.to_numpy, pprl.Links.write_csv,
                pprl.synth, pprl.Synth, pprl.Synth.write, pprl.Table, pprl.privacy_audit):
        assert obj.__doc__, obj


def test_package_type_checks():
    if importlib.util.find_spec("mypy") is None:
        pytest.skip("mypy is not installed")
    # The package's sources in the clone (they use the stub beside them), not the installed copy.
    src = Path(__file__).resolve().parents[1] / "python" / "pprl"
    run = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", str(src)],
        cwd=src.parent,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr
