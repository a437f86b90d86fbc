"""The report's renderers: the findings that open it, best values marked, long tables folded."""

import re

from mnistlab.report.document import Section, Table, better_by_words
from mnistlab.report.render import findings_html, html_table, markdown_table


def _scores(n: int) -> Table:
    """n methods: AUROC (higher is better), ECE (lower is better), a text column."""
    rows = [[f"method {i}", f"{80 + i % 5}.0 ± 0.3", f"0.0{5 + i % 3}", "note"] for i in range(n)]
    return Table(["method", "AUROC", "ECE", "remark"], rows, {"AUROC": "high", "ECE": "low"})


def test_the_best_value_of_each_ranked_column_is_marked_ties_included():
    table = _scores(4)  # AUROC 80, 81, 82, 83; ECE 0.05, 0.06, 0.07, 0.05
    assert table.best_cells() == {(3, 1), (0, 2), (3, 2)}
    table.rows[1][1] = "n/a"  # a missing value is never the best, nor breaks the ranking
    assert (1, 1) not in table.best_cells()
    assert Table(
        ["m", "kept / error"],
        [["a", "0.91 / 0.01"], ["b", "0.95 / 0.02"]],
        {"kept / error": "high"},
    ).best_cells() == {(1, 1)}
    html = html_table(table)
    assert html.count('class="num best"') == 3 and "Bold: the best mean" in html
    assert "**83.0 ± 0.3**" in markdown_table(table)
    plain = Table(["method", "x"], [["a", "1"], ["b", "2"]])
    assert "best" not in html_table(plain) and "**" not in markdown_table(plain)


def test_a_long_ranked_table_shows_its_key_rows_and_folds_the_rest():
    table = _scores(16)
    key_rows = table.key_rows()
    assert key_rows[0] == 0  # the reference method stays in view
    assert {row for row, _ in table.best_cells()} <= set(key_rows) and len(key_rows) < 16
    html = html_table(table)
    shown, folded = html.split("<details>")
    assert shown.count("<tr>") == 1 + len(key_rows)  # header + key rows
    assert "All 16 rows" in folded and folded.count("<tr>") == 17
    assert _scores(8).key_rows() is None  # short tables are shown whole
    assert markdown_table(table).count("\n| method ") == 16  # Markdown keeps every row


def test_better_by_words_ranks_every_column_of_a_metric():
    header = ["method", "acc 0°", "acc 60°", "ECE 0°", "letters"]
    assert better_by_words(header, {"acc": "high", "ECE": "low"}) == {
        "acc 0°": "high",
        "acc 60°": "high",
        "ECE 0°": "low",
    }


def test_the_report_opens_with_one_linked_finding_per_study():
    sections = [
        Section("tutorial-mnist", "The same model on MNIST digits", finding="accuracy **0.98**"),
        Section("quiet", "A section without a finding"),
        Section("claims", "The exercise's own claims, checked", finding="(a) **mixed**"),
    ]
    html = findings_html(sections)
    assert re.findall(r'<li><a href="#([\w-]+)">', html) == ["tutorial-mnist", "claims"]
    assert "accuracy <strong>0.98</strong>" in html
