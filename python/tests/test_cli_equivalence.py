"""The package gives the CLI's bits: `encode` writes the same `.clk` bytes as `pprl encode`,
and `match` the same result table as `pprl match`."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

import pprl
from conftest import SCHEMA, read_columns


def cli(pprl_bin: str, *args: str) -> None:
    subprocess.run([pprl_bin, *args, "--quiet"], check=True, capture_output=True)


@pytest.fixture(scope="session")
def cli_clks(pprl_bin: str, parties: tuple[Path, Path], secret: Path, work: Path) -> tuple[Path, Path]:
    out = []
    for csv_path in parties:
        clk = work / (csv_path.stem + ".cli.clk")
        cli(pprl_bin, "encode", "--schema", str(SCHEMA), "--secret-file", str(secret), "-o", str(clk), str(csv_path))
        out.append(clk)
    return out[0], out[1]


def test_encode_csv_path_equals_cli_bytes(parties, cli_clks, schema, secret, work):
    for csv_path, clk in zip(parties, cli_clks):
        enc = pprl.encode(csv_path, schema, secret_file=secret)
        out = work / (csv_path.stem + ".py.clk")
        enc.write(out)
        assert out.read_bytes() == clk.read_bytes()
        assert enc.counts["rows_read"] == 800
        assert len(enc) + len(enc.rejects) == 800


def test_encode_columns_equal_cli_bytes_for_any_thread_count(parties, cli_clks, schema, secret, work):
    cols = read_columns(parties[0])
    for threads in (1, 3):
        enc = pprl.encode(cols, schema, secret_file=str(secret), threads=threads)
        out = work / f"cols{threads}.clk"
        enc.write(out)
        assert out.read_bytes() == cli_clks[0].read_bytes()


def test_clkhash_formats_equal_cli(pprl_bin, parties, schema, secret, work):
    enc = pprl.encode(parties[0], schema, secret_file=secret)
    for fmt in ("clkhash-json", "anonlink-binary"):
        ours, theirs = work / f"py.{fmt}", work / f"cli.{fmt}"
        enc.write(ours, format=fmt)
        cli(pprl_bin, "encode", "--schema", str(SCHEMA), "--secret-file", str(secret), "--format", fmt, "-o", str(theirs), str(parties[0]))
        assert ours.read_bytes() == theirs.read_bytes()
        back = pprl.Encodings.read(ours)
        assert (back.to_numpy() == enc.to_numpy()).all()


@pytest.mark.parametrize("threshold", ["0.8", "auto"])
@pytest.mark.parametrize("solver", ["greedy", "none"])
def test_match_equals_cli(pprl_bin, cli_clks, work, threshold, solver):
    a, b = cli_clks
    theirs = work / f"cli-links-{threshold}-{solver}.csv"
    cli(pprl_bin, "match", str(a), str(b), "-t", threshold, "--solver", solver, "-o", str(theirs))
    t = threshold if threshold == "auto" else float(threshold)
    links = pprl.match(pprl.Encodings.read(a), b, threshold=t, solver=solver, threads=2)
    ours = work / f"py-links-{threshold}-{solver}.csv"
    links.write_csv(ours)
    assert ours.read_bytes() == theirs.read_bytes()
    assert len(links) == len(theirs.read_text().splitlines()) - 1
    assert len(links) > 100  # 800 x 800 synthetic parties, overlap 0.5: 365 links at 0.8 (measured)
    cols = links.to_pydict()
    assert cols["a_id"] == links.a_ids and len(cols["score"]) == len(links)


def test_deduplication_equals_cli(pprl_bin, parties, secret, work):
    # A file with duplicates: party a twice over, with ids made unique.
    import csv

    rows = list(csv.reader(open(parties[0], newline="")))
    dup = work / "dups.csv"
    with open(dup, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(rows[0])
        for r in rows[1:]:
            w.writerow(r)
        for r in rows[1:150]:
            w.writerow(["copy-" + r[0], *r[1:]])
    enc = pprl.encode(dup, pprl.Schema.load(SCHEMA), secret_file=secret)
    theirs = work / "cli-dups.csv"
    clk = work / "dups.clk"
    enc.write(clk)
    cli(pprl_bin, "match", str(clk), "-t", "0.9", "-o", str(theirs))
    links = pprl.match(enc, threshold=0.9)
    ours = work / "py-dups.csv"
    links.write_csv(ours)
    assert ours.read_bytes() == theirs.read_bytes()
    assert len(links.clusters) >= 149
    assert all(len(c) >= 2 for c in links.clusters)


def test_evaluate_against_synth_truth(cli_clks, parties):
    truth = parties[0].parent / "truth.csv"
    links = pprl.match(cli_clks[0], cli_clks[1], threshold=0.8)
    m = pprl.evaluate(truth, links)
    pairs = [tuple(line.split(",")) for line in truth.read_text().splitlines()[1:]]
    assert pprl.evaluate(pairs, links) == m
    assert m["tp"] + m["fp"] == len(links)
    assert m["tp"] + m["fn"] == len(set(pairs))
    # 800 records per party (synth defaults) at 0.8: 365 links, precision 1.0, recall 0.91 (measured).
    assert m["precision"] > 0.95 and m["recall"] > 0.85
