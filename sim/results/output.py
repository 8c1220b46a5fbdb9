"""Writing results to disk: tidy CSVs, records, the resolved scenario, atomically.

Every file is written to a temporary name in the same folder and renamed into place, so
an interrupted run never leaves a half-written file where a good one stood.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import math
import os
import platform
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

import numpy as np
import yaml

from sim.engine.records import COLUMNS, NAME_COLUMNS, NEW_DTYPES, PHC_LABEL, POOL_LABEL, RunResult
from sim.scenario.schema import Scenario


def atomic_write(path: Path, write: Callable[[IO[bytes]], None]) -> Path:
    """Write ``path`` via a temporary file in the same folder, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:  # named by the file meant, not the hidden temporary one
        Path(tmp).unlink(missing_ok=True)
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path: Path, text: str) -> Path:
    """Atomically write a UTF-8 text file."""
    data = text.encode("utf-8")

    def write(fh: IO[bytes]) -> None:
        fh.write(data)

    return atomic_write(path, write)


def _fmt(v: Any) -> Any:
    if isinstance(v, float | np.floating):
        if np.isnan(v):
            return ""
        x = float(v)
        return repr(x) if x != int(x) or abs(x) > 1e15 else str(int(x))
    return v


def csv_text(rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> str:
    """Rows (dicts) as CSV text with the given column order; NaN as an empty cell."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for row in rows:
        w.writerow([_fmt(row.get(c, "")) for c in columns])
    return buf.getvalue()


def write_csv(path: Path, rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> Path:
    """Atomically write a tidy CSV."""
    return write_text(path, csv_text(rows, columns))


def read_csv(path: Path) -> list[dict[str, str]]:
    """Read a CSV written by ``write_csv`` (values as strings)."""
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


FLOAT_COLUMNS: frozenset[str] = frozenset(
    {"arrival", "start", "end", "overtime"}
    | {c for c, dt in NEW_DTYPES.items() if np.dtype(dt).kind == "f"}
)
"""Record columns holding times or durations in minutes (written to 4 decimals)."""


RECORDS_CHUNK = 100_000
"""Records written per chunk: memory for the text stays bounded however large the run."""


def _formatted(values: np.ndarray) -> list[str]:
    """One chunk of a column as CSV cells: minutes to 4 decimals, NaN as an empty cell."""
    if len(values) and values.strides[0] == 0:  # a constant column (a zero-stride view)
        x = values[0]
        cell = ("" if math.isnan(x) else f"{x:.4f}") if values.dtype.kind == "f" else str(x)
        return [cell] * len(values)
    if values.dtype.kind == "O":  # names
        return values.tolist()
    if values.dtype.kind != "f":
        return list(map(str, values.tolist()))
    return [("" if x != x else f"{x:.4f}") for x in values.tolist()]


_NEEDS_QUOTES = frozenset(',"\r\n')


def _csv_text(columns: list[list[str]], plain: bool) -> str:
    """Rows of CSV cells as ``csv.writer`` (minimal quoting, newline line ends) writes them.

    ``plain``: no cell has a comma, quote or line break (numbers never do), so the rows are
    joined directly, a few times faster than the writer; else the writer quotes them.
    """
    if plain:
        return "".join([",".join(row) + "\n" for row in zip(*columns, strict=True)])
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(zip(*columns, strict=True))
    return text.getvalue()


def write_records(path: Path, result: RunResult) -> Path:
    """The request records as gzip-compressed CSV, category codes replaced by names.

    Written a chunk of ``RECORDS_CHUNK`` rows at a time (memory stays bounded for a
    national-size run); a second thread compresses one chunk while the next is formatted.
    gzip level 4: on a national-size run's rows, level 6 compresses at 46 MB/s, level 4 at
    123 MB/s for 6% more bytes, and below 4 the formatting is what takes the time.
    """
    n = len(result.records)
    same = {c: next((d for d in COLUMNS[:i] if getattr(result.records, d) is
                     getattr(result.records, c)), None) for i, c in enumerate(COLUMNS)}

    names = {name for labels in result.labels().values() for name in labels}
    names |= {*result.doctor_names, POOL_LABEL, PHC_LABEL}
    plain = not any(_NEEDS_QUOTES.intersection(name) for name in names)

    def chunks() -> Iterator[bytes]:
        yield _csv_text([[c] for c in COLUMNS], plain=True).encode("utf-8")  # the header
        for a in range(0, n, RECORDS_CHUNK):
            cols = result.decoded(slice(a, a + RECORDS_CHUNK))
            cells: dict[str, list[str]] = {}
            for c in COLUMNS:  # a column that is another (queued = arrival) is reused
                twin = same[c]
                cells[c] = cells[twin] if twin is not None else _formatted(cols[c])
            yield _csv_text([cells[c] for c in COLUMNS], plain).encode("utf-8")

    def write(fh: IO[bytes]) -> None:
        # zlib and the file write release the GIL: one thread compresses a chunk while
        # this one formats the next (at most two chunks of text held at once)
        with gzip.GzipFile(fileobj=fh, mode="wb", mtime=0, compresslevel=4) as gz, \
                ThreadPoolExecutor(1, thread_name_prefix="hubsim-gzip") as pool:
            pending: Future[int] | None = None
            for data in chunks():
                if pending is not None:
                    pending.result()
                pending = pool.submit(gz.write, data)
            if pending is not None:
                pending.result()

    return atomic_write(path, write)


def read_records(path: Path, columns: Sequence[str] = COLUMNS) -> dict[str, np.ndarray]:
    """Read records written by ``write_records`` back as columns (``columns`` only).

    Times are floats (an empty cell is NaN), whole-number columns int64 and name columns
    object arrays whose cells share one string per distinct name. Parsed by pandas' C
    reader, names as categories, only the columns asked for: the plots' six columns of 15
    million rows in about 13 s.
    """
    import pandas as pd

    wanted = [c for c in COLUMNS if c in set(columns)]
    floats = [c for c in wanted if c in FLOAT_COLUMNS]
    dtypes: dict[str, Any] = dict.fromkeys(floats, float)
    dtypes |= dict.fromkeys((c for c in wanted if c in NAME_COLUMNS), "category")
    df = pd.read_csv(path, compression="gzip", keep_default_na=False, usecols=wanted,
                     na_values={c: [""] for c in floats}, dtype=dtypes)
    out: dict[str, np.ndarray] = {}
    for c in wanted:
        col = df[c]
        if c in FLOAT_COLUMNS:
            out[c] = col.to_numpy(dtype=float)
        elif c in NAME_COLUMNS:  # parsed as categories: a code per cell, each name once
            cat = pd.Categorical(col) if col.dtype != "category" else col.array
            names = np.asarray(cat.categories.astype(str), dtype=object)
            out[c] = names[np.asarray(cat.codes)] if len(names) else np.asarray(
                col.astype(str), dtype=object)
        else:
            out[c] = col.to_numpy(dtype=np.int64)
    return out


def scenario_yaml(scenario: Scenario) -> str:
    """The scenario with every default filled in, as YAML that loads back to the same model."""
    data = scenario.model_dump(mode="json", by_alias=True)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def software_versions() -> dict[str, str]:
    """The versions a run was made with (hubsim, Python, numpy, SimPy), for ``run.json``."""
    import simpy

    from sim import __version__

    return {"hubsim_version": __version__, "python": platform.python_version(),
            "numpy": np.__version__, "simpy": str(getattr(simpy, "__version__", "unknown"))}


def run_metadata(result: RunResult, **extra: Any) -> dict[str, Any]:
    """Seed, versions and sizes of a run, for ``run.json``."""
    return {
        "scenario": result.scenario.name,
        "seed": result.seed_entropy,
        "seed_spawn_key": list(result.seed_key),
        **software_versions(),
        "requests": len(result.records),
        "horizon_days": result.scenario.calendar.horizon_days,
        "warmup_days": result.scenario.calendar.warmup_days,
        **extra,
    }


def write_json(path: Path, data: dict[str, Any]) -> Path:
    """Atomically write pretty JSON."""
    return write_text(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


SUMMARY_COLUMNS: tuple[str, ...] = ("metric", "group_by", "group", "value")


def write_run(result: RunResult, out: Path, records: bool = True) -> dict[str, Path]:
    """Write one run's outputs to ``out`` and return what was written, by role.

    ``records=False`` skips records.csv.gz (2.3-3 s per million requests to write).
    """
    from sim.analysis.metrics import summary_rows

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "summary": write_csv(out / "summary.csv", summary_rows(result), SUMMARY_COLUMNS),
        "scenario": write_text(out / "scenario.resolved.yaml", scenario_yaml(result.scenario)),
        "metadata": write_json(out / "run.json", run_metadata(result)),
    }
    if records:
        paths["records"] = write_records(out / "records.csv.gz", result)
    return paths


def safe_name(label: str) -> str:
    """A label made safe as a folder name (letters, digits, ``._=,+-`` kept)."""
    s = re.sub(r"[^A-Za-z0-9._=,+-]+", "_", label).strip("._")
    return s or "scenario"


SHORT_NAME = 40


def short_name(label: str) -> str:
    """``safe_name``, cut to 40 characters plus a hash of the whole label when longer.

    Folder names stay far below file-system limits however many keys a label holds, and
    two long labels that share their first 40 characters still get different names.
    """
    s = safe_name(label)
    if len(s) <= SHORT_NAME:
        return s
    digest = hashlib.sha256(label.encode()).hexdigest()[:8]
    return f"{s[:SHORT_NAME].rstrip('._=,+-')}-{digest}"
