"""Create-job requests per second and latency over HTTP, beside direct store inserts.

    python bench/api.py [--creates 20000] [--clients 50] [--rounds 3]

Starts `supervisor run --only api` as a subprocess on a scratch database (DATABASE_URL, default
the local server), drives it with concurrent httpx clients on loopback, then makes the same
number of JobStore.create calls directly with the same concurrency. The scratch database is
dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import socket
import subprocess
import sys
import time

import anyio
import httpx

from bench.common import median, percentile, row, scratch_database
from supervisor.runtime.eventloop import backend_options
from supervisor.store.api_keys import ApiKeyStore
from supervisor.store.db import create_pool
from supervisor.store.jobs import JobStore

TARGET_RATE, TARGET_P99_MS = 3000, 50.0
BODY = b'{"job_type": "noop", "job_data": {"s3_key": "uploads/contacts.csv"}, "retry_count": 3}'


def free_port() -> int:
    """A port nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_server(dsn: str, port: int) -> subprocess.Popen[bytes]:
    """The real api service, in its own process as in production."""
    env = {**os.environ, "DATABASE_URL": dsn, "API_PORT": str(port), "LOGGING_LEVEL": "WARNING",
           "SUPERVISOR_CONFIG": os.devnull}
    return subprocess.Popen([sys.executable, "-m", "supervisor", "run", "--only", "api"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    """Return once /healthz answers (the server exits on failure: then raise)."""
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            if proc.poll() is not None:
                raise RuntimeError(f"the api server exited with {proc.returncode}")
            try:
                if (await client.get(url + "/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("the api server did not start within 30 s")


async def http_creates(url: str, key: str, creates: int, clients: int) -> tuple[float, list[float]]:
    """`creates` POSTs from `clients` concurrent clients, each on its own keep-alive connection."""
    latencies: list[float] = []
    headers = {"X-API-Key": key, "Content-Type": "application/json"}

    async def one_client(client: httpx.AsyncClient, n: int) -> None:
        for _ in range(n):
            t0 = time.perf_counter()
            r = await client.post("/common/jobs/create", content=BODY)
            latencies.append((time.perf_counter() - t0) * 1000)
            if r.status_code != 201:
                raise RuntimeError(f"create failed: {r.status_code} {r.text}")

    # One client per simulated user: a shared client's connection pool is itself a bottleneck.
    async with contextlib.AsyncExitStack() as stack:
        pool = [await stack.enter_async_context(httpx.AsyncClient(base_url=url, headers=headers))
                for _ in range(clients)]
        await asyncio.gather(*(one_client(c, 1) for c in pool))  # connect, warm the key cache
        latencies.clear()
        start = time.perf_counter()
        await asyncio.gather(*(one_client(c, creates // clients) for c in pool))
        rate = len(latencies) / (time.perf_counter() - start)
    return rate, latencies


async def raw_creates(port: int, key: str, creates: int, clients: int) -> tuple[float, list[float]]:
    """The same POSTs from a minimal HTTP/1.1 keep-alive client: the server's own capacity."""
    latencies: list[float] = []
    head = (f"POST /common/jobs/create HTTP/1.1\r\nHost: bench\r\nX-API-Key: {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(BODY)}\r\n\r\n").encode()

    async def one_client(n: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(n):
            t0 = time.perf_counter()
            writer.write(head + BODY)
            status = await reader.readuntil(b"\r\n\r\n")
            length = int(status.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            latencies.append((time.perf_counter() - t0) * 1000)
            if not status.startswith(b"HTTP/1.1 201"):
                raise RuntimeError(f"create failed: {status!r}")
        writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(one_client(creates // clients) for _ in range(clients)))
    return len(latencies) / (time.perf_counter() - start), latencies


async def direct_creates(store: JobStore, creates: int, clients: int) -> tuple[float, list[float]]:
    """The same inserts through JobStore.create, same concurrency; (rate, latencies ms)."""
    latencies: list[float] = []

    async def one_client(n: int) -> None:
        for _ in range(n):
            t0 = time.perf_counter()
            await store.create("noop", {"s3_key": "uploads/contacts.csv"}, retry_count=3)
            latencies.append((time.perf_counter() - t0) * 1000)

    start = time.perf_counter()
    await asyncio.gather(*(one_client(creates // clients) for _ in range(clients)))
    return len(latencies) / (time.perf_counter() - start), latencies


Result = tuple[float, list[float]]


async def one_round(creates: int, clients: int) -> dict[str, Result]:
    """HTTP with httpx, HTTP with the raw client, then direct inserts; fresh databases."""
    out: dict[str, Result] = {}
    async with scratch_database("bench_api") as dsn:
        pool = await create_pool(dsn, min_size=1, max_size=2)
        key, _ = await ApiKeyStore(pool).create("bench")
        await pool.close()
        port = free_port()
        proc = start_server(dsn, port)
        try:
            await wait_ready(f"http://127.0.0.1:{port}", proc)
            out["httpx"] = await http_creates(f"http://127.0.0.1:{port}", key, creates, clients)
            out["raw"] = await raw_creates(port, key, creates, clients)
        finally:
            proc.terminate()
            proc.wait(30)
    async with scratch_database("bench_api") as dsn:
        pool = await create_pool(dsn, max_size=8)  # the daemon's pool size at defaults
        out["direct"] = await direct_creates(JobStore(pool), creates, clients)
        await pool.close()
    return out


def summary(rounds: list[dict[str, Result]], name: str) -> tuple[float, list[float]]:
    """Median rate over the rounds, and the latencies of the round nearest that median."""
    rates = [r[name][0] for r in rounds]
    mid = median(rates)
    nearest = min(rounds, key=lambda r: abs(r[name][0] - mid))
    return mid, nearest[name][1]


async def main(creates: int, clients: int, rounds: int) -> None:
    """Run the rounds and print medians beside the target."""
    logging.disable(logging.WARNING)
    results = [await one_round(creates, clients) for _ in range(rounds)]
    print(f"supervisor api bench: {creates} creates, {clients} concurrent clients, loopback, "
          f"median of {rounds} round(s); server: `supervisor run --only api`")
    print(row("measure", "creates/s", "p50 / p99 ms", "target"))
    for name, label in (("httpx", "HTTP API, httpx clients"),
                        ("raw", "HTTP API, minimal keep-alive clients"),
                        ("direct", "direct JobStore.create (8 connections)")):
        rate, lat = summary(results, name)
        target = f">= {TARGET_RATE:,}/s, p99 < {TARGET_P99_MS:.0f} ms" if name != "direct" else ""
        print(row(label, f"{rate:,.0f}",
                  f"{percentile(lat, 50):.1f} / {percentile(lat, 99):.1f}", target))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--creates", type=int, default=20000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    anyio.run(main, args.creates, args.clients, args.rounds, backend_options=backend_options())
