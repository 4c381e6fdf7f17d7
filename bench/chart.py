"""Draws BENCHMARKS.md's chart from a tmbench results file.

    python bench/chart.py RESULTS.json OUT.png

Left: µs per event for each stream, native Go, V8 and Python in 16 KiB
chunks, V8 one event per callback, and V8 parsing every event (when the
run measured it). When the run measured Envoy, middle: Envoy's CPU
seconds per GB streamed for each filter variant; right: the throughput of
the no-op wasm filter and of tokenmeter as a share of plain Envoy's, with
the OpenAI stream and with the long stream, against the 90% goal. Every
bar is labelled with its value.
"""

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def per_event(runs, chunking):
    return {r["stream"]: r["us_per_event"] for r in runs if r["chunking"] == chunking}


def bars(ax, groups, series, unit):
    width = 0.8 / len(series)
    for i, (label, values) in enumerate(series):
        xs = [g + (i - (len(series) - 1) / 2) * width for g in range(len(groups))]
        ys = [values.get(g, 0) for g in groups]
        drawn = ax.bar(xs, ys, width, label=label)
        ax.bar_label(drawn, labels=[f"{y:.2f}" for y in ys], fontsize=7, padding=2)
    ax.set_xticks(range(len(groups)), groups)
    ax.set_ylabel(unit)


def main():
    res = json.load(open(sys.argv[1]))
    streams = [s["name"] for s in res["streams"]]
    envoy = res.get("envoy")
    fig, axes = plt.subplots(1, 3 if envoy else 1, figsize=(17 if envoy else 7, 4.5), squeeze=False,
                             gridspec_kw={"width_ratios": [7, 5, 4] if envoy else [1]})
    ax = axes[0][0]
    bars(ax, streams, [
        ("native Go, 16 KiB", per_event(res["native"], "16KiB")),
        ("V8, 16 KiB", per_event(res["v8"]["results"], "16KiB")),
        ("V8, 1 event/callback", per_event(res["v8"]["results"], "event")),
    ] + ([
        ("V8, 16 KiB, every event parsed", per_event(res["v8_every_event"]["results"], "16KiB")),
    ] if res.get("v8_every_event") else []) + [
        ("Python asyncio, 16 KiB", per_event(res["python"]["results"], "16KiB")),
    ], "µs per event (lower is better)")
    ax.set_title("Metering cost per event")
    ax.legend(fontsize=8)
    if envoy:
        ax = axes[0][1]
        names = [r["variant"] for r in envoy["runs"]]
        cpu = {r["variant"]: r["cpu_s_per_gb"] for r in envoy["runs"]}
        # Baselines grey, tokenmeter blue, the native filter orange.
        colors = ["#1f77b4" if n.startswith("tokenmeter") else "#ff7f0e" if n == "sse_to_metadata" else "#888888" for n in names]
        drawn = ax.barh(names, [cpu[n] for n in names], color=colors)
        ax.bar_label(drawn, labels=[f"{cpu[n]:.2f}" for n in names], fontsize=8, padding=2)
        ax.invert_yaxis()
        ax.set_xlabel("Envoy CPU seconds per GB streamed")
        ax.set_title("Envoy under load (lower is better)")
        ax = axes[0][2]
        workloads = {}
        for key, runs in (("runs", envoy["runs"]), ("long_runs", envoy.get("long_runs") or [])):
            rate = {r["variant"]: r["mb_per_s"] for r in runs}
            if "plain" in rate:
                size = runs[0]["stream_bytes"]
                name = f"{size / 1e6:.1f} MB streams" if size >= 1e6 else f"{size / 1e3:.0f} KB calls"
                workloads[name] = {v: 100 * rate[v] / rate["plain"] for v in ("wasm_noop", "tokenmeter") if v in rate}
        groups = list(workloads)
        width, top = 0.38, 100
        for i, (v, color) in enumerate((("wasm_noop", "#888888"), ("tokenmeter", "#1f77b4"))):
            ys = [workloads[g].get(v, 0) for g in groups]
            drawn = ax.bar([x + (i - 0.5) * width for x in range(len(groups))], ys, width, label=v, color=color)
            ax.bar_label(drawn, labels=[f"{y:.0f}%" for y in ys], fontsize=8, padding=2)
            top = max(top, *ys)
        ax.set_xticks(range(len(groups)), groups)
        ax.set_ylabel("% of plain Envoy's throughput")
        ax.axhline(90, color="#444444", linestyle="--", linewidth=1)
        ax.set_ylim(0, top + 15)
        ax.set_title("Throughput vs plain Envoy (goal: 90%)")
        ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=110)


if __name__ == "__main__":
    main()
