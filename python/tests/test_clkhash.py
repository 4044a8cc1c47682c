"""clkhash linkage schemas: `Schema.load` reads them as `pprl encode` does, and `encode` gives
clkhash's CLKs (the vectors clkhash 0.18.3 made, testdata/clkhash) and the CLI's bytes."""

from __future__ import annotations

import base64
import csv
import json
import subprocess
from pathlib import Path

import pytest

import pprl
from conftest import REPO

VECTORS = REPO / "testdata" / "clkhash"
# (schema, secret) of the vectors whose CLKs fill whole 64-bit words (in-memory encodings).
CASES = [("v3_full", "secret.txt"), ("v3_folds_sha512", "secret.bin"), ("v2_basic", "secret.txt"), ("v1_basic", "secret.bin")]


class _nothing:
    """No warning expected (a 32-byte secret)."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def expected(name: str) -> list[dict[str, str]]:
    with open(VECTORS / f"{name}.expected.csv", newline="") as f:
        return list(csv.DictReader(f))


def valid_rows_csv(name: str, out: Path) -> Path:
    """The vector's input without the rows clkhash refuses (positional formats have no gaps)."""
    good = {int(r["row"]) for r in expected(name) if r["clk"]}
    with open(VECTORS / f"{name}.csv", newline="") as f:
        rows = list(csv.reader(f))
    path = out / f"{name}.valid.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(rows[0])
        w.writerows(r for i, r in enumerate(rows[1:]) if i in good)
    return path


@pytest.mark.parametrize("name, secret", CASES)
def test_clks_and_rejects_equal_clkhash(name, secret, work):
    schema = pprl.Schema.load(VECTORS / f"{name}.schema.json")
    assert schema.kind == "clkhash" and schema.id_column is None and len(schema.fingerprint) == 64
    with pytest.warns(UserWarning, match="32 random bytes") if secret == "secret.txt" else _nothing():
        enc = pprl.encode(VECTORS / f"{name}.csv", schema, secret_file=VECTORS / secret, threads=2)
    want = expected(name)
    # Rejected rows: exactly those clkhash's validation refuses, naming the same column.
    assert [(r["row"] - 1, r["field"]) for r in enc.rejects] == [
        (int(r["row"]), r["invalid_field"]) for r in want if not r["clk"]
    ]
    assert len(enc.rejects) > 0
    assert enc.ids == [r["row"] for r in want if r["clk"]]  # named by position, as clkhash does
    # The positional formats refuse a file with gaps.
    with pytest.raises(pprl.InputError) as e:
        enc.write(work / f"{name}.gaps.json", format="clkhash-json")
    assert e.value.code == "encode-rows-rejected"
    assert not (work / f"{name}.gaps.json").exists()
    # The valid rows alone: clkhash's own CLKs, bit for bit.
    valid = valid_rows_csv(name, work)
    with pytest.warns(UserWarning) if secret == "secret.txt" else _nothing():
        enc = pprl.encode(valid, schema, secret_file=VECTORS / secret)
    ours = work / f"{name}.py.json"
    enc.write(ours, format="clkhash-json")
    clks = json.loads(ours.read_text())["clks"]
    assert clks == [r["clk"] for r in want if r["clk"]]
    assert all(len(base64.b64decode(c)) * 8 == enc.bits for c in clks)


@pytest.mark.parametrize("fmt", ["clkhash-json", "clk", "anonlink-binary"])
def test_clkhash_schema_encode_equals_cli_bytes(pprl_bin, work, fmt):
    name, secret = "v3_full", VECTORS / "secret.txt"
    schema_path = VECTORS / f"{name}.schema.json"
    valid = valid_rows_csv(name, work)
    theirs = work / f"cli-{name}.{fmt}"
    subprocess.run(
        [pprl_bin, "encode", "--schema", str(schema_path), "--secret-file", str(secret), "--format", fmt,
         "--quiet", "-o", str(theirs), str(valid)],
        check=True,
        capture_output=True,
    )
    schema = pprl.Schema.load(schema_path)
    with pytest.warns(UserWarning):
        enc = pprl.encode(valid, schema, secret_file=secret)
    ours = work / f"py-{name}.{fmt}"
    enc.write(ours, format=fmt)
    assert ours.read_bytes() == theirs.read_bytes()
    # Columns in memory (here a mapping) give the same encodings as the file.
    with open(valid, newline="") as f:
        rows = list(csv.reader(f))
    cols = {name: [r[i] for r in rows[1:]] for i, name in enumerate(rows[0])}
    with pytest.warns(UserWarning):
        again = pprl.encode(cols, schema, secret_file=secret)
    assert (again.to_numpy() == enc.to_numpy()).all() and again.ids == enc.ids


def test_clkhash_lengths_off_whole_words_are_refused_in_memory():
    # l = 1000 is not a whole number of 64-bit words, which in-memory encodings (and `.clk`)
    # hold; `pprl encode --format clkhash-json` streams such CLKs to a file instead.
    with pytest.warns(UserWarning, match="xorFolds = 2 has no effect"):
        schema = pprl.Schema.load(VECTORS / "v3_odd_length.schema.json")
    with pytest.raises(pprl.PprlError) as e, pytest.warns(UserWarning):
        pprl.encode(VECTORS / "v3_odd_length.csv", schema, secret_file=VECTORS / "secret.txt")
    assert e.value.code == "encode-filter-bits"


def test_bad_clkhash_schema_is_a_schema_error(work):
    bad = work / "bad.clkhash.json"
    bad.write_text(json.dumps({"version": 3, "clkConfig": {"l": 0}, "features": []}))
    with pytest.raises(pprl.SchemaError) as e:
        pprl.Schema.load(bad)
    assert e.value.code == "clkhash-schema-invalid" and e.value.field == "clkConfig.l"
