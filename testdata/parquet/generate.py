"""Writes the Parquet test files in this folder (needs pyarrow: `pip install pyarrow`).

Run from the repository root: `python3 testdata/parquet/generate.py`. The output is the same on
every run for a given pyarrow version (no timestamps or random values are written).

* dept_a.parquet, dept_b.parquet: testdata/sample/dept_{a,b}.csv as Parquet, every column a
  string, empty values stored as nulls, row groups of 100 rows, Snappy-compressed,
  dictionary-encoded. Encoding one must give the same bytes as encoding its CSV.
* types.parquet: one column per Parquet type pprl turns into text (and two it refuses), to pin
  the conversions documented in docs/guide.md.
"""

import csv
import datetime
import decimal
import pathlib

import pyarrow as pa
import pyarrow.parquet as pq

HERE = pathlib.Path(__file__).parent
SAMPLE = HERE.parent / "sample"


def department(name):
    with open(SAMPLE / f"{name}.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    columns = {
        name: pa.array([r[i] if r[i] != "" else None for r in body], pa.string())
        for i, name in enumerate(header)
    }
    pq.write_table(
        pa.table(columns),
        HERE / f"{name}.parquet",
        row_group_size=100,
        compression="snappy",
        use_dictionary=True,
    )


def types():
    day = datetime.date
    ts = datetime.datetime
    columns = {
        "id": pa.array([1, 2, 3], pa.int64()),
        "i8": pa.array([-5, None, 127], pa.int8()),
        "u16": pa.array([0, 65535, None], pa.uint16()),
        "i32": pa.array([-2147483648, 0, 42], pa.int32()),
        "u64": pa.array([18446744073709551615, 7, None], pa.uint64()),
        "f64": pa.array([1.5, 3.0, None], pa.float64()),
        "f32": pa.array([0.1, -2.0, None], pa.float32()),
        "flag": pa.array([True, False, None], pa.bool_()),
        "dob": pa.array([day(1990, 4, 14), None, day(1, 1, 1)], pa.date32()),
        "seen": pa.array(
            [ts(1990, 4, 14), ts(2001, 2, 3, 8, 30, 0), ts(2001, 2, 3, 8, 30, 0, 250000)],
            pa.timestamp("us"),
        ),
        "seen_ns": pa.array([ts(1944, 5, 21), None, ts(2020, 1, 1, 0, 0, 1)], pa.timestamp("ns")),
        "town": pa.array(["Exeter", None, "Exeter"], pa.string()).dictionary_encode(),
        "big": pa.array(["Zoë", "", None], pa.large_string()),
        "raw": pa.array([b"abc", None, b"caf\xc3\xa9"], pa.binary()),
        "bad_raw": pa.array([b"ok", b"caf\xe9", None], pa.binary()),
        "nothing": pa.array([None, None, None], pa.null()),
        "price": pa.array([decimal.Decimal("1.50"), None, decimal.Decimal("2.00")], pa.decimal128(5, 2)),
        "zoned": pa.array([ts(2000, 1, 1)] * 3, pa.timestamp("us", tz="Europe/London")),
    }
    pq.write_table(pa.table(columns), HERE / "types.parquet", compression="zstd")


if __name__ == "__main__":
    department("dept_a")
    department("dept_b")
    types()
