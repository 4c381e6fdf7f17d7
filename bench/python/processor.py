"""The seed design, timed for comparison: an asyncio stream processor as
typical Python LLM gateways write it. The body arrives through an
asyncio.StreamReader in 16 KiB chunks; every line is read and decoded, and
every SSE data line is parsed with json.loads; usage is taken from the
events that carry it.

    python3 bench/python/processor.py --manifest DIR/manifest.json [--budget-ms 1500] [--rounds 5]

Prints one JSON object on stdout. Timing: rounds of whole streams within
the budget, the median round per event, as the Go and V8 runners do.
"""

import argparse
import asyncio
import json
import os
import platform
import statistics
import time


async def process(chunks):
    """Meters one stream; returns (events, usage seen last)."""
    reader = asyncio.StreamReader(limit=1 << 20)
    for c in chunks:  # the transport has delivered the body
        reader.feed_data(c)
    reader.feed_eof()
    events, usage = 0, None
    while True:
        raw = await reader.readline()
        if not raw:
            break
        line = raw.decode("utf-8").rstrip("\r\n")
        if not line.startswith("data:"):
            continue
        payload = line[5:].lstrip(" ")
        if payload == "[DONE]":
            events += 1
            continue
        event = json.loads(payload)
        events += 1
        u = event.get("usage") or event.get("usageMetadata")
        if u is None and isinstance(event.get("message"), dict):
            u = event["message"].get("usage")
        if u:
            usage = u
    return events, usage


async def measure(body, chunk, budget_s, rounds):
    chunks = [body[i:i + chunk] for i in range(0, len(body), chunk)]
    events, usage = await process(chunks)
    if not usage:
        raise SystemExit("no usage found")
    for _ in range(20):
        await process(chunks)
    per_stream = []
    for _ in range(rounds):
        n, start = 0, time.perf_counter()
        while n < 3 or time.perf_counter() - start < budget_s / rounds:
            await process(chunks)
            n += 1
        per_stream.append((time.perf_counter() - start) / n)
    return events, len(chunks), per_stream


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--budget-ms", type=float, default=1500)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--chunk", type=int, default=16384)
    args = ap.parse_args()
    with open(args.manifest) as f:
        manifest = json.load(f)
    results = []
    for s in manifest["streams"]:
        with open(os.path.join(os.path.dirname(args.manifest), s["file"]), "rb") as f:
            body = f.read()
        events, callbacks, per_stream = asyncio.run(
            measure(body, args.chunk, args.budget_ms / 1e3, args.rounds))
        sec = statistics.median_high(per_stream)
        results.append({
            "stream": s["name"], "chunking": f"{args.chunk >> 10}KiB",
            "callbacks": callbacks, "events": events, "bytes": len(body),
            "us_per_callback": sec / callbacks * 1e6,
            "us_per_event": sec / events * 1e6,
            "mb_per_s": len(body) / sec / 1e6,
            "rounds_us_per_event": [x / events * 1e6 for x in per_stream],
        })
    print(json.dumps({"python": platform.python_version(), "results": results}))


if __name__ == "__main__":
    main()
