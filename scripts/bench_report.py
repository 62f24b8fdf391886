#!/usr/bin/env python3
"""Summarise scripts/bench.sh results: one table on stdout, summary.csv and
chart.svg (coffeeweb against nginx per scenario) next to the input.

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
}


SHORT = {
    "S1": "keep-alive",
    "S2": "pipelined x16",
    "S3": "connection/request",
    "S4": "1 MiB file",
    "S5": "idle connections",
}


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
            "peak_rss_kib": max((int(r["peak_rss_kib"]) for r in group if r["peak_rss_kib"]), default=None),
            "idle_bytes_per_connection": median(group, "idle_bytes_per_connection"),
            "rss_after_close_kib": median(group, "rss_after_close_kib"),
            "rss_before_kib": median(group, "rss_before_kib"),
        })
    by_key = {(s["scenario"], s["server"]): s for s in summary}
    for s in summary:
        nginx = by_key.get((s["scenario"], "nginx"))
        metric = "idle_bytes_per_connection" if s["scenario"] == "S5" else "rps"
        if nginx and nginx[metric] and s[metric]:
            s["vs_nginx"] = s[metric] / nginx[metric]
        else:
            s["vs_nginx"] = None
    return summary


def table(summary):
    header = ["scenario", "server", "req/s", "MiB/s", "p50", "p99", "CPU/req", "peak RSS", "idle/conn", "vs nginx"]
    lines = [header]
    for s in summary:
        lines.append([
            f'{s["scenario"]} {SCENARIOS.get(s["scenario"], "")}',
            s["server"],
            fmt(s["rps"]),
            fmt(s["mib_per_sec"], digits=0) if s["scenario"] == "S4" else "-",
            fmt(s["p50_us"], " us"),
            fmt(s["p99_us"], " us"),
            fmt(s["cpu_us_per_request"], " us", 2),
            fmt((s["peak_rss_kib"] or 0) / 1024, " MiB", 1) if s["peak_rss_kib"] else "-",
            fmt(s["idle_bytes_per_connection"], " B"),
            fmt(s["vs_nginx"], "x", 2),
        ])
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for n, line in enumerate(lines):
        out.append("| " + " | ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)) + " |")
        if n == 0:
            out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(out)


def chart(summary):
    """Small multiples: one panel per scenario, two bars, own scale."""
    panels = [s for s in summary if s["server"] == "coffeeweb"]
    width, panel_w, height = 180 * max(len(panels), 1) + 40, 180, 300
    colors = {"coffeeweb": "#c47a2c", "nginx": "#3d7ea6"}
    by_key = {(s["scenario"], s["server"]): s for s in summary}
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="system-ui, sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="#fffdf9"/>',
        '<text x="20" y="24" font-size="15" font-weight="600">coffeeweb vs nginx, one core each</text>',
    ]
    for i, panel in enumerate(panels):
        scenario = panel["scenario"]
        metric, unit = ("idle_bytes_per_connection", "B/conn (lower is better)") if scenario == "S5" \
            else ("mib_per_sec", "MiB/s") if scenario == "S4" else ("rps", "req/s")
        values = {srv: (by_key.get((scenario, srv)) or {}).get(metric) or 0 for srv in ("coffeeweb", "nginx")}
        top = max(values.values()) or 1
        x0 = 30 + i * panel_w
        parts.append(f'<text x="{x0}" y="52" font-weight="600">{scenario}</text>')
        parts.append(f'<text x="{x0}" y="68" fill="#666">{SHORT.get(scenario, "")}</text>')
        for j, (server, value) in enumerate(values.items()):
            bar_h = 170 * value / top
            x = x0 + 10 + j * 70
            y = 260 - bar_h
            parts.append(f'<rect x="{x}" y="{y:.1f}" width="55" height="{bar_h:.1f}" fill="{colors[server]}"/>')
            label = f"{value / 1000:.0f}k" if metric == "rps" and value >= 10000 else f"{value:,.0f}"
            parts.append(f'<text x="{x + 27}" y="{y - 4:.1f}" text-anchor="middle">{label}</text>')
            parts.append(f'<text x="{x + 27}" y="276" text-anchor="middle" fill="#444">{server}</text>')
        parts.append(f'<text x="{x0}" y="292" fill="#888" font-size="10">{unit}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def main():
    results, out_dir = sys.argv[1], sys.argv[2]
    with open(results) as f:
        rows = list(csv.DictReader(f))
    summary = summarise(rows)
    print(table(summary))
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
