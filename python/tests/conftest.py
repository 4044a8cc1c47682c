"""Shared fixtures: the example schema, a random secret, synthetic parties, the CLI binary.

The CLI binary comes from the environment variable PPRL_BIN (set by .ci/run); tests that
compare with the CLI are skipped without it, and fail if it names no file.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

import pprl

REPO = Path(__file__).resolve().parents[2]
SCHEMA = REPO / "examples" / "person.toml"
COLUMNS = ["record_id", "given_name", "surname", "date_of_birth", "sex", "postcode", "address"]


@pytest.fixture(scope="session")
def pprl_bin() -> str:
    path = os.environ.get("PPRL_BIN")
    if not path:
        pytest.skip("PPRL_BIN is not set (the pprl binary to compare with)")
    assert Path(path).is_file(), f"PPRL_BIN={path} is not a file"
    return path


@pytest.fixture(scope="session")
def schema() -> pprl.Schema:
    return pprl.Schema.load(SCHEMA)


@pytest.fixture(scope="session")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pprl")


@pytest.fixture(scope="session")
def secret(work: Path) -> Path:
    path = work / "secret.key"
    path.write_bytes(os.urandom(32))
    return path


def write_csv(path: Path, rows: list[list[str]]) -> None:
    import csv

    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        w.writerows(rows)


@pytest.fixture(scope="session")
def parties(work: Path, pprl_bin: str) -> tuple[Path, Path]:
    """Two synthetic parties of 800 records each, made by `pprl synth` (small: CI tests a debug build)."""
    out = work / "synth"
    subprocess.run(
        [pprl_bin, "synth", "--records", "800", "--seed", "11", "--out-dir", str(out)],
        check=True,
        capture_output=True,
    )
    return out / "party_a.csv", out / "party_b.csv"


def read_columns(path: Path) -> dict[str, list[str]]:
    import csv

    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return {c: [r[c] for r in rows] for c in COLUMNS}


def people(n: int, seed: int = 1) -> dict[str, list[str | None]]:
    """`n` made-up records as columns (no CLI needed)."""
    import random

    rng = random.Random(seed)
    given = ["Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Frances", "John"]
    surnames = ["Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov", "Knuth", "Allen", "Backus"]
    cols: dict[str, list[str | None]] = {c: [] for c in COLUMNS}
    for i in range(n):
        cols["record_id"].append(f"r{i}")
        cols["given_name"].append(rng.choice(given))
        cols["surname"].append(rng.choice(surnames) + rng.choice(["", "son", "ley", "ton"]))
        cols["date_of_birth"].append(
            f"{rng.randint(1940, 2010)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        )
        cols["sex"].append(rng.choice(["M", "F"]))
        cols["postcode"].append(f"AB{rng.randint(1, 99)} {rng.randint(1, 9)}XY")
        cols["address"].append(None if i % 7 == 0 else f"{rng.randint(1, 200)} High Street")
    return cols
