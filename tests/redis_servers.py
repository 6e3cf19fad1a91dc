"""A Redis Cluster and a Sentinel-watched Redis started for the suite, on free loopback ports,
nothing saved: the "mysql_cluster" and "mysql_sentinel" backends of the tests marked
`redis_cluster` (tests/conftest.py) run against them."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

from core.testing import free_port

SERVICE = "hitcircle"


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"redis-server on {port} exited:\n{log.read_text(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", port), 0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"redis-server on {port} did not start")


def _cli(port: int, *args: str) -> str:
    result = subprocess.run(
        ["redis-cli", "-p", str(port), *args], capture_output=True, text=True, timeout=10
    )
    return result.stdout


class _Servers:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.processes: list[subprocess.Popen[bytes]] = []

    def _spawn(self, port: int, *args: str) -> None:
        log = self.directory / f"{port}.log"
        process = subprocess.Popen(
            ["redis-server", *args, "--port", str(port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--logfile", str(log)],
            cwd=self.directory,
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        self.processes.append(process)
        _wait_for_port(port, process, log)

    def stop(self) -> None:
        for process in self.processes:
            process.kill()
        for process in self.processes:
            process.wait()
        self.processes.clear()


class RedisClusterProcesses(_Servers):
    """Three masters without replicas, every slot assigned; `url` is hitcircle's for it."""

    def __init__(self, directory: Path, masters: int = 3) -> None:
        super().__init__(directory)
        self.ports = [free_port() for _ in range(masters)]
        self.url = "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in self.ports)

    def start(self) -> None:
        try:
            for port in self.ports:
                # The cluster bus port is given too: the default (port + 10000) may not exist.
                self._spawn(
                    port,
                    "--cluster-enabled", "yes",
                    "--cluster-config-file", f"nodes-{port}.conf",
                    "--cluster-port", str(free_port()),
                )  # fmt: skip
            created = subprocess.run(
                ["redis-cli", "--cluster", "create",
                 *(f"127.0.0.1:{p}" for p in self.ports),
                 "--cluster-replicas", "0", "--cluster-yes"],
                capture_output=True, text=True, timeout=60,
            )  # fmt: skip
            if created.returncode != 0:
                raise RuntimeError(f"redis-cli --cluster create failed:\n{created.stdout}")
            # Every node must know every slot's owner before a client reads the map from one.
            deadline = time.monotonic() + 20
            while not all("cluster_state:ok" in _cli(p, "cluster", "info") for p in self.ports):
                if time.monotonic() > deadline:
                    raise RuntimeError("the cluster did not reach cluster_state:ok")
                time.sleep(0.05)
        except BaseException:
            self.stop()
            raise


class RedisSentinelProcesses(_Servers):
    """A master (and a replica of it, with `replica`) and one sentinel watching it as SERVICE;
    `url` is hitcircle's for it. The sentinel calls the master down after `down_after` seconds
    without an answer (and fails over to the replica): long by default, as a master it calls
    down is one no client is given, and a busy machine can keep a healthy one silent a while."""

    def __init__(self, directory: Path, replica: bool = False, down_after: float = 60) -> None:
        super().__init__(directory)
        self.down_after_ms = int(down_after * 1000)
        self.master_port = free_port()
        self.replica_port = free_port() if replica else None
        self.sentinel_port = free_port()
        self.url = f"redis+sentinel://127.0.0.1:{self.sentinel_port}/{SERVICE}"

    def master(self) -> int:
        """The port of the master the sentinel names now."""
        answer = _cli(self.sentinel_port, "sentinel", "get-master-addr-by-name", SERVICE)
        return int(answer.split()[1])

    def kill_master(self) -> None:
        self.processes[0].kill()
        self.processes[0].wait()

    def start(self) -> None:
        try:
            self._spawn(self.master_port)
            if self.replica_port is not None:
                self._spawn(self.replica_port, "--replicaof", "127.0.0.1", str(self.master_port))
            config = self.directory / "sentinel.conf"  # a sentinel rewrites its own file
            # The replica is named, not left to be found: a sentinel asks its master for
            # replicas every ten seconds.
            known = (
                f"sentinel known-replica {SERVICE} 127.0.0.1 {self.replica_port}\n"
                if self.replica_port is not None
                else ""
            )
            config.write_text(
                f"sentinel monitor {SERVICE} 127.0.0.1 {self.master_port} 1\n"
                f"sentinel down-after-milliseconds {SERVICE} {self.down_after_ms}\n"
                f"sentinel failover-timeout {SERVICE} 5000\n" + known
            )
            self._spawn(self.sentinel_port, str(config), "--sentinel")
            deadline = time.monotonic() + 10
            while str(self.master_port) not in _cli(
                self.sentinel_port, "sentinel", "get-master-addr-by-name", SERVICE
            ):
                if time.monotonic() > deadline:
                    raise RuntimeError("the sentinel does not know its master")
                time.sleep(0.05)
        except BaseException:
            self.stop()
            raise
