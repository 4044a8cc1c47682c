"""Times `pprl.spark.match` per stage on a standalone Spark cluster on loopback (one master and
W workers of one core each, started here from the pip package's `bin/spark-class` and stopped
at the end, as `python/tests/test_spark_cluster.py` does), for the cost model in docs/spark.md.

Usage (from the repository root, with a release wheel in the interpreter's environment):

    pprl synth --records 1000000 --seed 7 --out-dir s1m
    pprl keygen --output secret.key
    pprl encode --schema examples/person_blocking.toml --secret-file secret.key -q -o s1m/a.clk s1m/party_a.csv
    (the same for b)
    python python/bench/spark_scale.py s1m WORKERS [PARTITIONS] [BLOCKING]

Reads `a.clk` and `b.clk` of the directory (converted once to Parquet beside them, outside the
timings, so Spark reads the encodings as a deployment would), matches them at 0.8 with
`blocking` (default `keys`) into `partitions` buckets (default 16 per worker), writes the
links as Parquet, and prints one JSON line: the sizes, the stage timings of `ps.match`, the
links' write time, the block report, the shuffle bytes written and the executors' run time per
Spark stage (from the application's REST API on loopback), and the load average.
Every process binds 127.0.0.1; the UIs bind there too. Environment: WORKER_MEMORY (3g),
EXECUTOR_MEMORY (2g), SPLIT_BYTES (input split size, Spark's 128 MB by default).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pyarrow.parquet as pq

import pprl
import pprl.spark as ps


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, seconds: float = 240) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


def parquet(d: Path, side: str) -> tuple[Path, pprl.Encodings]:
    enc = pprl.Encodings.read(d / f"{side}.clk")
    out = d / f"{side}.parquet"
    if not out.exists():
        import numpy as np

        tmp = d / f".{side}.parquet.tmp"
        pq.write_table(ps._encodings_table(enc, np.arange(len(enc))), tmp, row_group_size=65536)
        os.replace(tmp, out)
    return out, enc


def main() -> None:
    d = Path(sys.argv[1])
    workers = int(sys.argv[2])
    partitions = int(sys.argv[3]) if len(sys.argv) > 3 else 16 * workers
    blocking = sys.argv[4] if len(sys.argv) > 4 else "keys"
    worker_mem = os.environ.get("WORKER_MEMORY", "3g")
    exec_mem = os.environ.get("EXECUTOR_MEMORY", "2g")
    (pa_path, enc_a), (pb_path, enc_b) = parquet(d, "a"), parquet(d, "b")

    import pyspark

    home = Path(pyspark.__file__).parent
    work = Path(tempfile.mkdtemp(prefix="pprl-spark-scale-"))
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
    logs = []

    def start(name: str, *args: str) -> None:
        out = open(work / f"{name}.log", "w")
        logs.append(out)
        procs.append(
            subprocess.Popen([str(home / "bin" / "spark-class"), *args], env=env, stdout=out, stderr=subprocess.STDOUT)
        )

    try:
        start("master", "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
              "--webui-port", str(free_port()))
        wait_for_port(port)
        for w in range(workers):
            start(f"worker{w}", "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1", "--cores", "1",
                  "--memory", worker_mem, "--webui-port", str(free_port()), "--work-dir", str(work / f"work{w}"),
                  f"spark://127.0.0.1:{port}")
        result = run(f"spark://127.0.0.1:{port}", workers, partitions, blocking, exec_mem, work,
                     (pa_path, enc_a), (pb_path, enc_b))
        print(json.dumps(result), flush=True)
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
        shutil.rmtree(work, ignore_errors=True)


def run(master, workers, partitions, blocking, exec_mem, work, a_side, b_side) -> dict:
    from pyspark.sql import SparkSession

    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    os.environ["PYSPARK_PYTHON"] = sys.executable
    ui = free_port()
    spark = (
        SparkSession.builder.master(master)
        .appName("pprl-spark-scale")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "true")  # bound to SPARK_LOCAL_IP: read for the stage metrics
        .config("spark.ui.port", str(ui))
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.executor.cores", "1")
        .config("spark.executor.memory", exec_mem)
        .config("spark.driver.memory", "3g")
        .config("spark.cores.max", str(workers))
        .config("spark.sql.shuffle.partitions", str(partitions))
        # Input splits: the block-size aggregation runs in the read tasks (2 GB executors ran
        # out of aggregation memory with the default 128 MB splits at 500k records a side).
        .config("spark.sql.files.maxPartitionBytes", os.environ.get("SPLIT_BYTES", str(128 << 20)))
        .config("spark.local.dir", str(work / "local"))
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    deadline = time.time() + 240
    while spark.sparkContext._jsc.sc().getExecutorMemoryStatus().size() < workers + 1:
        if time.time() > deadline:
            raise RuntimeError("executors did not register")
        time.sleep(1)
    sides = []
    for path, enc in (a_side, b_side):
        df = spark.read.parquet(str(path))
        sides.append(ps.SparkEncodings(df, enc.bits, enc.block_keys, enc.schema_fingerprint, enc.key_fingerprint))
    t0 = time.perf_counter()
    m = ps.match(sides[0], sides[1], threshold=0.8, blocking=blocking, partitions=partitions)
    total = time.perf_counter() - t0
    t1 = time.perf_counter()
    m.links.write.parquet(str(work / "links"))
    write = time.perf_counter() - t1
    app = spark.sparkContext.applicationId
    with urllib.request.urlopen(f"http://127.0.0.1:{ui}/api/v1/applications/{app}/stages?status=complete") as r:
        stages = json.load(r)
    spark.stop()
    per_stage = [
        {
            "id": s["stageId"],
            "name": s["name"][:60],
            "tasks": s["numTasks"],
            "run_s": round(s["executorRunTime"] / 1000, 2),
            "cpu_s": round(s["executorCpuTime"] / 1e9, 2),
            "in_bytes": s["inputBytes"],
            "shuffle_read": s["shuffleReadBytes"],
            "shuffle_write": s["shuffleWriteBytes"],
            "shuffle_write_records": s["shuffleWriteRecords"],
            "peak_exec_mem": s.get("peakExecutionMemory", 0),
            "spilled_mem": s.get("memoryBytesSpilled", 0),
            "spilled_disk": s.get("diskBytesSpilled", 0),
        }
        for s in sorted(stages, key=lambda s: s["stageId"])
    ]
    return {
        "records": m.report["records"],
        "workers": workers,
        "partitions": partitions,
        "blocking": blocking,
        "timings": m.timings,
        "match_s": round(total, 2),
        "write_links_s": round(write, 2),
        "report": m.report,
        "shuffle_write_bytes": sum(s["shuffle_write"] for s in per_stage),
        "executor_run_s": round(sum(s["run_s"] for s in per_stage), 2),
        "executor_cpu_s": round(sum(s["cpu_s"] for s in per_stage), 2),
        "peak_exec_mem": max((s["peak_exec_mem"] for s in per_stage), default=0),
        "stages": per_stage,
        "loadavg": os.getloadavg(),
    }


if __name__ == "__main__":
    main()
