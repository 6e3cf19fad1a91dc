"""Every figure of the hot-paths work in one table, each against its goal.

    python -m tests.bench.bench_all --mysql mysql://root@127.0.0.1:3306/hcbench
                                    --redis redis://127.0.0.1:6379/9 [--seconds 3] [--rounds 1]
                                    [--only reads,multiplayer,memory,scaling]

Runs, in turn (each script also runs alone, and its module says how it measures):
- `bench_reads` on the embedded default and on MariaDB + Redis: `/me`, `users/{id}`,
  `beatmaps/lookup`, a leaderboard, `rooms` and `/health` as a share of bare Starlette
  answering the same bytes (goal 0.5; 0.7 for `/health`);
- `bench_multiplayer`: multiplayer state changes per second on Redis as a share of the memory
  backend (goal 0.5);
- `bench_memory`: idle RSS per worker after start-up (goal at most 80 MiB);
- `bench_scaling`: two workers on Redis against one, the same mix (goal 1.6).

Every ratio is measured within this run; absolute figures vary with what else the machine does.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass


@dataclass
class Row:
    figure: str
    backend: str
    measured: float
    goal: float
    # "min": the measured figure must reach the goal; "max": it must stay under it.
    kind: str = "min"
    unit: str = "x"

    @property
    def met(self) -> bool:
        return self.measured >= self.goal if self.kind == "min" else self.measured <= self.goal


def reads(seconds: float, rounds: int, mysql: str, redis: str) -> list[Row]:
    from tests.bench import bench_reads

    rows = []
    backends = [("embedded", "", "")] + ([("mariadb+redis", mysql, redis)] if mysql else [])
    for backend, database, cache in backends:
        results = bench_reads.run(seconds, 32, rounds, database, cache)
        bench_reads.print_table(backend, results)
        for name, row in results.items():
            label = f"{name} (of bare starlette)"
            rows.append(Row(label, backend, row["ratio"], row["goal"]))
    return rows


def multiplayer(seconds: float, rounds: int, redis: str) -> list[Row]:
    from tests.bench import bench_multiplayer

    result = bench_multiplayer.compare(seconds, rounds, redis)
    return [Row("multiplayer changes/s (redis of memory)", "redis", result["ratio"], 0.5)]


def memory(mysql: str, redis: str) -> list[Row]:
    from tests.bench import bench_memory

    rows = []
    for label, figures in bench_memory.run(mysql, redis, [1, 2] if mysql else [1], 1.0).items():
        if label.startswith("bare"):
            continue
        rows.append(
            Row(f"idle RSS per worker, {label.split(', ')[1]}", label.split(",")[0],
                max(figures), bench_memory.GOAL_MIB, "max", "MiB")
        )  # fmt: skip
    return rows


def scaling(seconds: float, rounds: int, mysql: str, redis: str) -> list[Row]:
    from tests.bench import bench_scaling

    result = bench_scaling.run(seconds, 32, rounds, mysql, redis)
    bench_scaling.print_cores(result)
    label = f"two workers of one ({result['cpus']} CPUs, load on them too)"
    return [Row(label, "mariadb+redis", result["ratio"], result["goal"])]


def print_rows(rows: list[Row]) -> None:
    print()
    print(f"| {'figure':52s} | {'backend':26s} | {'measured':>10s} | {'goal':>9s} | met |")
    print(f"|{'-' * 54}|{'-' * 28}|{'-' * 12}|{'-' * 11}|-----|")
    for row in rows:
        sign = ">=" if row.kind == "min" else "<="
        measured = f"{row.measured:.2f}" + (" MiB" if row.unit == "MiB" else "")
        goal = f"{sign} {row.goal:g}" + (" MiB" if row.unit == "MiB" else "")
        print(
            f"| {row.figure:52s} | {row.backend:26s} | {measured:>10s} | {goal:>9s} | "
            f"{'yes' if row.met else 'NO ':3s} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--mysql", default=os.environ.get("HITCIRCLE_TEST_MYSQL_URL", ""))
    parser.add_argument("--redis", default=os.environ.get("HITCIRCLE_TEST_REDIS_URL", ""))
    parser.add_argument("--only", default="", help="comma-separated: reads,multiplayer,...")
    args = parser.parse_args()
    if not (args.mysql and args.redis):
        raise SystemExit("give --mysql and --redis: half the figures are on MariaDB + Redis")
    only = {p for p in args.only.split(",") if p}
    rows: list[Row] = []
    if not only or "reads" in only:
        rows += reads(args.seconds, args.rounds, args.mysql, args.redis)
    if not only or "multiplayer" in only:
        rows += multiplayer(args.seconds * 2, args.rounds, args.redis)
    if not only or "memory" in only:
        rows += memory(args.mysql, args.redis)
    if not only or "scaling" in only:
        rows += scaling(args.seconds, args.rounds, args.mysql, args.redis)
    print_rows(rows)


if __name__ == "__main__":
    main()
