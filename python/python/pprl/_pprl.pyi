"""Type stubs of pprl's native module (checked against it by `python -m mypy.stubtest pprl._pprl`)."""

import os
from pathlib import Path
from typing import Any, Literal, Mapping, Optional, Sequence, Union, final

import numpy as np
import numpy.typing as npt

__all__ = [
    "EncodingFileError",
    "Encodings",
    "FORMAT_VERSION",
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
    "forked_after_threads",
    "match",
    "block_ids",
    "blocking_plan",
    "compare_blocks",
    "dedup_clusters",
    "party_clusters",
    "privacy_audit_json",
    "solve_pairs",
    "synth",
]

__version__: str
FORMAT_VERSION: int

_Path = Union[str, os.PathLike[str]]

class PprlError(Exception):
    code: str
    path: Optional[str]
    row: Optional[int]
    line: Optional[int]
    field: Optional[str]

class SchemaError(PprlError): ...
class SecretError(PprlError): ...
class InputError(PprlError): ...
class EncodingFileError(PprlError): ...
class OutputError(PprlError): ...
class MatchError(PprlError): ...
class KeyMismatchError(MatchError): ...
class SchemaMismatchError(MatchError): ...

@final
class Schema:
    @staticmethod
    def load(path: _Path) -> Schema: ...
    @property
    def kind(self) -> Literal["pprl", "clkhash"]: ...
    @property
    def fingerprint(self) -> str: ...
    @property
    def id_column(self) -> Optional[str]: ...
    @property
    def columns(self) -> list[str]: ...

@final
class Encodings:
    @staticmethod
    def read(path: _Path) -> Encodings: ...
    def write(
        self,
        path: _Path,
        format: Literal["clk", "clkhash-json", "anonlink-binary"] = "clk",
    ) -> None: ...
    @property
    def ids(self) -> list[str]: ...
    @property
    def rows(self) -> Optional[list[int]]: ...
    @property
    def bits(self) -> int: ...
    @property
    def schema_fingerprint(self) -> str: ...
    @property
    def key_fingerprint(self) -> str: ...
    @property
    def rejects(self) -> list[dict[str, Any]]: ...
    @property
    def invalid_fields(self) -> list[dict[str, Any]]: ...
    @property
    def counts(self) -> dict[str, int]: ...
    def to_numpy(self) -> npt.NDArray[np.uint64]: ...
    @property
    def block_keys(self) -> int: ...
    def blocks_numpy(self) -> npt.NDArray[np.uint64]: ...
    def __arrow_c_array__(self, requested_schema: Optional[object] = None) -> tuple[object, object]: ...
    def __len__(self) -> int: ...

@final
class Links:
    @property
    def a_ids(self) -> list[str]: ...
    @property
    def b_ids(self) -> list[str]: ...
    @property
    def scores(self) -> Optional[npt.NDArray[np.float64]]: ...
    @property
    def clusters(self) -> list[list[str]]: ...
    @property
    def threshold(self) -> float: ...
    def report_json(self) -> str: ...
    def to_pydict(self) -> dict[str, list[Any]]: ...
    def to_arrow(self) -> Any: ...
    def to_polars(self) -> Any: ...
    def __arrow_c_stream__(self, requested_schema: Optional[object] = None) -> object: ...
    def write_csv(self, path: _Path) -> None: ...
    def __len__(self) -> int: ...

@final
class Table:
    @property
    def column_names(self) -> list[str]: ...
    def to_pydict(self) -> dict[str, list[Any]]: ...
    def __arrow_c_stream__(self, requested_schema: Optional[object] = None) -> object: ...
    def to_arrow(self) -> Any: ...
    def to_polars(self) -> Any: ...
    def __len__(self) -> int: ...

@final
class Synth:
    @property
    def parties(self) -> list[Table]: ...
    @property
    def truth(self) -> Table: ...
    @property
    def truth_format(self) -> Literal["pairs", "entities"]: ...
    @property
    def shared_per_party(self) -> int: ...
    @property
    def duplicates_per_party(self) -> int: ...
    @property
    def seed(self) -> int: ...
    def write(self, out_dir: _Path, *, threads: Optional[int] = None) -> list[Path]: ...

def encode(
    data: Union[_Path, Mapping[str, Sequence[Optional[str]]], Any],
    schema: Schema,
    *,
    secret_file: _Path,
    threads: Optional[int] = None,
) -> Encodings: ...
def match(
    a: Encodings,
    b: Optional[Encodings] = None,
    *,
    threshold: Union[float, Literal["auto"]] = 0.8,
    solver: Literal["greedy", "optimal", "none"] = "greedy",
    blocking: Optional[Sequence[str]] = None,
    scores: bool = True,
    threads: Optional[int] = None,
) -> Links: ...
def evaluate(truth: Union[_Path, Sequence[tuple[str, str]]], links: Links) -> dict[str, Any]: ...
def forked_after_threads() -> bool: ...
def synth(
    records: int,
    *,
    seed: int,
    parties: int = 2,
    overlap: Optional[float] = None,
    duplicates: float = 0.0,
    corruption: Literal["none", "low", "moderate", "high"] = "moderate",
    rates: Optional[Union[Mapping[str, float], Sequence[tuple[str, float]]]] = None,
    threads: Optional[int] = None,
) -> Synth: ...
def privacy_audit_json(
    encodings: Encodings, *, threshold: float = 0.8, threads: Optional[int] = None
) -> str: ...
def blocking_plan(
    left: int,
    right: int,
    *,
    words: int,
    bits_set: int,
    key_count: int,
    key_fingerprint: str,
    threshold: float,
    blocking: Sequence[str],
    lsh_tables: Optional[int] = None,
    lsh_bits: Optional[int] = None,
    dedup: bool = False,
) -> dict[str, Any]: ...
def block_ids(
    filters: npt.NDArray[np.uint64],
    key_ids: npt.NDArray[np.uint64],
    *,
    keys: bool,
    lsh: Optional[tuple[int, int, int, int]],
    threads: int = 1,
) -> npt.NDArray[np.uint64]: ...
def compare_blocks(
    left_block: npt.NDArray[np.uint64],
    left_tag: npt.NDArray[np.uint64],
    left_filters: npt.NDArray[np.uint64],
    right_block: npt.NDArray[np.uint64],
    right_tag: npt.NDArray[np.uint64],
    right_filters: npt.NDArray[np.uint64],
    *,
    threshold: float,
    threads: int = 1,
) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint32], npt.NDArray[np.float64]]: ...
def solve_pairs(
    a: npt.NDArray[np.uint32],
    b: npt.NDArray[np.uint32],
    score: npt.NDArray[np.float64],
    *,
    solver: str = "greedy",
) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint32], npt.NDArray[np.float64]]: ...
def dedup_clusters(
    a: npt.NDArray[np.uint32],
    b: npt.NDArray[np.uint32],
    score: npt.NDArray[np.float64],
    filters: npt.NDArray[np.uint64],
    *,
    threshold: float,
    clustering: str = "average",
) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint32]]: ...
def party_clusters(
    party_a: npt.NDArray[np.uint16],
    a: npt.NDArray[np.uint32],
    party_b: npt.NDArray[np.uint16],
    b: npt.NDArray[np.uint32],
    score: npt.NDArray[np.float64],
    filters: npt.NDArray[np.uint64],
    offsets: npt.NDArray[np.uint64],
    *,
    threshold: float,
    clustering: str = "average",
) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint16], npt.NDArray[np.uint32]]: ...
