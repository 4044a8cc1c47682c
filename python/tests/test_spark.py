"""`pprl.spark` in a local Spark (`local[2,2]`: two task threads, a failed task retried once),
every Spark process on loopback: the same links as `pprl match` with the same blocking, for any
partition count, with hot blocks split, with a task that fails once, and Spark's encoding gives
`pprl encode`'s records and bits.

Skipped when PySpark or Java is missing, unless PPRL_SPARK_TESTS=1 (as `.ci/run` sets), which
makes a missing PySpark a failure.
"""

from __future__ import annotations

import csv
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import pprl
from conftest import REPO

BLOCKING_SCHEMA = REPO / "examples" / "person_blocking.toml"
REQUIRED = os.environ.get("PPRL_SPARK_TESTS") == "1"

if importlib.util.find_spec("pyspark") is None or shutil.which("java") is None:
    if REQUIRED:
        raise RuntimeError("PPRL_SPARK_TESTS=1 but PySpark or Java is missing")
    pytest.skip("PySpark or Java is not installed", allow_module_level=True)

import pprl.spark as ps  # noqa: E402


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    # Loopback only: the driver, its block manager and the Python workers bind 127.0.0.1, no UI.
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    session = (
        SparkSession.builder.master("local[2,2]")
        .appName("pprl-tests")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.default.parallelism", "2")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def files(pprl_bin: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two synthetic parties of 1,500 records, encoded by the CLI with blocking keys."""
    out = tmp_path_factory.mktemp("spark")
    subprocess.run([pprl_bin, "synth", "--records", "1500", "--seed", "21", "--out-dir", str(out), "-q"], check=True)
    secret = out / "secret.key"
    subprocess.run([pprl_bin, "keygen", "--output", str(secret)], check=True, capture_output=True)
    paths = {"dir": out, "secret": secret, "truth": out / "truth.csv"}
    for side in "ab":
        clk = out / f"{side}.clk"
        subprocess.run(
            [pprl_bin, "encode", "--schema", str(BLOCKING_SCHEMA), "--secret-file", str(secret), "-q",
             "-o", str(clk), str(out / f"party_{side}.csv")],
            check=True,
        )
        paths[side] = clk
        paths[f"csv_{side}"] = out / f"party_{side}.csv"
    return paths


def cli_links(pprl_bin: str, files: dict[str, Path], blocking: str, solver: str = "greedy", t: str = "0.8") -> list[tuple[str, str, str]]:
    out = files["dir"] / f"cli-{blocking}-{solver}-{t}.csv"
    if not out.exists():
        subprocess.run(
            [pprl_bin, "match", str(files["a"]), str(files["b"]), "-t", t, "--blocking", blocking,
             "--solver", solver, "-q", "-o", str(out)],
            check=True,
        )
    with open(out, newline="") as f:
        return [tuple(r) for r in list(csv.reader(f))[1:]]  # type: ignore[misc]


def rows(m: ps.SparkMatch) -> list[tuple[str, str, str]]:
    t = m.to_arrow()
    return [(x, y, f"{s:.6f}") for x, y, s in zip(t["a_id"].to_pylist(), t["b_id"].to_pylist(), t["score"].to_pylist())]


@pytest.mark.parametrize("blocking", ["keys", "lsh", "none"])
def test_match_equals_cli_for_any_partitions(spark, pprl_bin, files, blocking):
    want = cli_links(pprl_bin, files, blocking)
    assert len(want) > 500  # 1,500 x 1,500, overlap 0.5: about 690 links at 0.8 (measured)
    for pa_, pb_, parts in [(1, 1, 1), (3, 2, 5)]:
        a = ps.from_encodings(spark, files["a"], partitions=pa_)
        b = ps.from_encodings(spark, files["b"], partitions=pb_)
        m = ps.match(a, b, threshold=0.8, blocking=None if blocking == "none" else blocking, partitions=parts)
        assert rows(m) == want, (blocking, parts)
        assert m.report["candidates"] >= len(want) and m.report["links"] == len(want)
        assert set(m.timings) == {"stats", "blocks", "compare", "collect", "solve", "report"}
    if blocking == "lsh":
        assert m.blocking["lsh"] is not None and m.report["reduction_ratio"] > 0.5
    if blocking == "keys":
        assert m.blocking["keys"] and m.report["reduction_ratio"] > 0.9


@pytest.mark.parametrize("solver", ["none", "optimal"])
def test_other_solvers_equal_cli(spark, pprl_bin, files, solver):
    want = cli_links(pprl_bin, files, "keys", solver=solver, t="0.7")
    a, b = ps.from_encodings(spark, files["a"]), ps.from_encodings(spark, files["b"])
    m = ps.match(a, b, threshold=0.7, blocking="keys", solver=solver)
    got = rows(m)
    if solver == "none":  # every candidate: the CLI writes them as found, Spark in solver order
        assert sorted(got) == sorted(want)
    else:
        assert got == want


def test_hot_blocks_are_split_not_dropped(spark, pprl_bin, files):
    want = cli_links(pprl_bin, files, "none")
    a, b = ps.from_encodings(spark, files["a"], partitions=2), ps.from_encodings(spark, files["b"], partitions=2)
    # Every pair compared: one block of 1,500 x 1,500, cut into 6 x 6 cells of <= 256 a side.
    m = ps.match(a, b, threshold=0.8, block_cap=256, partitions=3)
    assert m.report["split_blocks"] == 1 and m.report["cells"] == 36
    assert m.report["largest_block"] == [1500, 1500]
    assert rows(m) == want
    # Blocked by LSH with a cap below its largest blocks: the blocks over it are split.
    lsh = ps.match(a, b, threshold=0.8, blocking="lsh", block_cap=4)
    assert lsh.report["split_blocks"] > 0 and rows(lsh) == cli_links(pprl_bin, files, "lsh")


def test_a_task_that_fails_once_is_retried_with_the_same_result(spark, pprl_bin, files, tmp_path):
    marker = tmp_path / "failed-once"
    a, b = ps.from_encodings(spark, files["a"]), ps.from_encodings(spark, files["b"])
    m = ps.match(a, b, threshold=0.8, blocking="keys", _fail_once=marker)
    assert marker.exists()  # a task did fail
    assert rows(m) == cli_links(pprl_bin, files, "keys")


def test_pair_completeness_with_truth(spark, files):
    a, b = ps.from_encodings(spark, files["a"]), ps.from_encodings(spark, files["b"])
    with open(files["truth"], newline="") as f:
        truth = [tuple(r) for r in list(csv.reader(f))[1:]]
    m = ps.match(a, b, threshold=0.8, blocking="lsh", truth=truth)
    assert m.report["true_pairs"] == len(truth) == 750
    # LSH targets a pair completeness of 0.99 at the threshold; the true pairs below the
    # threshold collide less often (0.93 measured).
    assert 0.85 < m.report["pair_completeness"] <= 1.0
    full = ps.match(a, b, threshold=0.8, truth=truth)
    assert full.report["pair_completeness"] == 1.0


def test_spark_encode_equals_cli(spark, files, work):
    df = spark.read.option("header", True).csv(str(files["csv_a"]))
    enc, rejects = ps.encode(df, BLOCKING_SCHEMA, secret_file=files["secret"])
    cli = pprl.Encodings.read(files["a"])
    assert enc.key_fingerprint == cli.key_fingerprint and enc.bits == cli.bits
    assert enc.block_keys == cli.block_keys > 0
    got = enc.df.orderBy("pos").toArrow()
    assert got["id"].to_pylist() == cli.ids
    words = np.frombuffer(b"".join(got["clk"].to_pylist()), dtype=np.uint64).reshape(len(cli), -1)
    assert (words == cli.to_numpy()).all()
    keys = np.array(got["blocks"].to_pylist(), dtype=np.int64).view(np.uint64)
    assert (keys == cli.blocks_numpy()).all()
    assert rejects.count() == 0
    # Spark's encodings match like the CLI's.
    m = ps.match(enc, ps.from_encodings(spark, files["b"]), threshold=0.8, blocking="keys")
    assert len(rows(m)) == m.report["links"] > 500


def test_spark_encode_reports_rejects(spark, files, tmp_path):
    bad = tmp_path / "bad.csv"
    lines = files["csv_a"].read_text().splitlines()
    lines[3] = "," + lines[3].split(",", 1)[1]  # row 3 without its record id
    bad.write_text("\n".join(lines[:50]) + "\n")
    df = spark.read.option("header", True).csv(str(bad))
    enc, rejects = ps.encode(df, BLOCKING_SCHEMA, secret_file=files["secret"], distribute_secret=False)
    got = rejects.toArrow().to_pylist()
    assert len(got) == 1 and got[0]["code"] == "missing-id" and got[0]["reason"]
    assert enc.df.count() == 48


def test_mismatched_secrets_are_refused(spark, files, pprl_bin, tmp_path):
    other = tmp_path / "other.key"
    subprocess.run([pprl_bin, "keygen", "--output", str(other)], check=True, capture_output=True)
    enc = pprl.encode(files["csv_b"], pprl.Schema.load(BLOCKING_SCHEMA), secret_file=other)
    with pytest.raises(pprl.KeyMismatchError):
        ps.match(ps.from_encodings(spark, files["a"]), ps.from_encodings(spark, enc), threshold=0.8)
    with pytest.raises(ValueError, match="auto"):
        ps.match(ps.from_encodings(spark, files["a"]), ps.from_encodings(spark, files["b"]), threshold="auto")  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def parties(pprl_bin: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One party of 1,000 records with 20 % duplicates, and three parties of 1,000 records,
    encoded by the CLI with blocking keys under one secret."""
    out = tmp_path_factory.mktemp("parties")
    secret = out / "secret.key"
    subprocess.run([pprl_bin, "keygen", "--output", str(secret)], check=True, capture_output=True)
    paths = {"dir": out, "secret": secret}
    for name, extra in [("one", ["--parties", "1", "--duplicates", "0.2"]), ("three", ["--parties", "3"])]:
        d = out / name
        subprocess.run([pprl_bin, "synth", "--records", "1000", "--seed", "4", *extra, "--out-dir", str(d), "-q"], check=True)
        for side in "abc":
            if (d / f"party_{side}.csv").exists():
                paths[f"{name}_{side}"] = d / f"party_{side}.clk"
                paths[f"{name}_{side}_csv"] = d / f"party_{side}.csv"
                subprocess.run(
                    [pprl_bin, "encode", "--schema", str(BLOCKING_SCHEMA), "--secret-file", str(secret), "-q",
                     "-o", str(d / f"party_{side}.clk"), str(d / f"party_{side}.csv")],
                    check=True,
                )
    return paths


def cli_rows(pprl_bin: str, inputs: list[Path], out: Path, *args: str) -> list[tuple[str, ...]]:
    subprocess.run([pprl_bin, "match", *map(str, inputs), "-t", "0.8", *args, "-q", "-o", str(out)], check=True)
    with open(out, newline="") as f:
        return [tuple(r) for r in list(csv.reader(f))[1:]]


def table_rows(m: ps.SparkMatch) -> list[tuple[str, ...]]:
    t = m.to_arrow()
    cols = [t[c].to_pylist() for c in t.column_names]
    return [tuple(f"{v:.6f}" if isinstance(v, float) else str(v) for v in r) for r in zip(*cols)]


def test_dedup_equals_cli(spark, pprl_bin, parties):
    one = parties["one_a"]
    d = parties["dir"]
    x = ps.from_encodings(spark, one, partitions=3)
    for clustering in ["average", "components"]:
        want = cli_rows(pprl_bin, [one], d / f"dedup-{clustering}.csv", "--blocking", "keys", "--cluster", clustering)
        assert len(want) > 200  # 1,000 records, 20 % duplicates: about 350 clustered (measured)
        m = ps.match(x, threshold=0.8, blocking="keys", clustering=clustering, partitions=5)
        assert table_rows(m) == want, clustering
        assert m.links is None and m.report["clustered"] == len(want) and m.report["records"] == [1000]
    # Every pair, with solver none: the pairs as a set; the one 1,000-record block split in 4 x 4.
    want = cli_rows(pprl_bin, [one], d / "dedup-none.csv", "--blocking", "none", "--solver", "none")
    m = ps.match(x, threshold=0.8, solver="none", block_cap=250, partitions=4)
    assert m.report["split_blocks"] == 1 and m.report["cells"] == 16
    assert m.report["pairs_in_blocks"] == m.report["total_pairs"] == 1000 * 999 // 2
    assert sorted(table_rows(m)) == sorted(want) and len(want) > 150


def test_three_parties_equal_cli(spark, pprl_bin, parties):
    files = [parties[f"three_{s}"] for s in "abc"]
    xs = [ps.from_encodings(spark, f, partitions=2) for f in files]
    for clustering, blocking in [("average", "keys"), ("components", "lsh")]:
        want = cli_rows(pprl_bin, files, parties["dir"] / f"three-{clustering}.csv", "--blocking", blocking,
                        "--cluster", clustering)
        assert len(want) > 1000  # three parties of 1,000, overlap 0.5: about 1,390 clustered (measured)
        m = ps.match(*xs, threshold=0.8, blocking=blocking, clustering=clustering, partitions=3)
        assert table_rows(m) == want, clustering
        assert len(m.plans) == 3 and m.report["records"] == [1000, 1000, 1000]


def test_spark_encode_refuses_duplicate_ids_across_batches(spark, files, tmp_path):
    lines = files["csv_a"].read_text().splitlines()
    # The last row repeats the first row's id: 1,500 rows apart, in different Arrow batches of 100.
    last = lines[1].split(",", 1)[0] + "," + lines[-1].split(",", 1)[1]
    bad = tmp_path / "dup.csv"
    bad.write_text("\n".join(lines[:-1] + [last]) + "\n")
    df = spark.read.option("header", True).csv(str(bad))
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "100")
    try:
        with pytest.raises(pprl.InputError) as e:
            ps.encode(df, BLOCKING_SCHEMA, secret_file=files["secret"])
        assert e.value.code == "encode-duplicate-id"
        enc, _ = ps.encode(df, BLOCKING_SCHEMA, secret_file=files["secret"], check_ids=False)
        assert enc.df.count() == 1500  # each batch alone has distinct ids
    finally:
        spark.conf.unset("spark.sql.execution.arrow.maxRecordsPerBatch")
