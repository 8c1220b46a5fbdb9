"""Where experiment units run: in this process, in worker processes, or on a Dask cluster.

The seam is ``concurrent.futures.Executor``: anything with ``submit(fn, *args)`` returning
a ``concurrent.futures.Future`` can run an experiment, so another engine plugs in by
passing its executor object. Results never depend on which executor ran them: every unit
carries its own seed and the experiment puts the answers back in a fixed order.

Specs understood by ``open_executor``:

- ``None`` or ``"sequential"``: run each unit in this process when it is submitted;
- ``"process"``: a ``ProcessPoolExecutor`` with ``jobs`` worker processes;
- ``"dask"`` or ``"dask://local"``: a ``distributed.LocalCluster`` with ``jobs`` worker
  processes (for trying the cluster path on one machine);
- ``"dask://HOST:PORT"`` (or ``tcp://HOST:PORT``): the Dask scheduler at that address.

Dask needs the optional extra: ``pip install "hubsim[cluster]"``.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

ExecutorSpec = str | cf.Executor | None
"""What ``executor=`` accepts: a spec string, a ready executor, or None."""

DASK_CONNECT_TIMEOUT = "10s"
"""How long to wait for a remote Dask scheduler before giving up."""


class ExecutorError(ValueError):
    """An executor spec that cannot be used (unknown, or its package is missing)."""


MAX_JOBS_PER_CPU = 4
"""The most worker processes this machine starts per logical CPU. Replications are
CPU-bound, so workers beyond the CPUs only add memory and start-up time; ``-j 100000``
is taken for a typo (a remote Dask cluster brings its own workers and is not bounded)."""


def _check_local_workers(jobs: int) -> None:
    cpus = os.cpu_count() or 1
    if jobs > MAX_JOBS_PER_CPU * cpus:
        raise ExecutorError(
            f"jobs (--jobs) {jobs:,} is more than {MAX_JOBS_PER_CPU} worker processes for "
            f"each of this machine's {cpus} logical CPUs: replications are CPU-bound, so "
            f"more workers only add memory and start-up time; use --jobs {cpus}")


class SequentialExecutor(cf.Executor):
    """Runs each submitted call at once in the calling process; a completed Future back."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> cf.Future[Any]:
        """Call ``fn(*args, **kwargs)`` now and return its (finished) future."""
        fut: cf.Future[Any] = cf.Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - delivered through the future
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            fut.set_exception(exc)
        return fut


def _quiet_worker() -> None:
    """In a worker process: Ctrl-C (sent to the whole terminal group) ends it silently.

    The parent reports the interruption once; the workers' tracebacks would bury it.
    """
    signal.signal(signal.SIGINT, lambda *_: os._exit(130))


def _quiet_broken_pool() -> None:
    """Keep an interrupted pool's manager thread from printing a spurious traceback.

    When Ctrl-C has ended the workers while this process cancels the queued units,
    Python 3.11's pool thread fails to set an error on a cancelled future
    (``InvalidStateError``); nothing is lost, so that one error is not shown.
    """
    previous = threading.excepthook

    def hook(args: threading.ExceptHookArgs) -> None:
        if not isinstance(args.exc_value, cf.InvalidStateError):
            previous(args)

    threading.excepthook = hook


@contextlib.contextmanager
def _sigint_blocked() -> Iterator[None]:
    """Block SIGINT while worker processes start; they inherit the mask.

    They stay quiet on Ctrl-C, and this process gets a Ctrl-C pressed meanwhile as soon as
    they are up.
    """
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def describe(spec: ExecutorSpec, jobs: int = 1) -> str:
    """A short human name for an executor spec (for run.json and messages)."""
    if isinstance(spec, cf.Executor):
        return type(spec).__name__
    if spec in (None, "", "auto"):
        return "sequential" if jobs <= 1 else f"process({jobs})"
    if spec == "process":
        return f"process({jobs})"
    return str(spec)


def _dask_address(spec: str) -> str | None:
    """The scheduler address of a dask spec; None for a local cluster."""
    for prefix in ("dask://", "tcp://"):
        if spec.startswith(prefix):
            rest = spec[len(prefix):]
            if rest in ("", "local", "localcluster"):
                return None
            return f"tcp://{rest}"
    return None


@contextlib.contextmanager
def open_executor(spec: ExecutorSpec = None, jobs: int = 1) -> Iterator[cf.Executor]:
    """Yield an executor for ``spec`` and shut down whatever this call started.

    An ``Executor`` object passed in is yielded as is and left running for its owner.
    """
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ExecutorError(f"jobs must be a positive integer, got {jobs!r}")
    if isinstance(spec, cf.Executor):
        yield spec
        return
    if spec in (None, "", "auto"):
        spec = "sequential" if jobs == 1 else "process"
    if not isinstance(spec, str):
        raise ExecutorError(f"executor must be a spec string or an Executor, got {spec!r}")
    if spec == "sequential":
        yield SequentialExecutor()
    elif spec == "process":
        _check_local_workers(jobs)
        pool = cf.ProcessPoolExecutor(max_workers=jobs, initializer=_quiet_worker)
        try:
            yield pool
        except BaseException:
            _quiet_broken_pool()
            pool.shutdown(wait=False, cancel_futures=True)  # do not wait for running units
            raise
        pool.shutdown(wait=True)
    elif spec == "dask" or spec.startswith(("dask://", "tcp://")):
        with _dask_executor(_dask_address(spec), jobs) as ex:
            yield ex
    else:
        raise ExecutorError(
            f"unknown executor {spec!r}; use sequential, process, dask (a local cluster) "
            "or dask://HOST:PORT")


@contextlib.contextmanager
def _dask_executor(address: str | None, jobs: int) -> Iterator[cf.Executor]:
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ExecutorError('the dask executor needs the cluster extra: '
                            'pip install "hubsim[cluster]"') from None
    cluster = None
    try:
        if address is None:
            _check_local_workers(jobs)
            with _sigint_blocked():
                cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
            client = Client(cluster)
        else:
            try:
                client = Client(address, timeout=DASK_CONNECT_TIMEOUT)
            except OSError as exc:
                raise ExecutorError(f"cannot reach the Dask scheduler at {address}: "
                                    f"{exc}") from None
        try:
            ex = client.get_executor(pure=False)
            yield ex
        except BaseException:
            # interrupted: the workers are shut down; their warnings would bury the message
            logging.getLogger("distributed").setLevel(logging.CRITICAL)
            raise
        finally:
            client.close()
    finally:
        if cluster is not None:
            cluster.close()
