"""The GIL is released during work, and a forked child does not hang."""

from __future__ import annotations

import os
import signal
import threading
import time
import warnings

import pytest

import pprl
from conftest import people


def test_gil_is_released_during_match(schema, secret):
    a = pprl.encode(people(1500, seed=8), schema, secret_file=secret)
    b = pprl.encode(people(1500, seed=9), schema, secret_file=secret)
    count = 0
    stop = False

    def counter() -> None:
        nonlocal count
        while not stop:
            count += 1

    t = threading.Thread(target=counter)
    t.start()
    time.sleep(0.05)
    start, began = count, time.perf_counter()
    pprl.match(a, b, threshold=0.95, threads=1)
    during, took = count - start, time.perf_counter() - began
    stop = True
    t.join()
    # Held for the whole call, the GIL would let the counter run only at the switch interval
    # edges; released, it counts at full speed (measured: 9.0 million in a 5.8 s match, debug
    # build on a loaded machine).
    assert took > 0.02, f"the match took only {took:.3f} s; make it larger"
    assert during > 10_000, f"the counter advanced {during} times in {took:.3f} s"


def test_fork_after_parallel_work_falls_back_to_one_thread(schema, secret):
    cols = people(400)
    ref = pprl.encode(cols, schema, secret_file=secret, threads=4)
    # Matching an input with itself is refused: match with its first 300 records.
    half = pprl.encode({c: v[:300] for c, v in cols.items()}, schema, secret_file=secret)
    pprl.match(ref, half, threshold=0.9, threads=4)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: must finish, on one thread, with a warning
        code = 1
        try:
            os.close(r)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                enc = pprl.encode(cols, schema, secret_file=secret, threads=4)
                links = pprl.match(enc, half, threshold=0.9, threads=4)
            ok = (
                pprl._pprl.forked_after_threads()
                and enc.ids == ref.ids
                and len(links) == len(half)
                and any("forked" in str(c.message) for c in caught)
            )
            os.write(w, b"ok" if ok else b"bad")
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        pytest.fail("the forked child hung")
    answer = os.read(r, 16)
    os.close(r)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert answer == b"ok"
    assert not pprl._pprl.forked_after_threads()
