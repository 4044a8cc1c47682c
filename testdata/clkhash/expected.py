"""Writes the expected CLKs of the clkhash compatibility vectors, using clkhash itself.

Run from the repository root, in a virtual environment that has clkhash (see README.md):

    python3 -m venv /tmp/clkvenv && /tmp/clkvenv/bin/pip install clkhash==0.18.3
    /tmp/clkvenv/bin/python testdata/clkhash/expected.py

For every NAME in VECTORS it reads NAME.schema.json and NAME.csv and writes NAME.expected.csv
with one line per data row: `row` (clkhash's 0-based row index), `clk` (clkhash's base64 CLK,
empty for an invalid row), `invalid_field` (for an invalid row: the column clkhash's validation
names) and `message` (clkhash's message, for people). Valid rows are hashed in one call of
`clkhash.clk.generate_clk_from_csv` on a CSV of the valid rows only (clkhash stops at the first
invalid row, so invalid rows are validated one at a time with `clkhash.validate_data`).
"""

import csv
import io
import os
import sys

import clkhash
from clkhash import clk, schema, validate_data
from clkhash.serialization import serialize_bitarray

HERE = os.path.dirname(os.path.abspath(__file__))

# name -> secret file (its bytes are clkhash's secret, verbatim)
VECTORS = {
    "v3_full": "secret.txt",
    "v3_folds_sha512": "secret.bin",
    "v3_odd_length": "secret.txt",
    "v2_basic": "secret.txt",
    "v1_basic": "secret.bin",
}


def main():
    for name, secret_file in VECTORS.items():
        with open(os.path.join(HERE, secret_file), "rb") as f:
            secret = f.read()
        with open(os.path.join(HERE, name + ".schema.json")) as f:
            s = schema.from_json_file(f)
        with open(os.path.join(HERE, name + ".csv"), newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        header, data = rows[0], rows[1:]
        invalid = {}
        for i, row in enumerate(data):
            try:
                validate_data.validate_row_lengths(s.fields, [row])
                validate_data.validate_entries(s.fields, [row], i)
            except validate_data.EntryError as e:
                invalid[i] = (e.field_spec.identifier, str(e))
        valid = io.StringIO(newline="")
        w = csv.writer(valid, lineterminator="\n")
        w.writerow(header)
        w.writerows(row for i, row in enumerate(data) if i not in invalid)
        valid.seek(0)
        clks = iter(clk.generate_clk_from_csv(valid, secret, s, progress_bar=False, max_workers=1))
        with open(os.path.join(HERE, name + ".expected.csv"), "w", newline="", encoding="utf-8") as f:
            out = csv.writer(f, lineterminator="\n")
            out.writerow(["row", "clk", "invalid_field", "message"])
            for i in range(len(data)):
                if i in invalid:
                    out.writerow([i, "", invalid[i][0], invalid[i][1]])
                else:
                    out.writerow([i, serialize_bitarray(next(clks)), "", ""])
        print(f"{name}: {len(data)} rows, {len(invalid)} invalid (clkhash {clkhash.__version__})",
              file=sys.stderr)


if __name__ == "__main__":
    main()
