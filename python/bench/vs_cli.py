"""Times `pprl.encode` and `pprl.match` against the `pprl` binary on the same files.

Usage (from the repository root, with release builds of the wheel and the binary):

    pprl synth --records 100000 --seed 3 --out-dir s100k
    pprl keygen secret.key
    pprl encode --schema examples/person.toml --secret-file secret.key -q -o b.clk s100k/party_b.csv
    python python/bench/vs_cli.py PPRL_BIN s100k/party_a.csv b.clk secret.key [THREADS] [RUNS]

Prints the median and minimum wall and CPU time (user + system, of the child process for the
CLI, of this process for Python) over interleaved runs. With pyarrow installed, also times
`pprl.encode` of the export already in memory as a pyarrow table (read once, before the runs),
which is the Arrow input path. See docs/benchmarks.md.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pprl

SCHEMA = "examples/person.toml"


def cpu(who: int) -> float:
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def main() -> None:
    cli, csv_a, clk_b, secret = sys.argv[1:5]
    threads = sys.argv[5] if len(sys.argv) > 5 else "2"
    runs = int(sys.argv[6]) if len(sys.argv) > 6 else 6
    out = Path(tempfile.mkdtemp())
    schema = pprl.Schema.load(SCHEMA)
    clk_a = out / "a.clk"
    subprocess.run([cli, "encode", "--schema", SCHEMA, "--secret-file", secret, "-q", "-o", str(clk_a), csv_a], check=True)
    try:
        import pyarrow.csv as pacsv  # type: ignore

        table = pacsv.read_csv(csv_a, convert_options=pacsv.ConvertOptions(
            column_types={c: "string" for c in ["record_id", "given_name", "surname", "date_of_birth", "sex", "postcode", "address"]},
            strings_can_be_null=False))
    except ImportError:
        table = None
    jobs = {
        "encode cli": lambda: subprocess.run(
            [cli, "encode", "--schema", SCHEMA, "--secret-file", secret, "--threads", threads, "-q",
             "-o", str(out / "c.clk"), csv_a], check=True),
        "encode py": lambda: pprl.encode(csv_a, schema, secret_file=secret, threads=int(threads)).write(out / "p.clk"),
        **({"encode py arrow": lambda: pprl.encode(table, schema, secret_file=secret, threads=int(threads)).write(out / "q.clk")}
           if table is not None else {}),
        "match cli": lambda: subprocess.run(
            [cli, "match", str(clk_a), clk_b, "-t", "0.8", "--blocking", "auto", "--threads", threads, "-q",
             "-o", str(out / "c.csv")], check=True),
        "match py": lambda: pprl.match(clk_a, clk_b, threshold=0.8, blocking="auto", threads=int(threads)).write_csv(out / "p.csv"),
    }
    times: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in jobs}
    for i in range(runs):
        for name, job in jobs.items():
            if i == 0:  # the outputs are replaced each run; start each job from none
                for f in out.glob("[cpq].*"):
                    f.unlink()
            w, c = time.perf_counter(), cpu(resource.RUSAGE_SELF) + cpu(resource.RUSAGE_CHILDREN)
            job()
            times[name][0].append(time.perf_counter() - w)
            times[name][1].append(cpu(resource.RUSAGE_SELF) + cpu(resource.RUSAGE_CHILDREN) - c)
            for f in out.glob("*.manifest.json"):
                f.unlink()
    assert (out / "c.clk").read_bytes() == (out / "p.clk").read_bytes(), "encodings differ"
    if table is not None:
        assert (out / "c.clk").read_bytes() == (out / "q.clk").read_bytes(), "Arrow encodings differ"
    assert (out / "c.csv").read_bytes() == (out / "p.csv").read_bytes(), "links differ"
    for name, (wall, cpu_s) in times.items():
        wall.sort()
        cpu_s.sort()
        print(f"{name}: wall median {wall[len(wall) // 2]:.3f} s (min {wall[0]:.3f}), "
              f"cpu median {cpu_s[len(cpu_s) // 2]:.3f} s (min {cpu_s[0]:.3f})")


if __name__ == "__main__":
    main()
