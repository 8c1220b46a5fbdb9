"""Parquet copies of a results folder: the tidy tables and the request records.

Layout under ``DIR/parquet/`` (Hive-style partitions, so ``pyarrow.dataset`` and pandas
can filter by plan and replication without opening the other files)::

    summary.parquet, comparison.parquet, sweep.parquet, standards.parquet
    replications/plan=<short label>/part-0.parquet
    records/plan=<short label>/replication=<i>/part-0.parquet

Every file carries ``hubsim`` key-value metadata with ``schema_version``, the table's
name and, for records, the scenario label, replication and unit fingerprint. Names in
the records are stored as dictionary columns (one string per distinct name), times as
float64 minutes, exactly the values of ``RunResult.records``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

import numpy as np
import pandas as pd

from sim.engine.records import COLUMNS, RunResult
from sim.results.output import atomic_write, short_name
from sim.results.staging import PARQUET_DIR

SCHEMA_VERSION = 1
"""Version of the Parquet layout and columns; bumped when either changes."""
META_KEY = b"hubsim"
ROW_GROUP = 1_000_000
"""Records per Parquet row group (bounded memory while writing a national-size run)."""
COMPRESSION = "zstd"


def partition(**keys: Any) -> Path:
    """The Hive partition folder for ``keys`` (values URI-encoded, as pyarrow reads them)."""
    return Path(*(f"{k}={quote(str(v), safe='')}" for k, v in keys.items()))


def records_path(out: str | Path, label: str, replication: int) -> Path:
    """Where replication ``replication`` of plan ``label`` keeps its Parquet records."""
    return (Path(out) / PARQUET_DIR / "records" /
            partition(plan=short_name(label), replication=replication) / "part-0.parquet")


def _metadata(table: str, **extra: Any) -> dict[bytes, bytes]:
    from sim import __version__

    info = {"schema_version": SCHEMA_VERSION, "table": table, "hubsim_version": __version__,
            **extra}
    return {META_KEY: json.dumps(info).encode("utf-8")}


def file_metadata(path: str | Path) -> dict[str, Any]:
    """The ``hubsim`` metadata of one Parquet file (``schema_version``, ``table``, ...)."""
    import pyarrow.parquet as pq

    meta = pq.read_schema(path).metadata or {}
    raw = meta.get(META_KEY)
    return json.loads(raw) if raw else {}


def _write_arrow(path: Path, table: Any) -> Path:
    import pyarrow.parquet as pq

    def write(fh: IO[bytes]) -> None:
        pq.write_table(table, fh, compression=COMPRESSION)

    return atomic_write(path, write)


def write_table(out: str | Path, name: str, df: pd.DataFrame,
                by_scenario: bool = False) -> list[Path]:
    """Write one tidy table as ``out/parquet/<name>.parquet`` (or one file per plan).

    ``by_scenario`` splits it into ``<name>/plan=<short label>/part-0.parquet`` (the
    replications table, which grows with plans x replications); the folder is named by
    ``short_name`` (a sweep point's label can outgrow a file name), and the ``scenario``
    column keeps the whole label.
    """
    import pyarrow as pa

    root = Path(out) / PARQUET_DIR
    if not by_scenario:
        table = pa.Table.from_pandas(df, preserve_index=False)
        table = table.replace_schema_metadata(_metadata(name))
        return [_write_arrow(root / f"{name}.parquet", table)]
    paths = []
    for label, part in df.groupby("scenario", sort=False):
        table = pa.Table.from_pandas(part, preserve_index=False)
        table = table.replace_schema_metadata(_metadata(name, scenario=str(label)))
        paths.append(_write_arrow(root / name / partition(plan=short_name(str(label)))
                                  / "part-0.parquet", table))
    return paths


def _records_schema(result: RunResult) -> Any:
    import pyarrow as pa

    coded = result.coded(slice(0, 0))
    fields = []
    for c in COLUMNS:
        if c in coded:
            fields.append(pa.field(c, pa.dictionary(pa.int32(), pa.string())))
        else:
            fields.append(pa.field(c, pa.from_numpy_dtype(getattr(result.records, c).dtype)))
    return pa.schema(fields)


def write_records(out: str | Path, label: str, replication: int, result: RunResult,
                  fingerprint: str = "") -> Path:
    """Write one run's records to ``records_path(out, label, replication)``.

    Name columns go in as dictionary-encoded strings built from the codes (no string per
    row), times byte-stream-split, a row group of ``ROW_GROUP`` records at a time.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = _records_schema(result).with_metadata(_metadata(
        "records", scenario=label, replication=replication, fingerprint=fingerprint,
        requests=len(result.records)))
    n = len(result.records)

    def batch(rows: slice) -> Any:
        coded = result.coded(rows)
        arrays = []
        for c in COLUMNS:
            if c in coded:
                codes, names = coded[c]
                arrays.append(pa.DictionaryArray.from_arrays(
                    pa.array(codes.astype(np.int32)), pa.array(names, pa.string())))
            else:
                arrays.append(pa.array(np.ascontiguousarray(getattr(result.records, c)[rows])))
        return pa.Table.from_arrays(arrays, schema=schema)

    names = [f.name for f in schema if pa.types.is_dictionary(f.type)]
    floats = [f.name for f in schema if pa.types.is_floating(f.type)]

    def write(fh: IO[bytes]) -> None:
        # byte-stream-split floats compress to about 30% fewer bytes, and faster
        with pq.ParquetWriter(fh, schema, compression=COMPRESSION, use_dictionary=names,
                              column_encoding=dict.fromkeys(floats, "BYTE_STREAM_SPLIT")
                              ) as writer:
            for a in range(0, max(n, 1), ROW_GROUP):
                writer.write_table(batch(slice(a, a + ROW_GROUP)))

    return atomic_write(records_path(out, label, replication), write)


def read_records(path: str | Path, columns: Sequence[str] = COLUMNS) -> dict[str, np.ndarray]:
    """Records written by ``write_records`` as numpy columns, as ``output.read_records`` gives.

    Name columns come back as object arrays sharing one string per name.
    """
    import pyarrow.parquet as pq

    wanted = [c for c in COLUMNS if c in set(columns)]
    table = pq.read_table(path, columns=wanted)
    out: dict[str, np.ndarray] = {}
    for c in wanted:
        col = table.column(c)
        if pa_is_dictionary(col.type):
            col = col.unify_dictionaries().combine_chunks()
            names = np.asarray(col.dictionary.to_pylist(), dtype=object)
            out[c] = names[col.indices.to_numpy(zero_copy_only=False)]
        else:
            out[c] = col.to_numpy()
    return out


def pa_is_dictionary(tp: Any) -> bool:
    """Whether an Arrow type is dictionary-encoded."""
    import pyarrow as pa

    return bool(pa.types.is_dictionary(tp))


def write_tables(out: str | Path, tables: Mapping[str, pd.DataFrame | None]) -> list[Path]:
    """Write each non-empty tidy table; ``replications`` is split by plan."""
    paths: list[Path] = []
    for name, df in tables.items():
        if df is not None and not (df.empty and len(df.columns) == 0):
            paths += write_table(out, name, df, by_scenario=name == "replications")
    return paths
