"""pprl: privacy-preserving record linkage with keyed Bloom-filter encodings (CLKs).

The same encodings and links as the ``pprl`` command-line tool, in memory:

>>> import pprl
>>> schema = pprl.Schema.load("schema.toml")                      # doctest: +SKIP
>>> enc = pprl.encode("people.csv", schema, secret_file="secret.key")  # doctest: +SKIP
>>> links = pprl.match(enc, pprl.Encodings.read("other.clk"))      # doctest: +SKIP
>>> pop = pprl.synth(1000, seed=7)              # two synthetic parties and the truth
>>> report = pprl.privacy_audit(enc)                                # doctest: +SKIP

Secrets are read only from files named by path (``secret_file=``), never passed as Python
strings or bytes, so they stay out of notebooks, logs and tracebacks. All work runs with the
GIL released, on ``threads`` worker threads per call (default: one per core); in a process
forked after pprl used threads, pprl runs on one thread and warns once.

Errors are :class:`PprlError` subclasses carrying the library's stable ``code`` and, where
known, ``path``, ``row``, ``line`` and ``field``.
"""

from __future__ import annotations

import json
import os
from typing import Any, Literal, Mapping, Optional, Sequence, Union

from . import _pprl
from ._pprl import (
    FORMAT_VERSION,
    EncodingFileError,
    Encodings,
    InputError,
    KeyMismatchError,
    Links,
    MatchError,
    OutputError,
    PprlError,
    Schema,
    SchemaError,
    SchemaMismatchError,
    SecretError,
    Synth,
    Table,
    __version__,
    evaluate,
    synth,
)

__all__ = [
    "FORMAT_VERSION",
    "EncodingFileError",
    "Encodings",
    "InputError",
    "KeyMismatchError",
    "Links",
    "MatchError",
    "OutputError",
    "PprlError",
    "Schema",
    "SchemaError",
    "SchemaMismatchError",
    "SecretError",
    "Synth",
    "Table",
    "__version__",
    "encode",
    "evaluate",
    "match",
    "privacy_audit",
    "synth",
    "to_arrow",
]

PathLike = Union[str, "os.PathLike[str]"]
Columns = Mapping[str, Sequence[Optional[str]]]


def _columns(table: Any) -> Any:
    """A path, a mapping or an Arrow PyCapsule table as is (the native module reads Arrow
    tables without a copy); a pandas frame without the interface as a dict of columns."""
    if isinstance(table, (str, os.PathLike)) or hasattr(table, "items"):
        return table
    if hasattr(table, "__arrow_c_stream__") or hasattr(table, "__arrow_c_array__"):
        return table
    if hasattr(table, "to_pydict"):  # pyarrow.Table / RecordBatch
        return table.to_pydict()
    if hasattr(table, "to_dict") and hasattr(table, "schema") and hasattr(table, "columns"):
        return table.to_dict(as_series=False)  # polars.DataFrame
    if hasattr(table, "to_dict") and hasattr(table, "dtypes"):  # pandas.DataFrame
        frame = table.astype(object).where(table.notna(), None)
        return frame.to_dict("list")
    raise TypeError(
        "data must be a CSV path, a mapping of column name to a list of str or None, "
        "or a pyarrow, polars or pandas table"
    )


def encode(
    data: Union[PathLike, Columns, Any],
    schema: Schema,
    *,
    secret_file: PathLike,
    threads: Optional[int] = None,
) -> Encodings:
    """Encodes records under ``schema`` with the secret in the file ``secret_file``.

    ``data`` is a CSV file's path, a mapping of column name to a list of ``str`` or ``None``
    (``None`` is an empty value), or any table with the Arrow PyCapsule interface
    (``__arrow_c_stream__`` / ``__arrow_c_array__``: pyarrow tables and record batches,
    polars data frames, pandas with Arrow, DuckDB results, :class:`Table`), read without a
    Python-side copy:
    string, large string and string view columns are borrowed, integer and date columns
    (``YYYY-MM-DD``) formatted; nulls are empty values. The schema names the id column and
    the field columns; other columns are ignored (and not read).

    ``schema`` may be a clkhash linkage schema (``Schema.load("linkage.json")``): the CLKs are
    clkhash's, bit for bit, records are named by position (``"0"``, ``"1"``, ...), and the
    secret file's bytes are the secret verbatim (any length, as clkhash's passphrases; a
    trailing line break is part of it and is warned about). Write them with
    ``Encodings.write(path, format="clkhash-json")`` for clkhash's tools.

    The secret is read from the file at ``secret_file``: pprl never takes a secret as a Python
    string or bytes. Returns :class:`Encodings`, whose ``rejects`` lists every row that was not
    encoded (row, field, code, reason). Raises :class:`SchemaError`, :class:`SecretError` or
    :class:`InputError` (with ``row`` and ``field``). ``threads``: worker threads for this call
    (default one per core); the output never depends on it.
    """
    return _pprl.encode(_columns(data), schema, secret_file=secret_file, threads=threads)


def match(
    a: Union[Encodings, PathLike],
    b: Union[Encodings, PathLike, None] = None,
    *,
    threshold: Union[float, Literal["auto"]] = 0.8,
    solver: Literal["greedy", "optimal", "none"] = "greedy",
    blocking: Union[str, Sequence[str], None] = None,
    scores: bool = True,
    threads: Optional[int] = None,
) -> Links:
    """Matches encodings, as ``pprl match`` does.

    With ``a`` and ``b``: links records of ``a`` to records of ``b`` (``solver="greedy"`` or
    ``"optimal"``: one-to-one; ``"none"``: every pair at or above the threshold). With ``a``
    alone: clusters of duplicate records within ``a``. ``a`` and ``b`` are :class:`Encodings`
    or paths of encoding files (``.clk``, clkhash JSON, anonlink binary). ``threshold`` is a
    Dice similarity in 0..1 or ``"auto"`` (chosen from the scores; see ``Links.threshold``).
    ``blocking`` limits the comparisons as ``pprl match --blocking`` does: ``"keys"`` (keyed
    blocking keys in the encodings), ``"lsh"``, ``"auto"``, or a list of them; ``None``
    compares every pair. ``scores=False`` leaves the scores out.
    Raises :class:`KeyMismatchError` when the two were made with different secrets and
    :class:`SchemaMismatchError` for different schemas. The GIL is released while matching.
    """

    def load(x: Union[Encodings, PathLike]) -> Encodings:
        return x if isinstance(x, Encodings) else Encodings.read(x)

    return _pprl.match(
        load(a),
        None if b is None else load(b),
        threshold=threshold,
        solver=solver,
        blocking=[blocking] if isinstance(blocking, str) else blocking,
        scores=scores,
        threads=threads,
    )


def privacy_audit(
    encodings: Union[Encodings, PathLike],
    *,
    threshold: float = 0.8,
    threads: Optional[int] = None,
) -> dict[str, Any]:
    """Measures what ``encodings`` reveal to whoever holds them, without plaintext, as
    ``pprl privacy audit --json`` does (the same report, as a dict).

    The five vulnerabilities of Bloom-filter encodings (Vidanage et al., JDIQ 2023) each get a
    measure and a ``verdict`` (``level`` ``"low"``, ``"medium"`` or ``"high"`` against the
    stated thresholds, an ``explanation`` and a ``remedy``, the ``[filter] harden`` setting that
    would reduce it): ``frequency`` (identical filters), ``length`` (popcounts),
    ``cooccurrence`` (bit pairs), ``similarity`` (nearest neighbours) and ``neighbourhood``
    (degree at Dice >= ``threshold``). Also ``records``, ``bits``, ``options`` (the sampling
    settings) and ``sample_seed`` (derived from the data, so the report is reproducible).
    ``encodings`` is :class:`Encodings` or the path of an encoding file. The GIL is released;
    the report does not depend on ``threads``.
    """
    enc = encodings if isinstance(encodings, Encodings) else Encodings.read(encodings)
    report: dict[str, Any] = json.loads(
        _pprl.privacy_audit_json(enc, threshold=threshold, threads=threads)
    )
    return report


def to_arrow(encodings: Encodings) -> Any:
    """The encodings as a ``pyarrow.Table`` of ``id`` (string) and ``clk``
    (``fixed_size_binary(bits / 8)``), the ``clk`` column sharing the encodings' memory (no
    copy; the table keeps them alive).

    Each value holds the record's filter words as little-endian bytes, so bit ``i`` of the
    encoding is bit ``i % 8`` (least significant first) of byte ``i // 8``: pprl's bit order,
    not clkhash's (``Encodings.write(path, format="clkhash-json")`` gives clkhash's). Needs
    pyarrow.
    """
    import pyarrow as pa  # type: ignore

    words = encodings.to_numpy()
    clk = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(words.shape[1] * 8), len(encodings), [None, pa.py_buffer(words)]
    )
    return pa.table({"id": pa.array(encodings.ids, pa.string()), "clk": clk})

