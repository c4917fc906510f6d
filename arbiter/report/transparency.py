"""The transparency report: one self-contained HTML page and a CSV file per table.

The page loads nothing: its style, its charts (inline SVG) and its numbers are all inside
it, and a Content-Security-Policy forbids scripts and fetches, so it can be archived,
mailed and opened offline. Every label comes from user data and is escaped.
"""

from __future__ import annotations

import csv
import html
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from arbiter.report import charts
from arbiter.report.figures import Counts, Durations, TransparencyFigures

Cell = str | int | float | None
Kind = Literal["label", "int", "share", "seconds", "text"]


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a report table: its CSV name, its heading on the page, how to show it."""

    name: str
    heading: str
    kind: Kind
    shown: tuple[tuple[str, str], ...] = ()  # CSV value -> text on the page, where they differ


@dataclass(frozen=True, slots=True)
class Table:
    """A table of the report, written to `<name>.csv` and shown beside its chart."""

    name: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]


COUNTS: tuple[tuple[str, str, str], ...] = (
    # (field of TransparencyFigures, heading, what is counted)
    ("by_policy", "By policy", "Every decision of the period, by the policy version that made it."),
    (
        "by_rule",
        "By rule",
        "Decisions that acted on a post (any action but allow), by the rule that decided.",
    ),
    ("by_action", "By action", "Every decision, by the action taken."),
    (
        "by_language",
        "By language",
        "Every decision, by the language of the post (“und” when it is not known).",
    ),
    ("by_country", "By country", "Every decision, by the country of the post’s author."),
    (
        "by_automation",
        "Automated or human",
        "Whether the engine decided on its own or a moderator made or confirmed the decision.",
    ),
    (
        "by_signal",
        "By signal",
        "Where the designated content was found: text, hashtag, text inside an image (OCR),"
        " an image or a video matched against reference media.",
    ),
    (
        "by_source",
        "Own terms or authority order",
        "Whether a decision enforced the platform’s own terms or an order from an authority.",
    ),
)

_KEY_HEADING = {
    "by_policy": "Policy",
    "by_rule": "Rule",
    "by_action": "Action",
    "by_language": "Language",
    "by_country": "Country",
    "by_automation": "Decided by",
    "by_signal": "Signal",
    "by_source": "Ground",
}

DURATIONS = (
    ("post_to_decision", "post → decision"),
    ("appeal_to_outcome", "appeal → outcome"),
)


def tables(figures: TransparencyFigures) -> dict[str, Table]:
    """Every table of the report by name, as both the page and the CSV files show it."""
    result: dict[str, Table] = {}
    summary = Table(
        "summary",
        (Column("key", "Figure", "label"), Column("value", "Value", "text")),
        tuple((key, getattr(figures, key)) for key in _SUMMARY),
    )
    result[summary.name] = summary
    for key, _, _ in COUNTS:
        counts: Counts = getattr(figures, key)
        ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        result[f"decisions_{key}"] = Table(
            f"decisions_{key}",
            (Column("key", _KEY_HEADING[key], "label"), Column("count", "Decisions", "int")),
            tuple(ordered),
        )
    result["precision"] = Table(
        "precision",
        (
            Column("policy", "Policy", "label"),
            Column("rule", "Rule", "label"),
            Column("confirmed", "Confirmed", "int"),
            Column("reviewed", "Reviewed", "int"),
            Column("precision", "Precision", "share"),
            Column("ci_low", "95% CI from", "share"),
            Column("ci_high", "to", "share"),
        ),
        tuple(
            (
                p.policy,
                p.rule,
                p.confirmed.successes,
                p.confirmed.trials,
                p.confirmed.value,
                p.confirmed.low,
                p.confirmed.high,
            )
            for p in figures.precision
        ),
    )
    result["appeals"] = Table(
        "appeals",
        (
            Column("policy", "Policy", "label"),
            Column("rule", "Rule", "label"),
            Column("filed", "Filed", "int"),
            Column("decided", "Decided", "int"),
            Column("overturned", "Overturned", "int"),
            Column("overturn_rate", "Overturn rate", "share"),
        ),
        tuple(
            (a.policy, a.rule, a.filed, a.decided, a.overturned, a.overturn_rate)
            for a in figures.appeals
        ),
    )
    result["durations"] = Table(
        "durations",
        (
            Column("measure", "Time from", "label", DURATIONS),
            Column("count", "Measured", "int"),
            Column("p50_seconds", "Median", "seconds"),
            Column("p90_seconds", "90th pct.", "seconds"),
            Column("p99_seconds", "99th pct.", "seconds"),
        ),
        tuple(
            (name, d.count, d.p50, d.p90, d.p99)
            for name, d in ((name, _duration(figures, name)) for name, _ in DURATIONS)
        ),
    )
    authorities = sorted(
        set(figures.authority_requests) | set(figures.authority_decisions),
        key=lambda k: (
            -figures.authority_requests.get(k, 0),
            -figures.authority_decisions.get(k, 0),
            k,
        ),
    )
    result["authority"] = Table(
        "authority",
        (
            Column("authority", "Authority", "label"),
            Column("requests", "Requests", "int"),
            Column("decisions", "Decisions caused", "int"),
        ),
        tuple(
            (
                name,
                figures.authority_requests.get(name, 0),
                figures.authority_decisions.get(name, 0),
            )
            for name in authorities
        ),
    )
    return result


_SUMMARY = (
    "period_from",
    "period_to",
    "generated_at",
    "audit_head",
    "audit_entries",
    "decisions",
    "shadow_decisions",
    "strikes_added",
    "accounts_suspended",
)


def write_csv(figures: TransparencyFigures, folder: Path | str) -> list[Path]:
    """Write one UTF-8 CSV file per table into `folder`; return their paths."""
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for table in tables(figures).values():
        path = target / f"{table.name}.csv"
        with path.open("w", encoding="utf-8", newline="") as stream:
            writer = csv.writer(stream, lineterminator="\n")
            writer.writerow(column.name for column in table.columns)
            writer.writerows([_csv_cell(cell) for cell in row] for row in table.rows)
        written.append(path)
    return written


def write_report(figures: TransparencyFigures, folder: Path | str) -> Path:
    """Write index.html and its CSV files into `folder`; return the path of index.html."""
    target = Path(folder)
    write_csv(figures, target)
    index = target / "index.html"
    index.write_text(render_html(figures, csv_links=True), encoding="utf-8")
    return index


def render_html(figures: TransparencyFigures, *, csv_links: bool = False) -> str:
    """The report as one self-contained HTML page; `csv_links` links each table's CSV file."""
    all_tables = tables(figures)
    link: Callable[[str], str] = _csv_link if csv_links else (lambda _: "")
    sections = [
        _decisions(figures, all_tables, link),
        _precision(figures, all_tables, link),
        _appeals(figures, all_tables, link),
        _durations(figures, all_tables, link),
        _authorities(figures, all_tables, link),
        _enforcement(figures),
        _shadow(figures),
    ]
    e = html.escape
    period = f"{e(figures.period_from)} to {e(figures.period_to)}"
    nav = "".join(
        f'<li><a href="#{anchor}">{e(title)}</a></li>' for anchor, title in _SECTION_TITLES
    )
    footer = (
        "The numbers of every table are also in CSV files beside this page"
        ' (<a href="summary.csv">summary.csv</a> and the others linked above).'
        if csv_links
        else "The numbers of every table are also published as CSV files."
    )
    return f"""<!DOCTYPE html>
<html lang="en" dir="ltr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<meta name="color-scheme" content="light">
<meta name="generator" content="Arbiter">
<title>Transparency report, {period}</title>
<style>{_CSS}</style>
</head>
<body>
<header class="masthead">
<div class="wrap">
<p class="eyebrow">Arbiter · content moderation</p>
<h1>Transparency report</h1>
<p class="period">Period <time datetime="{e(figures.period_from)}">{e(figures.period_from)}</time>
to <time datetime="{e(figures.period_to)}">{e(figures.period_to)}</time>, both days included.
Generated at <time>{e(figures.generated_at)}</time>.</p>
</div>
</header>
<main class="wrap">
{_summary(figures)}
<nav aria-label="Sections"><ol>{nav}</ol></nav>
{"".join(sections)}
</main>
<footer class="wrap"><p>{footer}</p></footer>
</body>
</html>
"""


_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'"

_SECTION_TITLES = (
    ("decisions", "Decisions"),
    ("precision", "Measured precision"),
    ("appeals", "Appeals"),
    ("durations", "Time to decide"),
    ("authorities", "Authority requests"),
    ("enforcement", "Strikes and suspensions"),
    ("shadow", "Shadow decisions"),
)


def _summary(f: TransparencyFigures) -> str:
    e = html.escape
    cards = "".join(
        f'<div class="card"><dt>{e(label)}</dt>'
        f'<dd data-key="{key}" data-value="{value}">{value:,}</dd></div>'
        for key, label, value in (
            ("decisions", "decisions", f.decisions),
            ("shadow_decisions", "shadow decisions, not acted on", f.shadow_decisions),
            ("strikes_added", "strikes added", f.strikes_added),
            ("accounts_suspended", "accounts suspended", f.accounts_suspended),
        )
    )
    return f"""<section id="summary" aria-label="Summary">
<dl class="cards">{cards}</dl>
<div class="audit">
<h2>Audit log</h2>
<p>This report was made when the audit log held
<strong data-key="audit_entries" data-value="{f.audit_entries}">{f.audit_entries:,}</strong>
{"entry" if f.audit_entries == 1 else "entries"}, the last with the hash</p>
<p><code class="hash" data-key="audit_head">{e(f.audit_head)}</code></p>
<p>Every entry of the log seals the one before it, so to check that nothing up to this report
was changed or removed since, run <code class="command">arbiter audit verify --anchor
{f.audit_entries}:{e(f.audit_head)}</code> on the store, or export the log with
<code>arbiter audit export</code> and recompute the chain: entry {f.audit_entries:,} must carry
this hash.</p>
</div>
</section>
"""


def _decisions(f: TransparencyFigures, all_tables: dict[str, Table], link: _Link) -> str:
    parts = [
        f"""<section id="decisions"><h2>Decisions</h2>
<p class="lead"><strong>{f.decisions:,}</strong> decisions were made in the period, every action
including allow. Decisions of shadow policies are not counted here; see
<a href="#shadow">shadow decisions</a>.</p>"""
    ]
    for key, heading, about in COUNTS:
        table = all_tables[f"decisions_{key}"]
        chart = charts.counts_chart(getattr(f, key), title=heading)
        parts.append(_pair(heading, about, chart, table, link))
    parts.append("</section>")
    return "\n".join(parts)


def _precision(f: TransparencyFigures, all_tables: dict[str, Table], link: _Link) -> str:
    about = (
        "Moderators review a random sample of each rule’s automated decisions. Precision is the"
        " share they confirmed; the interval is the 95% Wilson score interval, wide when few"
        " decisions were reviewed. Lowest precision first."
    )
    chart = charts.precision_chart(f.precision, title="Precision per rule")
    return (
        '<section id="precision"><h2>Measured precision</h2>'
        + _pair("Precision per rule", about, chart, all_tables["precision"], link)
        + "</section>"
    )


def _appeals(f: TransparencyFigures, all_tables: dict[str, Table], link: _Link) -> str:
    filed = sum(a.filed for a in f.appeals)
    decided = sum(a.decided for a in f.appeals)
    overturned = sum(a.overturned for a in f.appeals)
    rate = f" ({overturned / decided:.1%} of those decided)" if decided else ""
    about = (
        f"{filed:,} appeals were filed, {decided:,} decided and {overturned:,} decisions"
        f" overturned{rate}. The overturn rate of a rule is overturned ÷ decided."
    )
    chart = charts.appeals_chart(f.appeals, title="Appeals by rule")
    return (
        '<section id="appeals"><h2>Appeals</h2>'
        + _pair("Appeals by rule", about, chart, all_tables["appeals"], link)
        + "</section>"
    )


def _durations(f: TransparencyFigures, all_tables: dict[str, Table], link: _Link) -> str:
    about = (
        "From the moment a post was made to the decision on it, and from an appeal to its"
        " outcome: the median and the times within which 90% and 99% were done."
        " The time axis is logarithmic."
    )
    chart = charts.durations_chart(
        {label: _duration(f, name) for name, label in DURATIONS}, title="Time to decide"
    )
    return (
        '<section id="durations"><h2>Time to decide</h2>'
        + _pair(
            "Post to decision, appeal to outcome",
            about,
            chart,
            all_tables["durations"],
            link,
        )
        + "</section>"
    )


def _authorities(f: TransparencyFigures, all_tables: dict[str, Table], link: _Link) -> str:
    about = (
        f"{sum(f.authority_requests.values()):,} requests from authorities were received, and"
        f" {sum(f.authority_decisions.values()):,} decisions were made because of them."
    )
    chart = charts.authority_chart(
        f.authority_requests, f.authority_decisions, title="Authority requests"
    )
    return (
        '<section id="authorities"><h2>Authority requests</h2>'
        + _pair("By authority", about, chart, all_tables["authority"], link)
        + "</section>"
    )


def _enforcement(f: TransparencyFigures) -> str:
    return f"""<section id="enforcement"><h2>Strikes and suspensions</h2>
<dl class="cards">
<div class="card"><dt>strikes added to accounts</dt>
<dd data-key="strikes_added" data-value="{f.strikes_added}">{f.strikes_added:,}</dd></div>
<div class="card"><dt>accounts suspended</dt>
<dd data-key="accounts_suspended" data-value="{f.accounts_suspended}">{f.accounts_suspended:,}</dd>
</div>
</dl>
</section>
"""


def _shadow(f: TransparencyFigures) -> str:
    return f"""<section id="shadow"><h2>Shadow decisions</h2>
<p><strong data-key="shadow_decisions" data-value="{f.shadow_decisions}">{f.shadow_decisions:,}
</strong> decisions were made by shadow policies — policies being tried out before they take
effect. They were recorded so their accuracy could be measured, but no post or account was
acted on because of them, and they are not counted among the decisions above.</p>
</section>
"""


_Link = Callable[[str], str]


def _pair(heading: str, about: str, chart: str, table: Table, link: _Link) -> str:
    e = html.escape
    # An empty table says nothing the note does not; its CSV file still has the header.
    numbers = f'<div class="numbers">{_table_html(table)}{link(table.name)}</div>'
    body = numbers if table.rows else ""
    # A table of many columns squeezed beside its chart breaks its labels; it goes below.
    layout = "pair stacked" if len(table.columns) > 3 else "pair"
    return f"""<div class="block" id="table-{table.name}">
<h3>{e(heading)}</h3>
<p class="about">{e(about)}</p>
<div class="{layout}">
<figure class="chart" data-chart="{table.name}">{chart}</figure>
{body}
</div>
</div>
"""


def _table_html(table: Table) -> str:
    head = "".join(
        f'<th scope="col" class="{_align(c.kind)}">{html.escape(c.heading)}</th>'
        for c in table.columns
    )
    rows = []
    for row in table.rows:
        cells = []
        for i, (column, cell) in enumerate(zip(table.columns, row, strict=True)):
            cells.append(_cell_html(column, cell, header=i == 0))
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return (
        f'<div class="table-wrap"><table data-table="{table.name}">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def _cell_html(column: Column, cell: Cell, *, header: bool) -> str:
    tag = "th" if header else "td"
    scope = ' scope="row"' if header else ""
    attrs = f'{scope} data-column="{column.name}" class="{_align(column.kind)}"'
    if column.kind in ("label", "text"):
        text = "" if cell is None else str(cell)
        text = dict(column.shown).get(text, text)
        return f"<{tag}{attrs}>{_label(text)}</{tag}>"
    value = "" if cell is None else repr(cell)
    return f'<{tag}{attrs} data-value="{value}">{_format(column.kind, cell)}</{tag}>'


def _format(kind: Kind, cell: Cell) -> str:
    if cell is None:
        return "–"
    if kind == "int" and isinstance(cell, int):
        return f"{cell:,}"
    if kind == "share" and isinstance(cell, int | float):
        return f"{cell:.1%}"
    if kind == "seconds" and isinstance(cell, int | float):
        return html.escape(charts.format_duration(float(cell)))
    return html.escape(str(cell))


def _align(kind: Kind) -> str:
    return "text" if kind in ("label", "text") else "num"


def _label(text: str) -> str:
    """A label from user data: escaped, isolated, and right-to-left when its script is."""
    escaped = html.escape(text)
    # <bdi> keeps a right-to-left label from reordering the punctuation and numbers around it.
    if _direction(text) == "rtl":
        return f'<bdi dir="rtl">{escaped}</bdi>'
    return f"<bdi>{escaped}</bdi>"


def _direction(text: str) -> Literal["ltr", "rtl"]:
    """The direction of a text by its first strong character, as HTML's dir="auto" decides."""
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind in ("R", "AL"):
            return "rtl"
        if kind == "L":
            return "ltr"
    return "ltr"


def _csv_link(name: str) -> str:
    return f'<p class="csv"><a href="{name}.csv" download>{name}.csv</a></p>'


def _csv_cell(cell: Cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, float):
        return repr(cell)  # the shortest text that reads back as the same float
    return str(cell)


def _duration(figures: TransparencyFigures, name: str) -> Durations:
    value: Durations = getattr(figures, name)
    return value


_CSS = """
:root {
  --ink: #1f2933; --muted: #52606d; --line: #d9e2ec; --paper: #ffffff; --wash: #f5f7fa;
  --accent: #2f6690; --band: #16425b;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; color: var(--ink); background: var(--wash);
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", "Noto Sans", "DejaVu Sans",
    "Noto Sans Arabic", "Noto Naskh Arabic", Tahoma, sans-serif;
}
.wrap { max-width: 74rem; margin: 0 auto; padding: 0 1.5rem; }
.masthead { background: var(--band); color: #fff; padding: 2rem 0 1.6rem; }
.masthead h1 { margin: 0 0 .4rem; font-size: 2.2rem; line-height: 1.15; }
.eyebrow { margin: 0 0 .3rem; text-transform: uppercase; letter-spacing: .08em;
  font-size: .8rem; color: #bcd4e6; }
.period { margin: 0; color: #e4eef6; }
main { padding-bottom: 2rem; }
section { background: var(--paper); border: 1px solid var(--line); border-radius: 10px;
  padding: 1.4rem 1.6rem; margin: 1.4rem 0; }
#summary { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 1.6rem; }
#summary .cards { grid-template-columns: repeat(2, minmax(0, 1fr)); align-content: start; }
h2 { margin: 0 0 .6rem; font-size: 1.45rem; color: var(--band); }
h3 { margin: 0 0 .2rem; font-size: 1.1rem; }
.lead { margin-top: 0; }
.about { margin: 0 0 .8rem; color: var(--muted); max-width: 52rem; }
.block { padding: 1.1rem 0 .4rem; border-top: 1px solid var(--line); }
section > h2 + .block { border-top: 0; padding-top: .2rem; }
.pair { display: grid; grid-template-columns: minmax(0, 3fr) minmax(15rem, 2fr);
  gap: 1.6rem; align-items: start; }
.pair.stacked { grid-template-columns: minmax(0, 1fr); gap: 1rem; }
.pair.stacked .numbers { max-width: 52rem; }
figure.chart { margin: 0; min-width: 0; }
figure.chart svg { display: block; width: 100%; max-width: 40rem; height: auto; }
.empty { margin: 0; padding: 1rem 1.2rem; border: 1px dashed var(--line); border-radius: 8px;
  color: var(--muted); background: var(--wash); font-style: italic; }
.table-wrap { max-height: 30rem; overflow: auto; border: 1px solid var(--line);
  border-radius: 8px; }
table { width: 100%; border-collapse: collapse; font-size: .92rem; }
thead th { position: sticky; top: 0; background: #eef2f7; color: var(--muted);
  font-weight: 600; font-size: .8rem; text-transform: uppercase; letter-spacing: .03em; }
th, td { padding: .38rem .7rem; border-bottom: 1px solid var(--line); vertical-align: top; }
tbody tr:last-child > * { border-bottom: 0; }
tbody tr:nth-child(even) { background: #fafbfc; }
tbody th { font-weight: 500; }
.text { text-align: start; overflow-wrap: anywhere; min-width: 6rem; }
.num { text-align: end; font-variant-numeric: tabular-nums; white-space: nowrap; }
bdi[dir="rtl"] { font-size: 1.05em; }
.csv { margin: .4rem 0 0; font-size: .85rem; }
a { color: var(--accent); }
nav ol { list-style: none; display: flex; flex-wrap: wrap; gap: .4rem 1.2rem; padding: 0;
  margin: 1rem 0 0; }
nav a { text-decoration: none; font-weight: 500; }
nav a:hover { text-decoration: underline; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(11rem, 1fr));
  gap: .8rem; margin: 0; }
.card { background: var(--wash); border-radius: 8px; padding: .8rem 1rem; }
.card dt { color: var(--muted); font-size: .9rem; }
.card dd { margin: 0; font-size: 1.9rem; font-weight: 650; color: var(--band);
  font-variant-numeric: tabular-nums; order: -1; }
.card { display: flex; flex-direction: column; }
.audit p { margin: 0 0 .6rem; }
.audit h2 { font-size: 1.1rem; }
code { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace;
  font-size: .9em; background: var(--wash); padding: .05rem .3rem; border-radius: 4px; }
code.hash { display: block; padding: .5rem .7rem; word-break: break-all; }
code.command { overflow-wrap: anywhere; }
footer { color: var(--muted); font-size: .9rem; padding-bottom: 2rem; }
@media (max-width: 56rem) {
  .pair, #summary { grid-template-columns: minmax(0, 1fr); }
}
@media print {
  body { background: #fff; }
  section { break-inside: avoid-page; border: 0; padding: 0; }
  .table-wrap { max-height: none; overflow: visible; }
  .masthead { background: #fff; color: var(--ink); }
}
"""
