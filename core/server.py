"""Running the app under hypercorn: one worker or several, uvloop, and a graceful stop.

hypercorn's own `run()` stops a worker by closing its listening sockets, waiting up to
`graceful_timeout` for open connections and only then running the app's lifespan shutdown. Hub
connections never finish by themselves, so they would be cut (cancelled) before the hubs could
say goodbye. Here each worker is hypercorn's `worker_serve` with a shutdown trigger of our own:
when SIGTERM/SIGINT (or the parent's stop event) arrives, the trigger first tells every hub
client `ServerShuttingDown` and sends a SignalR Close, and only then lets hypercorn close down.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import signal
import time
from collections.abc import Awaitable, Callable
from multiprocessing.connection import wait
from multiprocessing.synchronize import Event as EventType
from typing import Any, cast

from hypercorn.app_wrappers import ASGIWrapper
from hypercorn.asyncio.run import worker_serve
from hypercorn.config import Config, Sockets
from hypercorn.typing import ASGIFramework
from loguru import logger
from starlette.applications import Starlette

from core import metrics
from core.config import Settings, load_settings
from core.services import services

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# The most of the graceful timeout the hubs may spend telling their clients (a client that does
# not read cannot hold the stop up); hypercorn's own wait gets what is left.
DRAIN_TIMEOUT = 2.0


def hypercorn_config(settings: Settings, access_log: bool = False) -> Config:
    config = Config()
    config.bind = [f"{settings.server.host}:{settings.server.port}", *metrics.extra_binds(settings)]
    config.workers = settings.server.workers
    config.graceful_timeout = settings.server.graceful_timeout
    config.accesslog = "-" if access_log else None
    config.errorlog = "-"
    config.keep_alive_timeout = 75
    return config


def loop_factory(settings: Settings) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop when the setting asks for it and it is installed; None is asyncio's own."""
    if not settings.server.uvloop:
        return None
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


async def drain(app: Starlette, timeout: float) -> None:
    """Tell every hub client that the server is going away and close its connection."""
    hosts = list(services(app).hubs.values())
    if not hosts:
        return
    try:
        await asyncio.wait_for(asyncio.gather(*(host.drain() for host in hosts)), timeout)
    except TimeoutError:
        logger.warning("hub clients were not all told of the shutdown in {} s", timeout)


# A stop that arrives while a worker is still starting (before its loop listens for signals) is
# remembered and honoured once serving begins, instead of a KeyboardInterrupt mid-start-up.
_early_stop: list[int] = []


def _remember_stop(signum: int, frame: object) -> None:
    _early_stop.append(signum)


async def _signalled() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    if _early_stop:
        stop.set()
    await stop.wait()


async def _parent_stopped(event: EventType) -> None:
    # A process-shared Event cannot be awaited, and a thread blocked on it would hold up the
    # loop's exit: poll it, as hypercorn's own workers do.
    while not event.is_set():  # noqa: ASYNC110
        await asyncio.sleep(0.1)


async def _serve(
    app: Starlette, config: Config, sockets: Sockets | None, event: EventType | None
) -> None:
    async def shutdown_trigger() -> None:
        waits: list[Awaitable[None]] = [_signalled()]
        if event is not None:
            waits.append(_parent_stopped(event))
        tasks = [asyncio.ensure_future(w) for w in waits]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
        # The drain counts against the graceful timeout: the whole stop stays within it.
        graceful = config.graceful_timeout
        started = time.monotonic()
        await drain(app, min(DRAIN_TIMEOUT, graceful))
        config.graceful_timeout = max(0.0, graceful - (time.monotonic() - started))

    # The same ASGI callable: Starlette types scopes as plain mappings, hypercorn as TypedDicts.
    asgi = cast(ASGIFramework, app)
    await worker_serve(
        ASGIWrapper(asgi), config, sockets=sockets, shutdown_trigger=shutdown_trigger
    )


def run_worker(
    config: Config, sockets: Sockets | None = None, shutdown_event: EventType | None = None
) -> None:
    """One worker: build the app from the settings (config file and environment) and serve it."""
    from core.app import configure_logging, create_app

    for sig in STOP_SIGNALS:
        signal.signal(sig, _remember_stop)
    settings = load_settings()
    configure_logging(settings)
    app = create_app(settings)
    with asyncio.Runner(loop_factory=loop_factory(settings)) as runner:
        runner.run(_serve(app, config, sockets, shutdown_event))


def serve(settings: Settings, access_log: bool = False) -> int:
    """Serve until SIGTERM/SIGINT; returns the exit code."""
    config = hypercorn_config(settings, access_log)
    sockets = config.create_sockets()
    for sig in STOP_SIGNALS:
        signal.signal(sig, _remember_stop)
    print(f"hitcircle serving on http://{settings.server.host}:{settings.server.port}", flush=True)
    try:
        if settings.server.workers == 1:
            run_worker(config, sockets)
            return 0
        metrics.prepare_multiprocess(settings.data_dir)
        return _supervise(config, sockets, settings.server.workers)
    finally:
        for sock in (*sockets.secure_sockets, *sockets.insecure_sockets):
            sock.close()


def _supervise(config: Config, sockets: Sockets, workers: int) -> int:
    """Start `workers` processes on the shared sockets; stop them all on a signal or a death."""
    ctx = multiprocessing.get_context("spawn")
    stop = ctx.Event()
    previous: dict[signal.Signals, Any] = {}

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    for sig in STOP_SIGNALS:
        previous[sig] = signal.signal(sig, on_signal)
    processes = []
    try:
        # Workers inherit an ignored Ctrl-C until they listen themselves (`run_worker`): one
        # still importing would otherwise die of the terminal's SIGINT with a traceback; the
        # stop event tells it instead.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for _ in range(workers):
            process = ctx.Process(
                target=run_worker,
                kwargs={"config": config, "sockets": sockets, "shutdown_event": stop},
            )
            process.start()
            processes.append(process)
        signal.signal(signal.SIGINT, on_signal)
        if _early_stop:
            stop.set()
        # A worker that dies takes the others down with it: a half-served set of workers would
        # hide the failure (and its log line) from the operator.
        while not stop.is_set():
            wait([p.sentinel for p in processes], timeout=0.5)
            if any(p.exitcode is not None for p in processes):
                stop.set()
        deadline = time.monotonic() + config.graceful_timeout + 1
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
        for process in processes:
            if process.is_alive():
                logger.warning("worker {} did not stop in time; killing it", process.pid)
                process.kill()
                process.join()
        codes = [p.exitcode or 0 for p in processes]
        return next((code for code in codes if code not in (0, -signal.SIGTERM)), 0)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
