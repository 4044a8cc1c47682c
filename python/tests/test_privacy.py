"""`pprl.privacy_audit` gives the report of `pprl privacy audit --json`."""

from __future__ import annotations

import json
import subprocess

import pytest

import pprl
from conftest import people


@pytest.mark.parametrize("threshold", [0.8, 0.6])
def test_audit_equals_cli_json(pprl_bin, parties, schema, secret, work, threshold):
    enc = pprl.encode(parties[0], schema, secret_file=secret)
    clk = work / f"audit-{threshold}.clk"
    enc.write(clk)
    run = subprocess.run(
        [pprl_bin, "privacy", "audit", str(clk), "--json", "--threshold", str(threshold)],
        check=True,
        capture_output=True,
        text=True,
    )
    theirs = json.loads(run.stdout)
    ours = pprl.privacy_audit(enc, threshold=threshold, threads=2)
    assert ours == theirs
    assert pprl.privacy_audit(clk, threshold=threshold, threads=1) == theirs  # a path, one thread
    assert ours["records"] == len(enc) and ours["bits"] == enc.bits
    assert ours["neighbourhood"]["threshold"] == threshold


def test_audit_sees_repeated_filters(schema, secret):
    cols = people(400)
    unique = pprl.privacy_audit(pprl.encode(cols, schema, secret_file=secret))
    # The same 40 records repeated ten times over (ids made unique): every filter repeats.
    rep = {k: [v[i % 40] for i in range(400)] for k, v in cols.items()}
    rep["record_id"] = [f"x{i}" for i in range(400)]
    repeated = pprl.privacy_audit(pprl.encode(rep, schema, secret_file=secret))
    assert repeated["frequency"]["distinct"] == 40
    assert repeated["frequency"]["duplicate_share"] == 1.0
    assert unique["frequency"]["duplicate_share"] < 0.1
    levels = {"low", "medium", "high"}
    for name in ("frequency", "length", "cooccurrence", "similarity", "neighbourhood"):
        v = repeated[name]["verdict"]
        assert v["level"] in levels and v["explanation"] and v["remedy"]
    assert repeated["frequency"]["verdict"]["level"] == "high"


def test_audit_threshold_is_checked(schema, secret):
    enc = pprl.encode(people(20), schema, secret_file=secret)
    for bad in (0.0, 1.5):
        with pytest.raises(ValueError, match="threshold"):
            pprl.privacy_audit(enc, threshold=bad)
