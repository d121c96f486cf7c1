"""The open-loop load generator of the HTTP section, run as its own process:

    python -m approvals.bench.loadgen BASE RATE SECONDS < applicants.json

It reads the applicants (`[{"id_number", "item", "form"}, ...]`) on stdin, takes a
citizen token for each from the sandbox, sends `POST /v1/applications` round-robin over
them at `start + i / RATE` whether or not earlier requests were answered, and prints
one JSON line: requests sent, errors, seconds, p50, p99 and its own CPU per request.

It imports aiohttp (and uvloop, where installed) and the standard library only. It is
started once per rate, and importing the benchmark package instead (the peers, charts
and the service) took 2.3 s of CPU at every start, on a machine whose two cores the
service needs.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from typing import Any

import aiohttp


async def generate(
    base: str, rate_per_s: float, seconds: float, applicants: list[dict[str, Any]]
) -> dict[str, Any]:
    """Send the requests open loop. aiohttp, not httpx: the generator shares the cores
    with the service and the providers, and httpx cost ~1.3 ms of CPU a request here,
    aiohttp a fraction of that (`client_cpu_ms` in the result)."""
    connector = aiohttp.TCPConnector(limit=512)
    timeout = aiohttp.ClientTimeout(total=30.0)
    async with aiohttp.ClientSession(base, connector=connector, timeout=timeout) as client:
        tokens: dict[str, str] = {}
        for applicant in applicants:
            subject = applicant["id_number"]
            if subject not in tokens:
                async with client.post(
                    "/v1/sandbox/tokens", json={"subject": subject, "role": "citizen"}
                ) as r:
                    r.raise_for_status()
                    tokens[subject] = (await r.json())["access_token"]
        latencies: list[float] = []
        errors = 0

        async def one(i: int, due: float) -> None:
            nonlocal errors
            applicant = applicants[i % len(applicants)]
            headers = {
                "Authorization": f"Bearer {tokens[applicant['id_number']]}",
                "Idempotency-Key": str(uuid.uuid4()),
            }
            try:
                async with client.post(
                    "/v1/applications",
                    json={"item": applicant["item"], "form": applicant["form"]},
                    headers=headers,
                ) as r:
                    await r.read()
                    ok = r.status == 201
            except (aiohttp.ClientError, TimeoutError):
                ok = False
            # Counted from when the request was due, not sent: no coordinated omission.
            latencies.append(time.perf_counter() - due)
            errors += not ok

        total = int(rate_per_s * seconds)
        cpu = time.process_time()
        start = time.perf_counter() + 0.05
        tasks = []
        for i in range(total):
            due = start + i / rate_per_s
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i, due)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
        cpu = time.process_time() - cpu
    latencies.sort()
    return {
        "sent": total,
        "errors": errors,
        "seconds": elapsed,
        "p50": latencies[len(latencies) // 2],
        "p99": latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
        "client_cpu_ms": cpu / max(1, total) * 1000,
    }


def main(argv: list[str]) -> None:
    base, rate_per_s, seconds = argv[0], float(argv[1]), float(argv[2])
    applicants = json.load(sys.stdin)
    # On uvloop where it is installed (uvicorn[standard] brings it on Linux): at 400/s
    # the generator's CPU fell from 0.40-0.42 to 0.32-0.35 ms a request, CPU the
    # service shares.
    try:
        import uvloop
    except ImportError:
        run = asyncio.run
    else:
        run = uvloop.run
    print(json.dumps(run(generate(base, rate_per_s, seconds, applicants))))


if __name__ == "__main__":
    main(sys.argv[1:])
