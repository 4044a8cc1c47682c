"""Side-by-side encoding speed: clkhash 0.18 vs `pprl encode`, same schema, file and secret.

    python3 -m venv /tmp/clkvenv && /tmp/clkvenv/bin/pip install clkhash==0.18.3
    cargo build --release
    /tmp/clkvenv/bin/python benches/clkhash/compare.py [--rows 50000] [--rounds 3]

Writes a synthetic person file (seeded), then, in alternating rounds, times clkhash's
`generate_clk_from_csv` (one process, `max_workers=1`, no progress bar; the CPU time of the
call and of serialising the CLKs to base64, not of starting Python) and `pprl encode --threads
1 --format clkhash-json` (the CPU time of the whole process: reading the schema, deriving
keys, reading the CSV, writing the JSON). Each round checks that both produce the same CLKs.
CPU time (user + system) is the fair per-core measure on a shared machine; wall times are
printed too. The ratio reported is the median over the rounds.
"""

import argparse
import csv
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def people(path, rows, seed=1):
    r = random.Random(seed)
    first = ["James", "Mary", "Olivia", "Noah", "Zoë", "José", "Sarah", "Ahmed", "Li",
             "Anne-Marie", "Theo", "Grace", "Oscar", "Ivy", "Harry", "Freya"]
    last = ["Smith", "Jones", "Taylor", "Brown", "Ångström", "Müller", "Patel", "Khan",
            "O'Brien", "Nowak", "García", "Wilson", "Evans", "Walker"]
    streets = ["High Street", "Station Road", "Main Street", "Park Road", "Church Lane",
               "Mill Lane", "The Avenue"]
    towns = ["Leeds", "Bristol", "Cardiff", "Glasgow", "York", "Oxford", "Bath", "Exeter"]

    def syl():
        return r.choice(["an", "el", "or", "is", "um", "ra", "ke", "li", "to", "mi", "sa",
                         "ve", "de", "no"])

    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["record_id", "given_name", "surname", "date_of_birth", "sex", "postcode",
                    "address"])
        for i in range(rows):
            g = r.choice(first) + ("" if r.random() < 0.7 else syl())
            s = r.choice(last) + ("" if r.random() < 0.5 else syl() + syl())
            area = r.choice(["LS", "BS", "CF", "G", "YO", "OX", "BA", "EX"])
            w.writerow([
                f"P{i:06d}", g, s,
                f"{r.randint(1, 28):02d}/{r.randint(1, 12):02d}/{r.randint(1930, 2010)}",
                r.choice("MF"),
                f"{area}{r.randint(1, 29)} {r.randint(1, 9)}{r.choice('ABDEFGHJ')}{r.choice('LNPQRSTU')}",
                f"{r.randint(1, 250)} {r.choice(streets)}, {r.choice(towns)}",
            ])


CLKHASH = r'''
import json, sys, time
from clkhash import clk, schema
from clkhash.serialization import serialize_bitarray
s = schema.from_json_file(open(sys.argv[1]))
secret = open(sys.argv[3], "rb").read()
wall, cpu = time.perf_counter(), time.process_time()
with open(sys.argv[2], newline="", encoding="utf-8") as f:
    clks = clk.generate_clk_from_csv(f, secret, s, progress_bar=False, max_workers=1)
out = [serialize_bitarray(c) for c in clks]
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
json.dump({"clks": out}, open(sys.argv[4], "w"))
print(json.dumps({"wall": wall, "cpu": cpu}))
'''


def run_clkhash(schema, data, secret, out):
    p = subprocess.run([sys.executable, "-c", CLKHASH, schema, data, secret, out],
                       check=True, capture_output=True, text=True)
    t = json.loads(p.stdout)
    return t["wall"], t["cpu"]


def run_pprl(pprl, schema, data, secret, out):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter()
    subprocess.run([pprl, "encode", "--quiet", "--threads", "1", "--format", "clkhash-json",
                    "--schema", schema, "--secret-file", secret, data, "-o", out],
                   check=True, capture_output=True)
    wall = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def clks(path):
    with open(path) as f:
        return json.load(f)["clks"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=50_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--pprl", default=os.path.join(ROOT, "target", "release", "pprl"))
    a = ap.parse_args()
    import clkhash
    schema = os.path.join(HERE, "person.schema.json")
    with tempfile.TemporaryDirectory() as d:
        data, secret = os.path.join(d, "people.csv"), os.path.join(d, "secret.txt")
        people(data, a.rows)
        with open(secret, "w") as f:
            f.write("correct horse battery staple")
        os.chmod(secret, 0o600)
        version = subprocess.run([a.pprl, "--version"], capture_output=True, text=True).stdout
        print(f"clkhash {clkhash.__version__}, {version.splitlines()[0]}, {a.rows} rows, "
              f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
        ratios = []
        for r in range(a.rounds):
            cw, cc = run_clkhash(schema, data, secret, os.path.join(d, "clkhash.json"))
            pw, pc = run_pprl(a.pprl, schema, data, secret, os.path.join(d, "pprl.json"))
            same = clks(os.path.join(d, "clkhash.json")) == clks(os.path.join(d, "pprl.json"))
            if not same:
                sys.exit("the CLKs differ: compatibility is broken")
            ratios.append(cc / pc)
            print(f"round {r + 1}: clkhash {cc:.2f} s CPU ({cw:.2f} s wall, "
                  f"{a.rows / cc:,.0f} records per CPU-second); pprl {pc:.3f} s CPU "
                  f"({pw:.3f} s wall, {a.rows / pc:,.0f} records per CPU-second); "
                  f"identical CLKs; {cc / pc:.1f}x")
        print(f"median: pprl is {statistics.median(ratios):.1f}x faster per core")


if __name__ == "__main__":
    main()
