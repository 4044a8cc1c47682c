#!/usr/bin/env python3
"""An independent implementation of docs/format.md, sections 1-4, for the CLK layout with
HMAC-SHA256: recomputes the golden vectors of testdata/golden/person.toml from the schema, the secret
and the records, using only Python's standard library, and compares them with
testdata/golden/person.expected.csv.

It exists to show that the specification is complete and exact: a second implementation
written from the document alone must produce the same bits. Run from the repository root:

    python3 testdata/golden/verify_spec.py
"""
import csv, datetime, hashlib, hmac, json, sys, tomllib, unicodedata

ROOT = sys.argv[1] if len(sys.argv) > 1 else "."
FORMAT_VERSION = 1

def hkdf_sha256(salt, ikm, info, length=32):
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    out, block, i = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([i]), hashlib.sha256).digest()
        out += block
        i += 1
    return out[:length]

def derive(secret, *parts):
    info = b"pprl\x00" + FORMAT_VERSION.to_bytes(2, "little") + b"".join(parts)
    return hkdf_sha256(b"pprl key derivation v1", secret, info)

def canonical_json(schema):
    f = schema.get("filter", {})
    fields = []
    for fd in schema["fields"]:
        tok = dict(fd["tokenizer"])
        kind = tok["kind"]
        if kind == "qgram":
            tok = {"kind": "qgram", "q": tok.get("q", 2), "padding": tok.get("padding", True),
                   "positional": tok.get("positional", False)}
        elif kind == "numeric":
            tok = {"kind": "numeric", "distance": float(tok["distance"]), "resolution": tok.get("resolution", 4)}
        else:
            tok = {"kind": kind}
        steps = []
        for st in fd.get("normalize", []):
            if isinstance(st, str):
                steps.append(st)
            elif "date" in st:
                steps.append({"date": {}})
            else:
                steps.append(st)
        out = {"name": fd["name"], "normalize": steps, "tokenizer": tok}
        for key in ("bits_per_token", "bits_per_field"):
            if key in fd:
                out[key] = fd[key]
        out["missing"] = fd.get("missing", "skip")
        fields.append(out)
    doc = {"version": schema["version"],
           "filter": {"layout": f.get("layout", "clk"), "length_bits": f.get("length_bits", 1024),
                      "hashing": f.get("hashing", "hmac-sha256")},
           "fields": fields}
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()

def normalize(steps, value):
    for st in steps:
        if st == "nfkc":
            value = unicodedata.normalize("NFKC", value)
        elif st == "casefold":
            value = value.casefold()
        elif st == "strip-diacritics":
            value = unicodedata.normalize("NFC", "".join(
                c for c in unicodedata.normalize("NFD", value) if not unicodedata.combining(c)))
        elif st == "strip-punctuation":
            value = "".join(c for c in value if c.isalnum() or c.isspace())
        elif st == "collapse-whitespace":
            value = " ".join(value.split())
        elif st == "remove-whitespace":
            value = "".join(value.split())
        elif isinstance(st, dict) and "date" in st:
            for fmt in st["date"]["formats"]:
                try:
                    d = datetime.datetime.strptime(value.strip(), fmt).date()
                except ValueError:
                    continue
                if 1000 <= d.year <= 9999:
                    value = f"{d.year:04d}-{d.month:02d}-{d.day:02d}"
                    break
            else:
                return None  # invalid-date
        else:
            raise SystemExit(f"step {st!r} is not implemented in this checker")
    return value

def tokens(tok, value):
    if tok["kind"] == "qgram":
        q, pad = tok.get("q", 2), tok.get("padding", True)
        s = "_" * (q - 1) + value + "_" * (q - 1) if pad else value
        return [s[i:i + q] for i in range(len(s) - q + 1)] if len(s) >= q else [value]
    if tok["kind"] == "exact":
        return [value]
    if tok["kind"] == "date":
        y, m, d = value.split("-")
        return [f"y{y}", f"m{m}", f"d{d}"]
    raise SystemExit(f"tokenizer {tok['kind']} is not implemented in this checker")

def positions(key, token, k, m):
    b = (m - 1).bit_length()
    chosen, counter = [], 0
    while len(chosen) < k:
        block = hmac.new(key, token.encode() + counter.to_bytes(4, "little"), hashlib.sha256).digest()
        counter += 1
        big = int.from_bytes(block, "little")
        for s in range(256 // b):
            v = (big >> (s * b)) & ((1 << b) - 1)
            if v < m and v not in chosen:
                chosen.append(v)
                if len(chosen) == k:
                    break
    return chosen

def main():
    schema = tomllib.load(open(f"{ROOT}/testdata/golden/person.toml", "rb"))
    secret = open(f"{ROOT}/testdata/golden/secret.key", "rb").read()
    fp = hashlib.sha256(canonical_json(schema)).digest()
    m = schema["filter"]["length_bits"]
    keys = [derive(secret, b"field-key\x00", fp, fd["name"].encode()) for fd in schema["fields"]]
    expected = {}
    for row in csv.reader(open(f"{ROOT}/testdata/golden/person.expected.csv")):
        if row and not row[0].startswith("#") and row[0] != "record_id":
            expected[row[0]] = row[1]
    checked = 0
    for rec in csv.DictReader(open(f"{ROOT}/testdata/golden/records.csv", encoding="utf-8")):
        bits = [0] * (m // 64)
        ntok, rejected = 0, False
        for fd, key in zip(schema["fields"], keys):
            raw = rec[fd.get("column", fd["name"])]
            missing = {v.lower() for v in fd.get("missing_values", [])}
            if raw.strip() == "" or raw.strip().lower() in missing:
                continue
            value = normalize(fd.get("normalize", []), raw)
            if value is None:  # invalid: encoded as missing unless the field says otherwise
                if fd.get("on_invalid", "missing") == "reject-row" or fd.get("missing") == "reject":
                    rejected = True
                    break
                continue
            if value.strip() == "":
                continue
            toks = tokens(fd["tokenizer"], value)
            k = fd["bits_per_token"] if "bits_per_token" in fd else max(1, min(m // 2, int(fd["bits_per_field"] / len(toks) + 0.5)))
            for t in toks:
                for p in positions(key, t, k, m):
                    bits[p // 64] |= 1 << (p % 64)
            ntok += len(toks)
        if rejected or ntok == 0:
            assert rec["record_id"] not in expected, f"{rec['record_id']} should be rejected"
            continue
        got = "".join(f"{w:016x}" for w in bits)
        assert got == expected[rec["record_id"]], f"{rec['record_id']}: bits differ"
        checked += 1
    assert checked == len(expected), (checked, len(expected))
    print(f"verify_spec: {checked} records reproduced bit for bit from docs/format.md")

main()
