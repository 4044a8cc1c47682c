"""`pprl.synth` gives the records and the truth of `pprl synth` with the same seed and options."""

from __future__ import annotations

import csv
import subprocess
from pathlib import Path

import pytest

import pprl
from conftest import COLUMNS


def read_csv(path: Path) -> dict[str, list[str]]:
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return {name: [r[i] for r in rows[1:]] for i, name in enumerate(rows[0])}


def as_strings(table: pprl.Table) -> dict[str, list[str]]:
    return {k: [str(v) for v in vs] for k, vs in table.to_pydict().items()}


def cli_synth(pprl_bin: str, out: Path, *args: str) -> None:
    subprocess.run([pprl_bin, "synth", "--out-dir", str(out), "--quiet", *args], check=True, capture_output=True)


@pytest.mark.parametrize(
    "options, args",
    [
        (dict(records=600, seed=5), ["--records", "600", "--seed", "5"]),
        (
            dict(records=400, seed=9, parties=3, overlap=0.3, duplicates=0.1, corruption="high",
                 rates={"given_name.typo": 0.2, "surname.missing": 0.05}),
            ["--records", "400", "--seed", "9", "--parties", "3", "--overlap", "0.3", "--duplicates", "0.1",
             "--corruption", "high", "--rate", "given_name.typo=0.2", "--rate", "surname.missing=0.05"],
        ),
        (dict(records=300, seed=2, parties=1, duplicates=0.2, corruption="none"),
         ["--records", "300", "--seed", "2", "--parties", "1", "--duplicates", "0.2", "--corruption", "none"]),
    ],
)
def test_tables_equal_cli_files(pprl_bin, work, options, args):
    name = "-".join(args).replace("=", "_")
    theirs = work / f"cli-synth-{name}"
    cli_synth(pprl_bin, theirs, *args)
    pop = pprl.synth(**options, threads=2)
    assert len(pop.parties) == options.get("parties", 2)
    for p, table in enumerate(pop.parties):
        assert table.column_names == COLUMNS
        assert len(table) == options["records"]
        assert as_strings(table) == read_csv(theirs / f"party_{'abc'[p]}.csv")
    assert as_strings(pop.truth) == read_csv(theirs / "truth.csv")
    # `write` gives the CLI's files byte for byte.
    ours = work / f"py-synth-{name}"
    written = pop.write(ours, threads=1)
    assert [Path(w).name for w in written] == [f.name for f in sorted(theirs.iterdir()) if f.name != "truth.csv"] + ["truth.csv"]
    for f in theirs.iterdir():
        assert (ours / f.name).read_bytes() == f.read_bytes(), f.name


def test_truth_formats_and_counts():
    two = pprl.synth(1000, seed=3)
    assert two.truth_format == "pairs" and two.truth.column_names == ["a_id", "b_id"]
    assert len(two.truth) == two.shared_per_party == 500  # round(0.5 x 1000)
    assert two.duplicates_per_party == 0 and two.seed == 3
    dups = pprl.synth(1000, seed=3, parties=1, duplicates=0.25)
    assert dups.truth_format == "entities"
    truth = dups.truth.to_pydict()
    assert list(truth) == ["entity_id", "party", "record_id"] and set(truth["party"]) == {0}
    assert dups.duplicates_per_party == 250
    assert len(set(truth["entity_id"])) == 750  # duplicates share their original's entity


def test_same_seed_same_records_for_any_thread_count():
    a = pprl.synth(5000, seed=11, threads=1)
    b = pprl.synth(5000, seed=11, threads=3)
    c = pprl.synth(5000, seed=12, threads=3)
    assert a.parties[1].to_pydict() == b.parties[1].to_pydict()
    assert a.parties[1].to_pydict() != c.parties[1].to_pydict()


def test_tables_feed_encode_and_arrow(schema, secret):
    pa = pytest.importorskip("pyarrow")
    pop = pprl.synth(800, seed=11)
    enc = pprl.encode(pop.parties[0], schema, secret_file=secret)  # the Arrow stream, no pyarrow needed
    assert len(enc) + len(enc.rejects) == 800 and len(enc) > 700
    t = pa.table(pop.parties[1])
    assert t.num_rows == 800 and t.column("record_id")[0].as_py() == "b-000001"
    assert pop.truth.to_arrow().num_rows == 400


def test_bad_options_are_errors():
    with pytest.raises(ValueError, match="overlap needs two parties"):
        pprl.synth(10, seed=1, parties=1, overlap=0.5)
    with pytest.raises(pprl.PprlError) as e:
        pprl.synth(10, seed=1, rates={"given_name.nonsense": 0.1})
    assert e.value.code == "synth-unknown-rate"
    with pytest.raises(pprl.PprlError) as e:
        pprl.synth(10, seed=1, duplicates=1.0)
    assert e.value.code == "synth-duplicates"
    with pytest.raises(ValueError, match="corruption"):
        pprl.synth(10, seed=1, corruption="extreme")  # type: ignore[arg-type]
