"""A multi-process run of `pprl.spark`: a standalone Spark cluster on loopback (one master and two
workers of one core each, started here from the pip package's `bin/spark-class` and stopped at
the end), an application with one executor per worker, and a synthetic pair of 20,000 x 20,000
records: the same links as `pprl match --blocking keys`, with a task that fails once retried.

Every process binds 127.0.0.1 (`SPARK_LOCAL_IP`, the master's and workers' `--host`, the
driver's host and bind address); the web UIs bind there too (Spark binds them to
`SPARK_LOCAL_IP`), and the application's UI is off. Skipped as `test_spark.py` is.
"""

from __future__ import annotations

import csv
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO

BLOCKING_SCHEMA = REPO / "examples" / "person_blocking.toml"

if importlib.util.find_spec("pyspark") is None or shutil.which("java") is None:
    if os.environ.get("PPRL_SPARK_TESTS") == "1":
        raise RuntimeError("PPRL_SPARK_TESTS=1 but PySpark or Java is missing")
    pytest.skip("PySpark or Java is not installed", allow_module_level=True)

import pprl.spark as ps  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen, log: Path, seconds: float = 240) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"Spark process exited early:\n{log.read_text()[-3000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {seconds} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory):
    import pyspark

    home = Path(pyspark.__file__).parent
    spark_class = home / "bin" / "spark-class"
    work = tmp_path_factory.mktemp("cluster")
    env = dict(
        os.environ,
        SPARK_HOME=str(home),
        SPARK_LOCAL_IP="127.0.0.1",
        SPARK_LOG_DIR=str(work / "logs"),
        SPARK_WORKER_DIR=str(work / "work"),
        PYSPARK_PYTHON=sys.executable,
    )
    port = free_port()
    procs: list[subprocess.Popen] = []
    logs: list = []

    def start(name: str, *args: str) -> tuple[subprocess.Popen, Path]:
        log = work / f"{name}.log"
        out = open(log, "w")
        logs.append(out)
        proc = subprocess.Popen([str(spark_class), *args], env=env, stdout=out, stderr=subprocess.STDOUT)
        procs.append(proc)
        return proc, log

    try:
        master, log = start(
            "master", "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
            "--webui-port", str(free_port()),
        )
        wait_for_port(port, master, log)
        for w in (1, 2):
            start(
                f"worker{w}", "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1", "--cores", "1",
                "--memory", "1g", "--webui-port", str(free_port()), "--work-dir", str(work / f"work{w}"),
                f"spark://127.0.0.1:{port}",
            )
        yield f"spark://127.0.0.1:{port}"
    finally:
        for proc in reversed(procs):  # only the processes started here, by their ids
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for out in logs:
            out.close()


@pytest.fixture(scope="module")
def spark(cluster: str):
    from pyspark.sql import SparkSession

    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    os.environ["PYSPARK_PYTHON"] = sys.executable
    session = (
        SparkSession.builder.master(cluster)
        .appName("pprl-cluster-test")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.executor.cores", "1")
        .config("spark.executor.memory", "768m")
        .config("spark.cores.max", "2")
        .config("spark.task.maxFailures", "2")
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    # Both workers' executors registered (the driver counts as one more).
    deadline = time.time() + 240
    while session.sparkContext._jsc.sc().getExecutorMemoryStatus().size() < 3:
        if time.time() > deadline:
            raise RuntimeError("the two executors did not register within 240 s")
        time.sleep(1)
    yield session
    session.stop()


def test_cluster_links_equal_cli_20k(spark, pprl_bin, tmp_path):
    subprocess.run([pprl_bin, "synth", "--records", "20000", "--seed", "5", "--out-dir", str(tmp_path), "-q"], check=True)
    secret = tmp_path / "secret.key"
    subprocess.run([pprl_bin, "keygen", "--output", str(secret)], check=True, capture_output=True)
    for side in "ab":
        subprocess.run(
            [pprl_bin, "encode", "--schema", str(BLOCKING_SCHEMA), "--secret-file", str(secret), "-q",
             "-o", str(tmp_path / f"{side}.clk"), str(tmp_path / f"party_{side}.csv")],
            check=True,
        )
    cli = tmp_path / "cli.csv"
    subprocess.run(
        [pprl_bin, "match", str(tmp_path / "a.clk"), str(tmp_path / "b.clk"), "-t", "0.8", "--blocking", "keys",
         "-q", "-o", str(cli)],
        check=True,
    )
    with open(cli, newline="") as f:
        want = [tuple(r) for r in list(csv.reader(f))[1:]]
    assert len(want) > 8000  # 20,000 x 20,000, overlap 0.5: 10,000 true pairs
    marker = tmp_path / "failed-once"
    a = ps.from_encodings(spark, tmp_path / "a.clk", partitions=4)
    b = ps.from_encodings(spark, tmp_path / "b.clk", partitions=4)
    m = ps.match(a, b, threshold=0.8, blocking="keys", partitions=6, _fail_once=marker)
    assert marker.exists()  # a task failed on an executor, and was retried
    t = m.to_arrow()
    got = [(x, y, f"{s:.6f}") for x, y, s in zip(t["a_id"].to_pylist(), t["b_id"].to_pylist(), t["score"].to_pylist())]
    assert got == want
    assert m.report["records"] == [20000, 20000] and m.report["reduction_ratio"] > 0.99
