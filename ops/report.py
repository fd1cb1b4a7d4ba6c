"""`python -m ops report --from 2025-11-01 --to 2025-11-30`: KPIs in the terminal and as HTML.

Reads the conversation records of the range (the stage's DynamoDB table by day, or exported
Parquet files with `--parquet`), computes the KPIs of chalicelib.conversations.kpis (the same
definitions the dashboard uses) and writes a self-contained HTML report: matplotlib charts
rendered to inline SVG (hourly volume and abandonment, wait-time distribution, hour x weekday
heatmap), no JavaScript, no CDN, nothing fetched when it is opened.
"""

from __future__ import annotations

import html
import io
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from chalicelib.conversations.kpis import compute
from chalicelib.softphone.wrap_up import tally_codes

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class Period:
    first: date
    last: date

    def days(self) -> list[str]:
        count = (self.last - self.first).days + 1
        return [(self.first + timedelta(days=i)).isoformat() for i in range(count)]

    def __str__(self) -> str:
        return f"{self.first.isoformat()} .. {self.last.isoformat()}"


def records_from_table(table: Any, period: Period) -> Iterator[dict[str, Any]]:
    from chalicelib.conversations.store import ConversationTable

    conversations = ConversationTable(table)
    for day in period.days():
        yield from conversations.day(day)


def records_from_parquet(path: str, period: Period) -> list[dict[str, Any]]:
    """Exported files (a directory of day=YYYY-MM-DD partitions, or a glob) via DuckDB."""
    import duckdb

    source = path if any(ch in path for ch in "*?") else f"{path.rstrip('/')}/**/*.parquet"
    query = "SELECT * FROM read_parquet(?, hive_partitioning = true) WHERE day BETWEEN ? AND ?"
    with duckdb.connect() as db:
        cursor = db.execute(query, [source, period.first.isoformat(), period.last.isoformat()])
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


# --- terminal -------------------------------------------------------------------------------
def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _secs(ms: float | None) -> str:
    return "-" if ms is None else f"{ms / 1000:.1f} s"


def kpi_rows(totals: Mapping[str, Any], threshold_s: int) -> list[tuple[str, str]]:
    return [
        ("Offered", str(totals["offered"])),
        ("Answered", str(totals["answered"])),
        ("Abandoned", str(totals["abandoned"])),
        ("Abandonment rate", _pct(totals["abandonment_rate"])),
        ("Short abandons (not offered)", str(totals["short_abandons"])),
        ("Reach rate", _pct(totals["reach_rate"])),
        (f"Service level ({threshold_s} s)", _pct(totals["service_level"])),
        ("Average speed of answer", _secs(totals["asa_ms"])),
        ("90th percentile speed of answer", _secs(totals["asa_p90_ms"])),
        ("Average handle time", _secs(totals["aht_ms"])),
        ("Longest wait", _secs(totals["longest_wait_ms"])),
        ("Owner-reach rate", _pct(totals["owner_reach_rate"])),
        ("Outbound calls (answered)", f"{totals['outbound']} ({totals['outbound_answered']})"),
    ]


def terminal_table(kpis: Mapping[str, Any], period: Period, conversations: int) -> str:
    threshold_s = kpis["service_level_threshold_ms"] // 1000
    rows = kpi_rows(kpis["totals"], threshold_s)
    width = max(len(name) for name, _ in rows)
    lines = [f"Conversations {period} ({conversations} records)", ""]
    lines += [f"  {name.ljust(width)}  {value:>12}" for name, value in rows]
    if kpis["by_team"]:
        lines += [
            "",
            f"  {'Team'.ljust(14)} {'offered':>8} {'answered':>9} {'abandon':>8} {'SL':>7}",
        ]
        for team, t in kpis["by_team"].items():
            lines.append(
                f"  {team[:14].ljust(14)} {t['offered']:>8} {t['answered']:>9} "
                f"{_pct(t['abandonment_rate']):>8} {_pct(t['service_level']):>7}"
            )
    outbound = kpis.get("outbound") or {}
    if outbound.get("by_agent"):
        lines += ["", *outbound_lines(outbound)]
    missed = sorted(kpis["missed_offers"].items(), key=lambda kv: -kv[1])[:10]
    if missed and missed[0][1]:
        lines += ["", "  Most missed offers: " + ", ".join(f"{a} {n}" for a, n in missed if n)]
    return "\n".join(lines)


OUTBOUND_HEADERS = ("attempts", "connected", "connect rate", "talk time")


def _outbound_cells(o: Mapping[str, Any]) -> tuple[str, ...]:
    return (str(o["attempts"]), str(o["connected"]), _pct(o["connect_rate"]), _secs(o["talk_ms"]))


def outbound_lines(outbound: Mapping[str, Any]) -> list[str]:
    """Outbound calls per team and rep (docs/kpis.md, "Outbound")."""
    head = "".join(f"{h:>13}" for h in OUTBOUND_HEADERS)
    lines = [f"  {'Outbound'.ljust(14)}{head}"]
    groups = (("team", outbound.get("by_team", {})), ("rep", outbound.get("by_agent", {})))
    for kind, rows in groups:
        for name, o in rows.items():
            cells = "".join(f"{c:>13}" for c in _outbound_cells(o))
            lines.append(f"  {(kind + ' ' + name)[:14].ljust(14)}{cells}")
    return lines


# --- HTML -----------------------------------------------------------------------------------
def _svg(figure: Any) -> str:
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    # No creator or date in the metadata: the same KPIs always give the same file.
    figure.savefig(
        buffer, format="svg", bbox_inches="tight", metadata={"Creator": None, "Date": None}
    )
    plt.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def charts(kpis: Mapping[str, Any]) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out: dict[str, str] = {}
    hours = [h["hour"] for h in kpis["by_hour"]]
    figure, volume = plt.subplots(figsize=(9, 3.2))
    volume.bar(hours, [h["offered"] for h in kpis["by_hour"]], color="#4c78a8", label="offered")
    volume.bar(hours, [h["abandoned"] for h in kpis["by_hour"]], color="#e45756", label="abandoned")
    volume.set_xlabel("hour of day")
    volume.set_ylabel("calls")
    volume.set_xticks(hours)
    rate = volume.twinx()
    rate.plot(
        hours,
        [(h["abandonment_rate"] or 0) * 100 for h in kpis["by_hour"]],
        color="#f58518",
        marker="o",
        label="abandonment %",
    )
    rate.set_ylabel("abandonment %")
    rate.set_ylim(bottom=0)
    handles = volume.get_legend_handles_labels()[0] + rate.get_legend_handles_labels()[0]
    volume.legend(handles=handles, loc="upper left", frameon=False)
    volume.set_title("Hourly volume and abandonment")
    out["hourly"] = _svg(figure)

    figure, waits = plt.subplots(figsize=(7, 3))
    buckets = kpis["wait_distribution"]
    labels = [f"≤{b['up_to_s']}s" if b["up_to_s"] else "longer" for b in buckets]
    waits.bar(labels, [b["count"] for b in buckets], color="#54a24b")
    waits.set_ylabel("offered calls")
    waits.set_title("Queue wait distribution")
    out["waits"] = _svg(figure)

    figure, heat = plt.subplots(figsize=(9, 3.2))
    image = heat.imshow(kpis["heatmap"], aspect="auto", cmap="Blues")
    heat.set_yticks(range(7), labels=WEEKDAYS)
    heat.set_xticks(range(24))
    heat.set_xlabel("hour of day")
    heat.set_title("Offered calls by weekday and hour")
    figure.colorbar(image, ax=heat, label="calls")
    out["heatmap"] = _svg(figure)
    return out


def _table(headers: Iterable[str], rows: Iterable[Iterable[Any]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def html_report(kpis: Mapping[str, Any], period: Period, conversations: int) -> str:
    threshold_s = kpis["service_level_threshold_ms"] // 1000
    svg = charts(kpis)
    teams = _table(
        ("team", "offered", "answered", "abandonment", "service level", "ASA", "owner reach"),
        (
            (
                name,
                t["offered"],
                t["answered"],
                _pct(t["abandonment_rate"]),
                _pct(t["service_level"]),
                _secs(t["asa_ms"]),
                _pct(t["owner_reach_rate"]),
            )
            for name, t in kpis["by_team"].items()
        ),
    )
    agents = _table(
        ("agent", "offers", "answered", "missed offers", "AHT", "talk"),
        (
            (
                name,
                a["offers"],
                a["answered"],
                a["missed_offers"],
                _secs(a["aht_ms"]),
                _secs(a["talk_ms"]),
            )
            for name, a in sorted(kpis["by_agent"].items(), key=lambda kv: -kv[1]["answered"])
        ),
    )
    top_customers = sorted(kpis["by_customer"].items(), key=lambda kv: -kv[1]["total_ms"])[:50]
    customers = _table(
        ("customer", "conversations", "time on calls", "cost (USD)"),
        (
            (cid, c["conversations"], _secs(c["total_ms"]), f"{c['cost_micros'] / 1e6:.4f}")
            for cid, c in top_customers
        ),
    )
    outbound = kpis.get("outbound") or {}
    outbound_teams = _table(
        ("team", *OUTBOUND_HEADERS),
        ((name, *_outbound_cells(o)) for name, o in outbound.get("by_team", {}).items()),
    )
    outbound_reps = _table(
        ("rep", *OUTBOUND_HEADERS),
        ((name, *_outbound_cells(o)) for name, o in outbound.get("by_agent", {}).items()),
    )
    summary = _table(("KPI", "value"), kpi_rows(kpis["totals"], threshold_s))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Contact center report {html.escape(str(period))}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #222; }}
table {{ border-collapse: collapse; margin: 0.5rem 0 1.5rem; }}
td, th {{ border-bottom: 1px solid #ddd; padding: 0.25rem 0.75rem; text-align: right; }}
td:first-child, th:first-child {{ text-align: left; }}
section {{ margin-bottom: 2rem; }} svg {{ max-width: 100%; height: auto; }}
</style></head><body>
<h1>Contact center report</h1>
<p>{html.escape(str(period))}: {conversations} conversations. Definitions: docs/kpis.md.</p>
<section><h2>KPIs</h2>{summary}</section>
<section><h2>Hourly volume and abandonment</h2>{svg["hourly"]}</section>
<section><h2>Queue wait distribution</h2>{svg["waits"]}</section>
<section><h2>Weekday x hour</h2>{svg["heatmap"]}</section>
<section><h2>By team</h2>{teams}</section>
<section><h2>By agent</h2>{agents}</section>
<section><h2>Outbound by team</h2>{outbound_teams}</section>
<section><h2>Outbound by rep</h2>{outbound_reps}</section>
<section><h2>By customer (top 50 by time)</h2>{customers}</section>
</body></html>
"""


def build(
    records: Iterable[Mapping[str, Any]], period: Period, service_level_ms: int
) -> tuple[str, str, dict[str, Any]]:
    """(terminal table, HTML, KPIs) for the records."""
    rows = list(records)
    kpis = compute(rows, service_level_ms)
    codes = tally_codes(rows)
    return (
        terminal_table(kpis, period, len(rows)) + wrap_up_text(codes),
        # Its own section, last, so the KPI sections above stay as they are.
        html_report(kpis, period, len(rows)).replace("</body>", wrap_up_html(codes) + "</body>"),
        {**kpis, "wrap_up_codes": codes},
    )


def write_report(html_text: str, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html_text, encoding="utf-8")
    return out


# --- wrap-up codes (chalicelib/softphone/wrap_up.py) ----------------------------------------
def _code_rows(counts: Mapping[str, int]) -> list[tuple[str, int, str]]:
    total = sum(counts.values())
    return [(code, n, _pct(n / total if total else None)) for code, n in counts.items()]


def wrap_up_text(codes: Mapping[str, Any]) -> str:
    if not codes["total"]:
        return ""
    lines = ["", "  Wrap-up codes (calls taken)"]
    lines += [f"    {code:<12} {n:>8} {share:>7}" for code, n, share in _code_rows(codes["total"])]
    for team, counts in codes["by_team"].items():
        lines.append(f"    {team[:14]}: " + ", ".join(f"{c} {n}" for c, n in counts.items()))
    return "\n".join(lines)


def wrap_up_html(codes: Mapping[str, Any]) -> str:
    names = list(codes["total"])
    overall = _table(("code", "calls", "share"), _code_rows(codes["total"]))
    teams = _table(
        ("team", *names),
        (
            (team, *(counts.get(code, 0) for code in names))
            for team, counts in codes["by_team"].items()
        ),
    )
    return f"<section><h2>Wrap-up codes</h2>{overall}{teams}</section>\n"
