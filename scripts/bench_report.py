#!/usr/bin/env python3
"""Summarise scripts/bench.sh results: tables on stdout (S1-S5; S6 and S7,
whose figures differ, in a second one), summary.csv and chart.svg
(coffeeweb against its peers per scenario) next to the input. The
binary's variants (coffeeweb-bytes13, -quiet, -combined, -httpbin) get
rows of their own in the tables, with the same figures; the chart draws
only coffeeweb and its peers.

usage: bench_report.py RESULTS.csv OUT_DIR
"""
import csv
import statistics
import sys
from collections import defaultdict

SCENARIOS = {
    "S1": "keep-alive, -c100",
    "S2": "pipelined x16, -c100",
    "S3": "new connection per request, -c50",
    "S4": "1 MiB file, -c10",
    "S5": "10k idle connections",
    "S6": "5,000 conns, answer after 100 ms",
    "S7": "SSE subscribers, 1 event/s",
}

# S6: 5,000 connections, each request answered 100 ms after it arrived.
S6_BOUND = 5000 / 0.1

# Lower is better for these; the "vs" ratio is still ours / the peer's.
LOWER_IS_BETTER = {"S5": "idle_bytes_per_connection", "S7": "p99_us"}
LATE = ("S6", "S7")


SHORT = {
    "S1": "keep-alive",
    "S2": "pipelined x16",
    "S3": "connection/request",
    "S4": "1 MiB file",
    "S5": "idle connections",
    "S6": "100 ms timer",
    "S7": "SSE delivery",
}

COLORS = {"coffeeweb": "#c47a2c", "nginx": "#3d7ea6", "node": "#5f9e4f"}


def peer(scenario):
    return "node" if scenario == "S7" else "nginx"


def total(rows, key):
    values = [int(r[key]) for r in rows if r.get(key)]
    return sum(values) if values else None


def median(rows, key):
    values = [float(r[key]) for r in rows if r.get(key)]
    return statistics.median(values) if values else None


def fmt(value, unit="", digits=0):
    if value is None:
        return "-"
    return f"{value:,.{digits}f}{unit}"


def summarise(rows):
    groups = defaultdict(list)
    for row in rows:
        groups[(row["scenario"], row["server"])].append(row)
    summary = []
    for (scenario, server), group in sorted(groups.items()):
        summary.append({
            "scenario": scenario,
            "server": server,
            "rounds": len(group),
            "rps": median(group, "rps"),
            "mib_per_sec": (median(group, "bytes_per_sec") or 0) / 2**20 or None,
            # wrk cannot time pipelined requests (it reports 0 for most).
            "p50_us": None if scenario == "S2" else median(group, "p50_us"),
            "p99_us": None if scenario == "S2" else median(group, "p99_us"),
            "cpu_us_per_request": median(group, "cpu_us_per_request"),
            # Absent from results written before the column was added.
            "sys_us_per_request": median(group, "sys_us_per_request"),
            "peak_rss_kib": max((int(r["peak_rss_kib"]) for r in group if r["peak_rss_kib"]), default=None),
            "idle_bytes_per_connection": median(group, "idle_bytes_per_connection"),
            "rss_after_close_kib": median(group, "rss_after_close_kib"),
            "rss_before_kib": median(group, "rss_before_kib"),
            "of_bound": (median(group, "rps") or 0) / S6_BOUND if scenario == "S6" else None,
            "timeouts": total(group, "timeouts"),
            "errors": total(group, "errors"),
            "subscribers": median(group, "subscribers"),
            "events_expected": total(group, "events_expected"),
            "events_delivered": total(group, "events_delivered"),
            "max_us": median(group, "max_us"),
            "bytes_per_subscriber": median(group, "bytes_per_subscriber"),
            "client_lag_ms": median(group, "client_lag_ms"),
            # The share of one core the server used: CPU per request times
            # requests per second (S6 only: S7's rate is fixed by the ticker).
            "server_busy": (median(group, "cpu_us_per_request") or 0) * (median(group, "rps") or 0) / 1e6
            if scenario == "S6" else None,
            "load_average": max((float(r["load_average"]) for r in group if r.get("load_average")), default=None),
        })
    by_key = {(s["scenario"], s["server"]): s for s in summary}
    for s in summary:
        other = by_key.get((s["scenario"], peer(s["scenario"])))
        metric = LOWER_IS_BETTER.get(s["scenario"], "rps")
        if other and other[metric] and s[metric]:
            s["vs_peer"] = s[metric] / other[metric]
        else:
            s["vs_peer"] = None
    return summary


def render(header, lines):
    lines = [header] + lines
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for n, line in enumerate(lines):
        out.append("| " + " | ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)) + " |")
        if n == 0:
            out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(out)


def mib(kib):
    return fmt(kib / 1024, " MiB", 1) if kib else "-"


def late_table(summary):
    """S6 and S7: requests against the bound, or events delivered."""
    header = ["scenario", "server", "req/s", "of bound", "delivered", "p50", "p99", "timeouts",
              "CPU/req", "server busy", "peak RSS", "RSS/subscriber", "load", "vs peer"]
    lines = []
    for s in summary:
        if s["scenario"] not in LATE:
            continue
        sse = s["scenario"] == "S7"
        delivered = f'{s["events_delivered"]:,} / {s["events_expected"]:,}' if sse and s["events_expected"] else "-"
        lines.append([
            f'{s["scenario"]} {fmt(s["subscribers"]) + " " if sse else ""}{SCENARIOS[s["scenario"]]}',
            s["server"],
            "-" if sse else fmt(s["rps"]),
            "-" if sse else fmt((s["of_bound"] or 0) * 100, "%"),
            delivered,
            fmt((s["p50_us"] or 0) / 1000, " ms", 1) if s["p50_us"] is not None else "-",
            fmt((s["p99_us"] or 0) / 1000, " ms", 1) if s["p99_us"] is not None else "-",
            fmt(s["errors"]) + " dropped" if sse else fmt(s["timeouts"]),
            fmt(s["cpu_us_per_request"], " us", 2),
            fmt(s["server_busy"] * 100 if s["server_busy"] is not None else None, "%"),
            mib(s["peak_rss_kib"]),
            fmt(s["bytes_per_subscriber"], " B") if sse else "-",
            fmt(s["load_average"], digits=1),
            fmt(s["vs_peer"], "x", 2),
        ])
    return render(header, lines) if lines else ""


def table(summary):
    header = ["scenario", "server", "req/s", "MiB/s", "p50", "p99", "CPU/req", "of it kernel", "peak RSS", "idle/conn",
              "vs nginx"]
    lines = []
    for s in summary:
        if s["scenario"] in LATE:
            continue
        lines.append([
            f'{s["scenario"]} {SCENARIOS.get(s["scenario"], "")}',
            s["server"],
            fmt(s["rps"]),
            fmt(s["mib_per_sec"], digits=0) if s["scenario"] == "S4" else "-",
            fmt(s["p50_us"], " us"),
            fmt(s["p99_us"], " us"),
            fmt(s["cpu_us_per_request"], " us", 2),
            fmt(s["sys_us_per_request"], " us", 2),
            fmt((s["peak_rss_kib"] or 0) / 1024, " MiB", 1) if s["peak_rss_kib"] else "-",
            fmt(s["idle_bytes_per_connection"], " B"),
            fmt(s["vs_peer"], "x", 2),
        ])
    return render(header, lines) if lines else ""


def panel_metric(scenario):
    """What a scenario's panel draws: (summary key, unit line, scale)."""
    return {
        "S4": ("mib_per_sec", "MiB/s", 1),
        "S5": ("idle_bytes_per_connection", "B/conn (lower is better)", 1),
        "S6": ("rps", "req/s (bound 50k)", 1),
        "S7": ("p99_us", "p99 ms (lower is better)", 1e-3),
    }.get(scenario, ("rps", "req/s", 1))


def chart(summary):
    """Small multiples: one panel per scenario, a bar per server, own scale."""
    panels = [s for s in summary if s["server"] == "coffeeweb"]
    width, panel_w, height = 180 * max(len(panels), 1) + 40, 180, 300
    by_key = {(s["scenario"], s["server"]): s for s in summary}
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="system-ui, sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="#fffdf9"/>',
        '<text x="20" y="24" font-size="15" font-weight="600">coffeeweb vs nginx (and Node.js), one core each</text>',
    ]
    for i, panel in enumerate(panels):
        scenario = panel["scenario"]
        metric, unit, scale = panel_metric(scenario)
        servers = [srv for srv in COLORS if (scenario, srv) in by_key]
        values = {srv: (by_key[(scenario, srv)].get(metric) or 0) * scale for srv in servers}
        top = max(values.values()) or 1
        bar_w, step = (55, 70) if len(servers) <= 2 else (40, 50)
        x0 = 30 + i * panel_w
        parts.append(f'<text x="{x0}" y="52" font-weight="600">{scenario}</text>')
        parts.append(f'<text x="{x0}" y="68" fill="#666">{SHORT.get(scenario, "")}</text>')
        for j, (server, value) in enumerate(values.items()):
            bar_h = 170 * value / top
            x = x0 + 10 + j * step
            y = 260 - bar_h
            mid = x + bar_w // 2
            parts.append(f'<rect x="{x}" y="{y:.1f}" width="{bar_w}" height="{bar_h:.1f}" fill="{COLORS[server]}"/>')
            label = f"{value / 1000:.0f}k" if metric == "rps" and value >= 10000 else f"{value:,.0f}"
            parts.append(f'<text x="{mid}" y="{y - 4:.1f}" text-anchor="middle">{label}</text>')
            parts.append(f'<text x="{mid}" y="276" text-anchor="middle" fill="#444">{server}</text>')
        parts.append(f'<text x="{x0}" y="292" fill="#888" font-size="10">{unit}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def main():
    results, out_dir = sys.argv[1], sys.argv[2]
    with open(results) as f:
        rows = list(csv.DictReader(f))
    summary = summarise(rows)
    print("\n\n".join(t for t in (table(summary), late_table(summary)) if t))
    fields = list(summary[0].keys()) if summary else []
    with open(f"{out_dir}/summary.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(summary)
    with open(f"{out_dir}/chart.svg", "w") as f:
        f.write(chart(summary))
    print(f"\nwrote {out_dir}/summary.csv and {out_dir}/chart.svg", file=sys.stderr)


if __name__ == "__main__":
    main()
