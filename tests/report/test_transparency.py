"""The transparency report: checked in a real browser, and through its CSV files."""

from __future__ import annotations

import csv
import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from arbiter.report import transparency
from arbiter.report.figures import (
    AppealFigures,
    Durations,
    Interval,
    RulePrecision,
    TransparencyFigures,
    wilson,
)
from tests import browser
from tests.conftest import ROOT

ARTIFACTS = ROOT / "test-artifacts"
SCRIPT = "<script>window.__arbiterPwned = 1</script>"
ARABIC = "العربية"
PERSIAN = "فارسی"

FIGURES = TransparencyFigures(
    period_from="2020-01-01",
    period_to="2020-01-31",
    generated_at="2020-02-01T09:00:00Z",
    audit_head="9f2c4e1b7a3d5f60c8e2b4a6d1f3e5c7a9b0d2f4e6a8c0b2d4f6a8c0e2b4d6f8",
    audit_entries=48213,
    decisions=12480,
    by_policy={"dangerous-individuals v3": 12000, "spam v1": 480},
    by_rule={
        "dangerous-individuals/praise": 3210,
        "spam/links": 402,
        f"dangerous-individuals/{SCRIPT}": 17,
        "dangerous-individuals/news-exception": 0,
    },
    by_action={"allow": 8868, "remove": 2410, "restrict": 640, "label": 380, "review": 182},
    by_language={PERSIAN: 6100, ARABIC: 2300, "en": 3900, "und": 180},
    by_country={"IR": 5200, "IQ": 2100, "US": 1800, "DE": 900, "unknown": 2480},
    by_automation={"automated": 11900, "human": 580},
    by_signal={"text": 2600, "hashtag": 1400, "ocr": 310, "image": 220, "video": 40},
    by_source={"own terms": 3400, "authority order": 212},
    precision=(
        RulePrecision("dangerous-individuals", "praise", wilson(182, 200)),
        RulePrecision("spam", "links", wilson(44, 50)),
        RulePrecision("dangerous-individuals", "hashtag-only", wilson(7, 12)),
        RulePrecision("dangerous-individuals", "news-exception", wilson(0, 0)),
    ),
    appeals=(
        AppealFigures("dangerous-individuals", "praise", 420, 390, 61),
        AppealFigures("spam", "links", 12, 12, 1),
        AppealFigures("spam", "new", 3, 0, 0),
    ),
    post_to_decision=Durations(3612, 42.0, 1800.0, 2 * 86400.0),
    appeal_to_outcome=Durations(402, 7 * 3600.0, 40 * 3600.0, 6 * 86400.0),
    authority_requests={"BKA (DE)": 14, "Ofcom": 3, SCRIPT: 1},
    authority_decisions={"BKA (DE)": 212, "Ofcom": 0, SCRIPT: 2},
    strikes_added=911,
    accounts_suspended=37,
    shadow_decisions=2044,
)

EMPTY = TransparencyFigures("2020-03-01", "2020-03-31", "2020-04-01T00:00:00Z", "0" * 64, 0, 0)

COUNT_FIELDS = [key for key, _, _ in transparency.COUNTS]
CHARTS = [f"decisions_{key}" for key in COUNT_FIELDS] + [
    "precision",
    "appeals",
    "durations",
    "authority",
]


def open_report(page: Page, figures: TransparencyFigures, folder: Path) -> list[str]:
    """Write the report, open it from disk, and return the URLs the page requested."""
    index = transparency.write_report(figures, folder)
    requests = browser.record_requests(page)
    page.goto(index.as_uri(), wait_until="load")
    return requests


def table_rows(page: Page, name: str) -> list[list[Any]]:
    """The rows of one table as the page shows them: label text, or a cell's exact value."""
    rows: list[list[Any]] = page.eval_on_selector_all(
        f'table[data-table="{name}"] tbody tr',
        """rows => rows.map(row => [...row.children].map(cell =>
            cell.hasAttribute('data-value') ? cell.dataset.value : cell.textContent))""",
    )
    return [[_number(cell) if i >= 1 else cell for i, cell in enumerate(row)] for row in rows]


def _number(cell: str) -> Any:
    if cell == "" or not re.fullmatch(r"[-+0-9.e]+", cell):
        return None if cell == "" else cell
    return float(cell) if any(c in cell for c in ".e") else int(cell)


def test_report_renders_in_chromium_with_charts_tables_and_no_requests(
    chromium_page: Page, tmp_path: Path
) -> None:
    page = chromium_page
    requests = open_report(page, FIGURES, tmp_path / "report")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "transparency.png"), full_page=True)

    assert page.evaluate("document.documentElement.lang") == "en"
    assert "2020-01-01" in page.title() and "2020-01-31" in page.title()
    header = page.inner_text("header")
    assert "2020-01-01" in header and "2020-01-31" in header
    assert "2020-02-01T09:00:00Z" in header
    assert page.inner_text("code.hash") == FIGURES.audit_head
    assert page.get_attribute('[data-key="audit_entries"]', "data-value") == "48213"
    audit = page.inner_text(".audit")
    assert f"arbiter audit verify --anchor 48213:{FIGURES.audit_head}" in audit
    assert "arbiter audit export" in audit
    for key in ("decisions", "shadow_decisions", "strikes_added", "accounts_suspended"):
        shown = page.eval_on_selector_all(
            f'dd[data-key="{key}"]', "e => e.map(x => x.dataset.value)"
        )
        assert shown and set(shown) == {str(getattr(FIGURES, key))}

    # Every chart was drawn as an SVG that takes up room on the page.
    for name in CHARTS:
        svg = page.query_selector(f'figure[data-chart="{name}"] > svg')
        assert svg is not None, name
        box = svg.bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 50, name
    assert page.query_selector(".empty") is None

    # The page asked for nothing but itself.
    assert requests and requests[0].startswith("file://")
    assert all(url.startswith("file:") for url in requests), requests

    # The label holding a script is shown as text and did not run.
    assert page.evaluate("document.querySelectorAll('script').length") == 0
    assert page.evaluate("window.__arbiterPwned") is None
    rule_labels = [row[0] for row in table_rows(page, "decisions_by_rule")]
    assert f"dangerous-individuals/{SCRIPT}" in rule_labels
    assert SCRIPT in [row[0] for row in table_rows(page, "authority")]
    svg_texts = page.eval_on_selector_all(
        'figure[data-chart="decisions_by_rule"] text', "e => e.map(x => x.textContent)"
    )
    assert any(text.startswith("dangerous-individuals/<script>") for text in svg_texts)


def test_tables_show_the_figures(chromium_page: Page, tmp_path: Path) -> None:
    page = chromium_page
    open_report(page, FIGURES, tmp_path / "report")
    for field in COUNT_FIELDS:
        counts: dict[str, int] = getattr(FIGURES, field)
        rows = table_rows(page, f"decisions_{field}")
        assert dict((label, count) for label, count in rows) == counts, field
        assert [count for _, count in rows] == sorted(counts.values(), reverse=True)
    # Numbers are also shown grouped for people.
    assert "12,000" in page.inner_text('table[data-table="decisions_by_policy"]')

    assert table_rows(page, "precision") == [
        [
            p.policy,
            p.rule,
            p.confirmed.successes,
            p.confirmed.trials,
            p.confirmed.value,
            p.confirmed.low,
            p.confirmed.high,
        ]
        for p in FIGURES.precision
    ]
    assert table_rows(page, "appeals") == [
        [a.policy, a.rule, a.filed, a.decided, a.overturned, a.overturn_rate]
        for a in FIGURES.appeals
    ]
    assert table_rows(page, "durations") == [
        ["post → decision", 3612, 42.0, 1800.0, 172800.0],
        ["appeal → outcome", 402, 25200.0, 144000.0, 518400.0],
    ]
    assert table_rows(page, "authority") == [
        ["BKA (DE)", 14, 212],
        ["Ofcom", 3, 0],
        [SCRIPT, 1, 2],
    ]
    precision_text = page.inner_text('table[data-table="precision"]')
    assert "91.0%" in precision_text and "–" in precision_text  # the unsampled rule


def test_labels_in_arabic_script_read_right_to_left(chromium_page: Page, tmp_path: Path) -> None:
    page = chromium_page
    open_report(page, FIGURES, tmp_path / "report")
    for label in (ARABIC, PERSIAN):
        bdi = page.locator('table[data-table="decisions_by_language"] bdi', has_text=label)
        assert bdi.get_attribute("dir") == "rtl"
        assert bdi.evaluate("e => getComputedStyle(e).direction") == "rtl"
    english = page.locator('table[data-table="decisions_by_language"] bdi', has_text="en").first
    assert english.evaluate("e => getComputedStyle(e).direction") == "ltr"


def test_an_empty_period_shows_the_note_for_every_chart(
    chromium_page: Page, tmp_path: Path
) -> None:
    page = chromium_page
    requests = open_report(page, EMPTY, tmp_path / "empty")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "transparency-empty.png"), full_page=True)
    for name in CHARTS:
        figure = page.locator(f'figure[data-chart="{name}"]')
        assert figure.inner_text().strip() == "Nothing in this period.", name
        assert figure.locator("svg").count() == 0
    # Only the durations table keeps rows: it says that nothing was measured.
    assert page.eval_on_selector_all("table", "e => e.map(t => t.dataset.table)") == ["durations"]
    assert table_rows(page, "durations") == [
        ["post → decision", 0, None, None, None],
        ["appeal → outcome", 0, None, None, None],
    ]
    assert all(url.startswith("file:") for url in requests)


def test_html_is_self_contained_and_escaped() -> None:
    page = transparency.render_html(FIGURES)
    lowered = page.lower()
    assert "<script" not in lowered
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", lowered)
    assert "@import" not in lowered and "url(http" not in lowered
    assert "Content-Security-Policy" in page
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), "duplicate ids across the inline charts"
    assert page == transparency.render_html(FIGURES)
    assert not re.search(r'href="[^"]*\.csv"', page)  # links to CSV files only beside them
    assert 'href="decisions_by_rule.csv"' in transparency.render_html(FIGURES, csv_links=True)


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as stream:
        reader = csv.DictReader(stream)
        return list(reader.fieldnames or []), list(reader)


def _optional(text: str) -> float | None:
    return float(text) if text else None


def figures_from_csv(folder: Path) -> TransparencyFigures:
    """Read the published CSV files back, as an auditor with only those files would."""
    summary = {row["key"]: row["value"] for row in read_csv(folder / "summary.csv")[1]}
    counts = {}
    for field in COUNT_FIELDS:
        header, rows = read_csv(folder / f"decisions_{field}.csv")
        assert header == ["key", "count"]
        counts[field] = {row["key"]: int(row["count"]) for row in rows}
    precision = tuple(
        RulePrecision(
            row["policy"],
            row["rule"],
            Interval(
                int(row["confirmed"]),
                int(row["reviewed"]),
                float(row["ci_low"]),
                float(row["ci_high"]),
            ),
        )
        for row in read_csv(folder / "precision.csv")[1]
    )
    appeals = tuple(
        AppealFigures(
            row["policy"],
            row["rule"],
            int(row["filed"]),
            int(row["decided"]),
            int(row["overturned"]),
        )
        for row in read_csv(folder / "appeals.csv")[1]
    )
    durations = {
        row["measure"]: Durations(
            int(row["count"]),
            _optional(row["p50_seconds"]),
            _optional(row["p90_seconds"]),
            _optional(row["p99_seconds"]),
        )
        for row in read_csv(folder / "durations.csv")[1]
    }
    authority = read_csv(folder / "authority.csv")[1]
    return TransparencyFigures(
        period_from=summary["period_from"],
        period_to=summary["period_to"],
        generated_at=summary["generated_at"],
        audit_head=summary["audit_head"],
        audit_entries=int(summary["audit_entries"]),
        decisions=int(summary["decisions"]),
        precision=precision,
        appeals=appeals,
        post_to_decision=durations["post_to_decision"],
        appeal_to_outcome=durations["appeal_to_outcome"],
        authority_requests={row["authority"]: int(row["requests"]) for row in authority},
        authority_decisions={row["authority"]: int(row["decisions"]) for row in authority},
        strikes_added=int(summary["strikes_added"]),
        accounts_suspended=int(summary["accounts_suspended"]),
        shadow_decisions=int(summary["shadow_decisions"]),
        **counts,
    )


@pytest.mark.parametrize("figures", [FIGURES, EMPTY], ids=["full", "empty"])
def test_csv_files_read_back_as_the_figures(figures: TransparencyFigures, tmp_path: Path) -> None:
    written = transparency.write_csv(figures, tmp_path)
    assert sorted(path.name for path in written) == sorted(
        [f"{name}.csv" for name in CHARTS] + ["summary.csv"]
    )
    assert figures_from_csv(tmp_path) == figures
    precision = read_csv(tmp_path / "precision.csv")
    appeals = read_csv(tmp_path / "appeals.csv")
    assert precision[0] == [
        "policy",
        "rule",
        "confirmed",
        "reviewed",
        "precision",
        "ci_low",
        "ci_high",
    ]
    assert [_optional(row["precision"]) for row in precision[1]] == [
        p.confirmed.value for p in figures.precision
    ]
    assert [_optional(row["overturn_rate"]) for row in appeals[1]] == [
        a.overturn_rate for a in figures.appeals
    ]


def test_authorities_missing_from_one_count_read_back_as_zero(tmp_path: Path) -> None:
    figures = dataclasses.replace(
        EMPTY, authority_requests={"Ofcom": 3}, authority_decisions={"BKA": 2}
    )
    transparency.write_csv(figures, tmp_path)
    assert read_csv(tmp_path / "authority.csv")[1] == [
        {"authority": "Ofcom", "requests": "3", "decisions": "0"},
        {"authority": "BKA", "requests": "0", "decisions": "2"},
    ]


def test_write_report_writes_the_page_beside_its_csv_files(tmp_path: Path) -> None:
    index = transparency.write_report(FIGURES, tmp_path / "out")
    assert index == tmp_path / "out" / "index.html"
    page = index.read_text(encoding="utf-8")
    for name in CHARTS:
        assert (index.parent / f"{name}.csv").is_file()
        assert f'href="{name}.csv"' in page
