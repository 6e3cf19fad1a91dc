"""Running the app under hypercorn: one worker or several, uvloop, and a graceful stop.

hypercorn's own `run()` stops a worker by closing its listening sockets, waiting up to
`graceful_timeout` for open connections and only then running the app's lifespan shutdown. Hub
connections never finish by themselves, so they would be cut (cancelled) before the hubs could
say goodbye. Here each worker is hypercorn's `worker_serve` with a shutdown trigger of our own:
when SIGTERM/SIGINT (or the supervisor, on the worker's pipe) says stop, the trigger first tells
every hub client `ServerShuttingDown` and sends a SignalR Close, and only then lets hypercorn close
down.

With several workers, hypercorn's own `run()` would end the whole server, with exit code 0, when
one worker dies. `Supervisor` starts a dead worker again instead (the others keep serving from
the shared socket meanwhile), and ends the server with exit code 1 only when workers cannot be
kept running.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import multiprocessing
import os
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from multiprocessing import resource_tracker
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any, cast

from hypercorn.app_wrappers import ASGIWrapper
from hypercorn.asyncio.run import worker_serve
from hypercorn.config import Config, Sockets
from hypercorn.typing import ASGIFramework
from loguru import logger
from starlette.applications import Starlette

from core import metrics
from core.config import ConfigError, Settings, load_settings
from core.services import services

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# The most of the graceful timeout the hubs may spend telling their clients (a client that does
# not read cannot hold the stop up); hypercorn's own wait gets what is left.
DRAIN_TIMEOUT = 2.0
# What a worker says on its control pipe once it listens.
READY = b"ready"


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


async def _parent_stopped(control: Connection) -> None:
    """Until the supervisor says stop on the worker's pipe, or closes it, or dies."""
    loop = asyncio.get_running_loop()
    readable = asyncio.Event()
    loop.add_reader(control.fileno(), readable.set)
    try:
        await readable.wait()
    finally:
        loop.remove_reader(control.fileno())


async def _serve(
    app: Starlette,
    config: Config,
    sockets: Sockets | None,
    control: Connection | None,
) -> None:
    async def shutdown_trigger() -> None:
        waits: list[Awaitable[None]] = [_signalled()]
        if control is not None:
            # hypercorn awaits the trigger once its servers listen: from here this worker serves.
            # A supervisor that is gone cannot hear it; the pipe's end then stops the worker.
            with contextlib.suppress(OSError):
                control.send_bytes(READY)
            waits.append(_parent_stopped(control))
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
    config: Config,
    sockets: Sockets | None = None,
    control: Connection | None = None,
) -> None:
    """One worker: build the app from the settings (config file and environment) and serve it.

    `control` is its pipe to the supervisor: the worker says `READY` on it once it listens, and
    stops when the other end says anything or closes (the supervisor stops, or dies)."""
    from core.app import configure_logging, create_app

    for sig in STOP_SIGNALS:
        signal.signal(sig, _remember_stop)
    # A worker is started with the stop signals blocked (`Supervisor._start`): one that came
    # while it was importing is delivered now, to the handler above.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    settings = load_settings()
    configure_logging(settings)
    app = create_app(settings)
    with asyncio.Runner(loop_factory=loop_factory(settings)) as runner:
        runner.run(_serve(app, config, sockets, control))


def serve(settings: Settings, access_log: bool = False) -> int:
    """Serve until SIGTERM/SIGINT; returns the exit code: 0 for a stop that was asked for, 1 for
    one that was not (workers that could not be kept running, a port that cannot be bound)."""
    from core.app import configure_logging

    configure_logging(settings)
    settings = advertise(settings)
    config = hypercorn_config(settings, access_log)
    try:
        sockets = config.create_sockets()
    except OSError as exc:
        print(
            f"hitcircle: cannot listen on {settings.server.host}:{settings.server.port}: "
            f"{exc.strerror or exc} (server.host, server.port)",
            file=sys.stderr,
        )
        return 1
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


# --- the address clients are given ---------------------------------------------------------------

WILDCARD_HOSTS = ("0.0.0.0", "::", "")


def advertise(settings: Settings) -> Settings:
    """Settings whose `public_url` is an address clients can reach.

    Without `server.public_url`, the URL handed to clients (notification websocket, download
    links) is built from `server.host`; a wildcard host there would tell them `ws://0.0.0.0:...`.
    The machine's own address is used instead, with a warning, and written to the environment
    so every worker advertises the same one. With no address but loopback, serve refuses.
    """
    if settings.server.public_url or settings.server.host not in WILDCARD_HOSTS:
        return settings
    address = _own_address(ipv6=settings.server.host == "::")
    if address is None:
        raise ConfigError(
            "server.public_url",
            f"must be set when server.host is {settings.server.host!r} "
            "(no address of this machine other than loopback was found to advertise)",
        )
    host = f"[{address}]" if ":" in address else address
    url = f"http://{host}:{settings.server.port}"
    logger.warning(
        "server.public_url is not set and server.host {!r} is not an address clients can use: "
        "advertising {}; set server.public_url to the address players use",
        settings.server.host,
        url,
    )
    os.environ["HITCIRCLE_SERVER_PUBLIC_URL"] = url
    return settings.replace(server={"public_url": url})


def _own_address(ipv6: bool) -> str | None:
    """The address this machine's default route leaves from (the one LAN clients reach it on).

    A UDP socket's connect() only picks a route and a source address; nothing is sent.
    """
    family, target = (socket.AF_INET6, "2001:db8::1") if ipv6 else (socket.AF_INET, "192.0.2.1")
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.connect((target, 9))
            address: str = probe.getsockname()[0]
    except OSError:
        return None
    return None if ipaddress.ip_address(address).is_loopback else address


# --- several workers ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RestartPolicy:
    """When a worker that died is started again, and when serve gives up on it."""

    # Seconds before a worker is started again; doubled for each quick failure in a row.
    backoff: float = 0.5
    max_backoff: float = 10.0
    # A worker that lived this long (and was serving) died of something new: its quick
    # failures start again from none.
    stable_after: float = 30.0
    # Quick failures in a row of one worker after which serve stops with exit code 1.
    give_up_after: int = 5

    def delay(self, quick_failures: int) -> float:
        return float(min(self.max_backoff, self.backoff * 2**quick_failures))


def exit_cause(exitcode: int) -> str:
    """`killed by SIGKILL` or `exited with code 1`, for the log line of a worker's death."""
    if exitcode < 0:
        try:
            return f"was killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"was killed by signal {-exitcode}"
    return f"exited with code {exitcode}"


@dataclass
class _Worker:
    process: BaseProcess
    control: Connection
    started: float
    replaces: int | None = None
    # Deaths in a row within `stable_after` of starting, or before serving.
    quick_failures: int = 0
    # When the worker that died here is to be started again; None while it runs.
    restart_at: float | None = None
    serving: bool = False
    # Its death has been seen (and logged).
    gone: bool = False

    @property
    def running(self) -> bool:
        return not self.gone


WorkerTarget = Callable[..., None]


class Supervisor:
    """`workers` processes on the shared sockets, each started again when it dies.

    The others keep serving meanwhile: they accept from the same listening socket. A worker that
    dies before any worker has served (a start-up that cannot succeed) stops the server at once;
    later, a worker that keeps dying soon after it starts is started again after a growing pause,
    and after `policy.give_up_after` quick deaths in a row the server stops. Either way `run()`
    returns 1, so a service manager set to restart on failure does; a stop that was asked for
    (`request_stop`, which signal handlers call) returns 0.
    """

    def __init__(
        self,
        config: Config,
        sockets: Sockets,
        workers: int,
        target: WorkerTarget = run_worker,
        policy: RestartPolicy = RestartPolicy(),
    ) -> None:
        self.config = config
        self.sockets = sockets
        self.count = workers
        self.target = target
        self.policy = policy
        self.ctx = multiprocessing.get_context("spawn")
        self.workers: list[_Worker] = []
        self.failed = False
        self._stop_requested = False
        self._ever_served = False
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_write, False)

    def request_stop(self) -> None:
        """Stop every worker and return from `run()`; safe in a signal handler and any thread."""
        self._stop_requested = True
        if self._wake_write >= 0:  # not after `run()` has returned (and closed it)
            with contextlib.suppress(BlockingIOError):
                os.write(self._wake_write, b"\0")

    def pids(self) -> list[int | None]:
        """The running workers' process ids (None for one waiting to be started again)."""
        return [w.process.pid if w.running else None for w in self.workers]

    def run(self) -> int:
        try:
            if not self._stop_requested:
                self.workers = [self._start() for _ in range(self.count)]
            while not self._stop_requested:
                self._step()
            return self._stop_all()
        finally:
            wake_write, self._wake_write = self._wake_write, -1
            os.close(wake_write)
            os.close(self._wake_read)

    def _start(self, replaces: int | None = None, quick_failures: int = 0) -> _Worker:
        # A pipe, not a process-shared Event: a worker killed while it held an Event's lock
        # would leave the supervisor blocked on it for good.
        control, worker_end = self.ctx.Pipe()
        process = self.ctx.Process(
            target=self.target,
            kwargs={"config": self.config, "sockets": self.sockets, "control": worker_end},
        )
        # The worker inherits the stop signals blocked until it listens for them itself
        # (`run_worker`): one still importing would otherwise die of a Ctrl-C with a traceback.
        # The resource tracker is started first: starting it unblocks them in this process.
        resource_tracker.ensure_running()
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            process.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)
            # The worker has its own copy now; the supervisor's would hide the worker's end
            # closing (its death) from it.
            worker_end.close()
        if replaces is not None:
            logger.info("worker {} started in place of {}", process.pid, replaces)
        return _Worker(process, control, time.monotonic(), replaces, quick_failures)

    def _step(self) -> None:
        """Wait for a death, a stop, a due restart or a worker that starts serving."""
        due = [w.restart_at for w in self.workers if w.restart_at is not None]
        timeout = max(0.0, min(due) - time.monotonic()) if due else None
        running = [w for w in self.workers if w.running]
        starting = [w.control for w in running if not w.serving]
        woken = wait([*(w.process.sentinel for w in running), *starting, self._wake_read], timeout)
        if self._wake_read in woken:
            with contextlib.suppress(BlockingIOError):
                os.read(self._wake_read, 512)
        if self._stop_requested:
            return
        for index, worker in enumerate(self.workers):
            if worker.running and worker.control in woken:
                self._check_serving(worker)
            if worker.running and worker.process.exitcode is not None:
                self._died(worker)
            elif worker.restart_at is not None and time.monotonic() >= worker.restart_at:
                old = worker.process.pid
                worker.process.close()
                self.workers[index] = self._start(old, worker.quick_failures)
            if self._stop_requested:
                return

    def _check_serving(self, worker: _Worker) -> None:
        """Read what the worker said on its pipe, if anything: `READY` once it listens."""
        if worker.serving:
            return
        try:
            if not worker.control.poll() or worker.control.recv_bytes() != READY:
                return
        except (EOFError, OSError):
            return  # it died: its sentinel says so
        worker.serving = self._ever_served = True
        if worker.replaces is not None:
            logger.info("worker {} is serving", worker.process.pid)

    def _died(self, worker: _Worker) -> None:
        pid, code = worker.process.pid, worker.process.exitcode
        assert code is not None
        if pid is not None:
            metrics.worker_died(pid)  # its live gauges (hub connections) are gone with it
        cause = exit_cause(code)
        self._check_serving(worker)  # one that said READY and died at once still served
        worker.control.close()
        worker.gone = True
        if not self._ever_served:
            logger.error("worker {} {} during start-up; stopping", pid, cause)
            self._fail()
            return
        quick = not worker.serving or time.monotonic() - worker.started < self.policy.stable_after
        failures = worker.quick_failures + 1 if quick else 0
        if failures >= self.policy.give_up_after:
            logger.error(
                "worker {} {}; it died {} times in a row within {:g} s of starting: giving up",
                pid,
                cause,
                failures,
                self.policy.stable_after,
            )
            self._fail()
            return
        delay = self.policy.delay(failures)
        logger.error(
            "worker {} {}{}; starting another in {:.1f} s",
            pid,
            cause,
            "" if worker.serving else " before it was serving",
            delay,
        )
        worker.quick_failures = failures
        worker.restart_at = time.monotonic() + delay

    def _fail(self) -> None:
        self.failed = True
        self.request_stop()

    def _stop_all(self) -> int:
        """Tell every running worker to stop; kill the ones still there after the grace time.

        A worker still starting serves no one and has nothing to drain: it is killed at once
        rather than left to finish a start-up only to stop (which can outlast the grace time).
        """
        running = [w for w in self.workers if w.running]
        for worker in running:
            self._check_serving(worker)
        for worker in self.workers:
            # Its end of the pipe closing is the worker's stop; closing one twice is harmless.
            worker.control.close()
        starting = {w.process.pid for w in running if not w.serving}
        for worker in running:
            if not worker.serving:
                worker.process.kill()
        deadline = time.monotonic() + self.config.graceful_timeout + 1
        for worker in running:
            worker.process.join(max(0.0, deadline - time.monotonic()))
        clean = not self.failed
        for process in (w.process for w in running):
            if process.is_alive():
                logger.warning("worker {} did not stop in time; killing it", process.pid)
                process.kill()
                process.join()
                clean = False
            elif process.pid in starting:
                continue
            elif process.exitcode not in (0, -signal.SIGTERM, -signal.SIGINT):
                logger.error(
                    "worker {} {} while stopping", process.pid, exit_cause(process.exitcode or 0)
                )
                clean = False
        return 0 if clean else 1


def _supervise(config: Config, sockets: Sockets, workers: int) -> int:
    """`Supervisor.run()` with SIGTERM and SIGINT asking it to stop."""
    supervisor = Supervisor(config, sockets, workers)
    previous: dict[signal.Signals, Any] = {}

    def on_signal(signum: int, frame: object) -> None:
        supervisor.request_stop()

    for sig in STOP_SIGNALS:
        previous[sig] = signal.signal(sig, on_signal)
    try:
        if _early_stop:
            supervisor.request_stop()
        return supervisor.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
