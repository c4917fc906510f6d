"""Charts: inline SVG with text kept as text, sorted, escaped, deterministic; a note when empty."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from arbiter.report import charts
from arbiter.report.figures import AppealFigures, Durations, RulePrecision, wilson

SVG = "{http://www.w3.org/2000/svg}"


def texts(svg: str) -> list[str]:
    """The text of every <text> element, in document order."""
    root = ET.fromstring(svg)
    return ["".join(node.itertext()) for node in root.iter(f"{SVG}text")]


def ids(svg: str) -> set[str]:
    return set(re.findall(r'\bid="([^"]+)"', svg))


def test_counts_chart_is_inline_svg_with_labels_as_text_largest_first() -> None:
    svg = charts.counts_chart({"en": 30, "فارسی": 120, "und": 2}, title="By language")
    assert svg.startswith("<svg ")
    assert 'role="img"' in svg and 'aria-label="By language"' in svg
    for absent in ("<?xml", "<!DOCTYPE", "<metadata", "<style", "Matplotlib"):
        assert absent not in svg
    labels = [t for t in texts(svg) if t in {"en", "فارسی", "und"}]
    assert labels == ["فارسی", "en", "und"]  # the browser shapes the Arabic script
    assert {"120", "30", "2"} <= set(texts(svg))


def test_the_same_figures_give_the_same_svg() -> None:
    counts = {"a": 3, "b": 5}
    assert charts.counts_chart(counts, title="t") == charts.counts_chart(counts, title="t")


def test_labels_from_user_data_are_escaped_and_never_mathtext() -> None:
    label = "<script>alert(1)</script>"
    svg = charts.counts_chart({label: 4, "costs $5 or $6": 2}, title='a "title" <b>')
    assert "<script" not in svg
    assert label in texts(svg)
    assert "costs $5 or $6" in texts(svg)
    assert 'aria-label="a &quot;title&quot; &lt;b&gt;"' in svg


def test_long_labels_are_shortened_and_control_characters_dropped() -> None:
    svg = charts.counts_chart({"x" * 80: 1, "two\nlines": 2}, title="t")
    shown = texts(svg)
    assert "two lines" in shown
    long = next(t for t in shown if t.startswith("xxx"))
    assert long.endswith("…") and len(long) == charts.MAX_LABEL


def test_a_long_tail_is_summed_into_one_bar() -> None:
    counts = {f"c{i:02}": 100 - i for i in range(30)}
    shown = texts(charts.counts_chart(counts, title="t", limit=5))
    assert [t for t in shown if t.startswith("c")] == ["c00", "c01", "c02", "c03"]
    rest = sum(100 - i for i in range(4, 30))
    assert "26 others" in shown and f"{rest:,}" in shown


@pytest.mark.parametrize("counts", [{}, {"remove": 0}])
def test_nothing_to_count_gives_the_note(counts: dict[str, int]) -> None:
    assert charts.counts_chart(counts, title="t") == charts.EMPTY


def test_charts_in_one_page_share_no_id() -> None:
    first = charts.counts_chart({"a": 1}, title="t")
    second = charts.counts_chart({"a": 2}, title="t")
    third = charts.appeals_chart([AppealFigures("p", "r", 3, 2, 1)])
    assert ids(first) and not ids(first) & ids(second)
    assert not ids(first) & ids(third) and not ids(second) & ids(third)
    for svg in (first, second, third):  # every internal reference points inside its own SVG
        assert set(re.findall(r"url\(#([^)]+)\)", svg)) <= ids(svg)


def test_precision_chart_shows_sampled_rules_lowest_first_with_their_sample() -> None:
    svg = charts.precision_chart(
        [
            RulePrecision("p", "good", wilson(95, 100)),
            RulePrecision("p", "weak", wilson(6, 10)),
            RulePrecision("p", "unsampled", wilson(0, 0)),
        ]
    )
    shown = texts(svg)
    assert [t for t in shown if t.startswith("p/")] == ["p/weak", "p/good"]
    assert "6/10" in shown and "95/100" in shown
    assert "100%" in shown


def test_precision_chart_without_reviews_gives_the_note() -> None:
    assert charts.precision_chart([RulePrecision("p", "r", wilson(0, 0))]) == charts.EMPTY
    assert charts.precision_chart([]) == charts.EMPTY


def test_appeals_chart_has_filed_and_overturned_per_rule() -> None:
    svg = charts.appeals_chart(
        [AppealFigures("p", "few", 3, 3, 0), AppealFigures("p", "many", 40, 30, 9)]
    )
    shown = texts(svg)
    assert [t for t in shown if t.startswith("p/")] == ["p/many", "p/few"]
    assert {"filed", "overturned", "40", "9", "3", "0"} <= set(shown)
    assert charts.appeals_chart([]) == charts.EMPTY
    assert charts.appeals_chart([AppealFigures("p", "r", 0, 0, 0)]) == charts.EMPTY


def test_authority_chart_joins_requests_and_decisions() -> None:
    shown = texts(charts.authority_chart({"A": 2, "B": 5}, {"A": 7, "C": 1}))
    assert [t for t in shown if t in {"A", "B", "C"}] == ["B", "A", "C"]
    assert {"requests", "decisions caused", "7"} <= set(shown)
    assert charts.authority_chart({}, {}) == charts.EMPTY


def test_durations_chart_labels_quantiles_in_human_units() -> None:
    svg = charts.durations_chart(
        {
            "post → decision": Durations(50, 42.0, 1800.0, 2 * 86400.0),
            "appeal → outcome": Durations(0, None, None, None),
        }
    )
    shown = texts(svg)
    assert "post → decision" in shown and "appeal → outcome" not in shown
    assert {"42 s", "30 min", "2 d", "median", "90th percentile", "99th percentile"} <= set(shown)
    assert {"1 min", "1 h", "1 d"} <= set(shown)  # the logarithmic time axis


def test_durations_chart_without_measurements_gives_the_note() -> None:
    empty = Durations(0, None, None, None)
    assert charts.durations_chart({"a": empty, "b": empty}) == charts.EMPTY


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "–"),
        (0.0, "0 s"),
        (42.4, "42 s"),
        (150.0, "2.5 min"),
        (1800.0, "30 min"),
        (3 * 3600.0, "3 h"),
        (5400.0 * 3, "4.5 h"),
        (2 * 86400.0, "2 d"),
        (12 * 86400.0, "12 d"),
    ],
)
def test_format_duration(seconds: float | None, text: str) -> None:
    assert charts.format_duration(seconds) == text
