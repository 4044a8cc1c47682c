"""Solving on the driver: the candidates collected from Spark become links (two parties) or
clusters (one party, three and more), with the library's own solvers, as ``pprl match`` forms
them; the result goes back to Spark joined to the record ids.

In: the candidates ``(a, b, score)`` of each pair of parties as Arrow tables (record
positions), the parties' :class:`SparkEncodings`; out: a DataFrame of links ``(rank, a_id,
b_id, score)`` or clusters ``(rank, cluster, [party,] id)`` and the number of rows.
Average linkage rescores pairs inside clusters, so the filters of the records in candidates
(and only those) are collected here too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Sequence

import numpy as np

from .. import _pprl
from ._common import SparkEncodings, words_of

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame


def arrays(t: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The columns ``a``, ``b``, ``score`` of a candidates table (or of none)."""
    if t is None or t.num_rows == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64)
    return (
        t.column("a").to_numpy(),
        t.column("b").to_numpy(),
        np.ascontiguousarray(t.column("score").to_numpy(), dtype=np.float64),
    )


def filters_of(side: "DataFrame", positions: np.ndarray, words: int) -> np.ndarray:
    """The filters of the records at ``positions`` (sorted, distinct), collected in that order."""
    import pyarrow as pa  # type: ignore
    from pyspark.sql import functions as F

    spark = side.sparkSession
    wanted = spark.createDataFrame(pa.table({"pos": pa.array(positions.astype(np.int64))}))
    got = side.join(F.broadcast(wanted), "pos").select("pos", "clk").toArrow()
    order = np.argsort(got.column("pos").to_numpy())
    return np.ascontiguousarray(words_of(got.column("clk"), words)[order])


def solve_links(sides: Sequence[SparkEncodings], got: Any, solver: str) -> tuple["DataFrame", int]:
    """Two parties (or one, with ``solver="none"``: every pair): the links in the solver's
    order, as ``(rank, a_id, b_id, score)``."""
    import pyarrow as pa  # type: ignore
    from pyspark.sql import functions as F

    dedup = len(sides) == 1
    spark = sides[0].df.sparkSession
    ca, cb, cs = arrays(got)
    ua, ia = np.unique(ca, return_inverse=True)
    ub, ib = np.unique(cb, return_inverse=True)
    la, lb, ls = _pprl.solve_pairs(ia.astype(np.uint32), ib.astype(np.uint32), cs, solver="none" if dedup else solver)
    link_a, link_b = ua[la.astype(np.int64)], ub[lb.astype(np.int64)]
    n = len(link_a)
    local = pa.table(
        {
            "rank": np.arange(n, dtype=np.int64),
            "a_pos": link_a.astype(np.int64),
            "b_pos": link_b.astype(np.int64),
            "score": pa.array(ls, pa.float64()),
        }
    )
    second = sides[0 if dedup else 1].df
    links = (
        spark.createDataFrame(local, schema="rank long, a_pos long, b_pos long, score double")
        .join(sides[0].df.select(F.col("pos").alias("a_pos"), F.col("id").alias("a_id")), "a_pos")
        .join(second.select(F.col("pos").alias("b_pos"), F.col("id").alias("b_id")), "b_pos")
        .select("rank", "a_id", "b_id", "score")
    )
    return links, n


def solve_duplicates(side: SparkEncodings, got: Any, threshold: float, clustering: str) -> tuple["DataFrame", int]:
    """One party's duplicate clusters, as ``(rank, cluster, id)``."""
    import pyarrow as pa  # type: ignore

    spark = side.df.sparkSession
    ca, cb, cs = arrays(got)
    u, inv = np.unique(np.concatenate([ca, cb]), return_inverse=True)
    if clustering == "average":
        filters = filters_of(side.df, u, side.words)
    else:
        filters = np.zeros((len(u), side.words), np.uint64)
    k, r = _pprl.dedup_clusters(
        inv[: len(ca)].astype(np.uint32), inv[len(ca) :].astype(np.uint32), cs, filters,
        threshold=threshold, clustering=clustering,
    )
    local = pa.table(
        {"rank": np.arange(len(k), dtype=np.int64), "cluster": k.astype(np.int64), "pos": u[r.astype(np.int64)].astype(np.int64)}
    )
    clusters = (
        spark.createDataFrame(local, schema="rank long, cluster long, pos long")
        .join(side.df.select("pos", "id"), "pos")
        .select("rank", "cluster", "id")
    )
    return clusters, len(k)


def solve_parties(
    sides: Sequence[SparkEncodings],
    pairs_of: Sequence[tuple[int, Optional[int]]],
    got: Sequence[Any],
    threshold: float,
    clustering: str,
) -> tuple["DataFrame", int]:
    """Three or more parties' clusters (at most one record a party), as ``(rank, cluster,
    party, id)``, from the candidates ``got`` of each pair of parties ``pairs_of``."""
    import pyarrow as pa  # type: ignore
    from pyspark.sql import functions as F

    spark = sides[0].df.sparkSession
    words = sides[0].words
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("pa", "a", "pb", "b", "s")}
    for (i, j), t in zip(pairs_of, got):
        ca, cb, cs = arrays(t)
        cols["pa"].append(np.full(len(ca), i, np.uint16))
        cols["pb"].append(np.full(len(ca), j, np.uint16))
        cols["a"].append(ca)
        cols["b"].append(cb)
        cols["s"].append(cs)
    party_a, party_b = np.concatenate(cols["pa"]), np.concatenate(cols["pb"])
    pos_a, pos_b, cs = np.concatenate(cols["a"]), np.concatenate(cols["b"]), np.concatenate(cols["s"])
    index_a, index_b = np.zeros(len(pos_a), np.uint32), np.zeros(len(pos_b), np.uint32)
    known, blocks, offsets = [], [], [0]
    for p in range(len(sides)):  # each party's clustered records, renumbered in file order
        ma, mb = party_a == p, party_b == p
        u, inv = np.unique(np.concatenate([pos_a[ma], pos_b[mb]]), return_inverse=True)
        index_a[ma], index_b[mb] = inv[: ma.sum()], inv[ma.sum() :]
        known.append(u)
        if clustering == "average":
            blocks.append(filters_of(sides[p].df, u, words))
        else:
            blocks.append(np.zeros((0, words), np.uint64))
        offsets.append(offsets[-1] + len(blocks[-1]))
    k, pp, r = _pprl.party_clusters(
        party_a, index_a, party_b, index_b, np.ascontiguousarray(cs, dtype=np.float64),
        np.ascontiguousarray(np.concatenate(blocks)), np.array(offsets[:-1], np.uint64),
        threshold=threshold, clustering=clustering,
    )
    pos = np.zeros(len(k), np.int64)
    for p in range(len(sides)):
        m = pp == p
        pos[m] = known[p][r[m].astype(np.int64)]
    local = pa.table(
        {"rank": np.arange(len(k), dtype=np.int64), "cluster": k.astype(np.int64), "party": pp.astype(np.int64), "pos": pos}
    )
    ids = sides[0].df.select("pos", "id").withColumn("party", F.lit(0).cast("long"))
    for p in range(1, len(sides)):
        ids = ids.unionByName(sides[p].df.select("pos", "id").withColumn("party", F.lit(p).cast("long")))
    clusters = (
        spark.createDataFrame(local, schema="rank long, cluster long, party long, pos long")
        .join(ids, ["party", "pos"])
        .select("rank", "cluster", "party", "id")
    )
    return clusters, len(k)
