""":func:`match`: one, two or more parties' encodings on Spark -> links or clusters, with the
block report and the seconds of each stage.

In: :class:`SparkEncodings` of each party and the options of ``pprl match``; out: a
:class:`SparkMatch`. The stages: ``stats`` (records and bits set of each side, the blocking
plan), ``blocks`` (block sizes, hot
blocks), ``compare`` (salted rows, buckets, the kernel, duplicates dropped), ``collect`` (the
candidates to the driver), ``solve`` and ``report``. See :mod:`pprl.spark.blocks` for what a
task holds.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any, Optional, Sequence, Union

import pprl

from .. import _pprl
from ._common import PathLike, SparkEncodings, SparkMatch, check_compatible, require_spark, session_threads
from .blocks import blocked_candidates, pair_completeness, side_stats
from .cluster import solve_duplicates, solve_links, solve_parties

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame


def _plan(
    stats: Sequence[tuple[int, int]], i: int, j: Optional[int], a: SparkEncodings, threshold: float,
    requested: list[str], lsh_tables: Optional[int], lsh_bits: Optional[int],
) -> dict[str, Any]:
    (ni, oi), (nj, oj) = stats[i], stats[i if j is None else j]
    plan = _pprl.blocking_plan(
        ni, nj, words=a.words, bits_set=oi + (0 if j is None else oj), key_count=a.block_keys,
        key_fingerprint=a.key_fingerprint, threshold=threshold, blocking=requested,
        lsh_tables=lsh_tables, lsh_bits=lsh_bits, dedup=j is None,
    )
    if plan["lsh"] is not None and plan["lsh"][2] != 1:
        raise ValueError("pprl.spark compares pairs that collide once (lambda 1) only")
    return dict(plan)


def match(
    a: SparkEncodings,
    b: Optional[SparkEncodings] = None,
    *more: SparkEncodings,
    threshold: Union[float, str] = 0.8,
    blocking: Union[str, Sequence[str], None] = None,
    solver: str = "greedy",
    clustering: str = "average",
    lsh_tables: Optional[int] = None,
    lsh_bits: Optional[int] = None,
    block_cap: int = 4096,
    bucket_rows: int = 250_000,
    candidate_cap: int = 20_000_000,
    partitions: Optional[int] = None,
    truth: Union["DataFrame", Sequence[tuple[str, str]], None] = None,
    threads: Optional[int] = None,
    _fail_once: Optional[PathLike] = None,
) -> SparkMatch:
    """Matches as ``pprl match FILE... -t THRESHOLD --blocking ... --solver ... --cluster ...``
    does, on Spark: the same result for any number of partitions and executors. One party
    (``b`` None): its duplicates, as clusters ``(cluster, id)`` (with ``solver="none"``: every
    pair ``a_id, b_id, score``); two: links ``a_id, b_id, score`` in the solver's order; three
    or more: clusters ``(cluster, party, id)``, at most one record per party, from the
    candidates of every pair of parties (each pair blocked as the CLI blocks it).
    ``clustering``: ``"average"`` (the CLI's default) or ``"components"``.

    ``threshold``: a Dice similarity in ``0..=1`` (``"auto"`` is not available yet).
    ``blocking``: ``"keys"``, ``"lsh"``, ``"auto"`` or a list of them, as ``pprl match
    --blocking`` (``None``: every pair, which Spark still splits into cells of ``block_cap``
    records a side); LSH parameters are derived from the data as the CLI derives them
    (``lsh_tables``/``lsh_bits`` override them as ``--lsh-tables``/``--lsh-bits``; one collision
    suffices). ``block_cap``: records a side beyond which a block is split into cells, so no
    task holds an unbounded block (a cell holds at most ``block_cap`` x ``block_cap`` pairs;
    nothing is dropped). ``partitions``: the fewest buckets of blocks (one compare call each;
    default ``spark.sql.shuffle.partitions``); more are used so that a bucket holds about
    ``bucket_rows`` rows (records x block functions) on average. ``candidate_cap``: the most
    distinct candidate pairs solved on the driver (more raise ``pprl.MatchError``: raise the
    threshold or the cap). ``truth``: true ``(a_id, b_id)`` pairs (a list, or a DataFrame of
    two id columns) for the report's pair completeness (two parties). ``threads``: per pprl
    call inside a task (default ``spark.task.cpus``).
    """
    require_spark()
    from pyspark import StorageLevel

    if isinstance(threshold, str) or not (0.0 <= float(threshold) <= 1.0):
        raise ValueError('threshold must be a number in 0..=1 ("auto" is not available on Spark yet)')
    if solver not in ("greedy", "optimal", "none"):
        raise ValueError('solver must be "greedy", "optimal" or "none"')
    if clustering not in ("average", "components"):
        raise ValueError('clustering must be "average" or "components"')
    if block_cap < 1 or bucket_rows < 1:
        raise ValueError("block_cap and bucket_rows must be at least 1")
    parties = [a] + ([] if b is None else [b]) + list(more)
    if b is None and more:
        raise ValueError("give the parties in order: b before the others")
    for other in parties[1:]:
        check_compatible(a, other)
    spark = a.df.sparkSession
    threads = threads or session_threads(spark)
    partitions = partitions or int(spark.conf.get("spark.sql.shuffle.partitions", "200") or "200")
    timings: dict[str, float] = {}
    started = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal started
        now = time.perf_counter()
        timings[name] = round(timings.get(name, 0.0) + now - started, 3)
        started = now

    persisted: list[Any] = []

    def keep(df: "DataFrame") -> "DataFrame":
        df = df.persist(StorageLevel.MEMORY_AND_DISK)
        persisted.append(df)
        return df

    sides = [SparkEncodings(keep(x.df), x.bits, x.block_keys, x.schema_fingerprint, x.key_fingerprint) for x in parties]

    def release() -> None:
        for df in persisted:
            df.unpersist()

    stats = [side_stats(s) for s in sides]
    requested = [] if blocking is None else [blocking] if isinstance(blocking, str) else list(blocking)
    dedup = len(sides) == 1
    pairs_of: list[tuple[int, Optional[int]]] = (
        [(0, None)] if dedup else [(i, j) for i in range(len(sides)) for j in range(i + 1, len(sides))]
    )
    choice: Optional[dict[str, Any]] = None
    value = float(threshold)
    plans = [_plan(stats, i, j, a, value, requested, lsh_tables, lsh_bits) for i, j in pairs_of]
    lap("stats")

    fail_marker = os.fspath(_fail_once) if _fail_once is not None else None
    found_parts, infos = [], []
    for (i, j), plan in zip(pairs_of, plans):
        cands, info = blocked_candidates(
            sides[i], None if j is None else sides[j], plan, records=(stats[i][0], 0 if j is None else stats[j][0]),
            threshold=value, block_cap=block_cap, partitions=partitions, bucket_rows=bucket_rows,
            threads=threads, keep=keep, fail_marker=fail_marker,
        )
        lap("blocks")
        found = cands.count()
        lap("compare")
        found_parts.append((cands, found))
        infos.append(info)
    found = sum(f for _, f in found_parts)
    if found > candidate_cap:
        release()
        e = pprl.MatchError(
            f"{found} candidate pairs exceed candidate_cap={candidate_cap}: raise the threshold, "
            "tighten the blocking or raise the cap (the driver holds them all)"
        )
        e.code = "match-candidate-cap"
        raise e
    got = [c.toArrow() if f else None for c, f in found_parts]
    lap("collect")

    links = clusters = None
    if len(sides) == 2 or (dedup and solver == "none"):
        links, n_links = solve_links(sides, got[0], solver)
    elif dedup:
        clusters, n_links = solve_duplicates(sides[0], got[0], value, clustering)
    else:
        clusters, n_links = solve_parties(sides, pairs_of, got, value, clustering)
    lap("solve")

    records = [n for n, _ in stats]
    if dedup:
        total = records[0] * (records[0] - 1) // 2
    else:
        total = sum(stats[i][0] * stats[j][0] for i, j in pairs_of if j is not None)
    in_blocks = sum(x["pairs"] for x in infos)
    largest = max((x["largest"] for x in infos), key=lambda size: size[0] * size[1])
    report: dict[str, Any] = {
        "records": records,
        "total_pairs": total,
        "blocks": sum(x["blocks"] for x in infos),
        "pairs_in_blocks": in_blocks,
        "reduction_ratio": (1.0 - in_blocks / total) if total else 0.0,
        "largest_block": largest,
        "split_blocks": sum(x["split"] for x in infos),
        "cells": sum(x["cells"] for x in infos),
        "candidates": found,
        "links" if links is not None else "clustered": n_links,
        "partitions": max(x["buckets"] for x in infos),
    }
    if truth is not None and len(sides) == 2:
        report["pair_completeness"], report["true_pairs"] = pair_completeness(
            spark, truth, sides[0], sides[1], plans[0], threads
        )
    lap("report")
    # The results are lazy joins of the inputs: keep the inputs cached, drop the rest.
    for df in persisted[len(sides):]:
        df.unpersist()
    return SparkMatch(links, value, dict(plans[0]), report, timings, clusters=clusters, plans=plans, auto=choice)
