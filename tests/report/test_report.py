"""The lab report end to end: quick mode, numbers agree, warm reuse, resume, and a real browser."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from browser import CHROMIUM_FLAGS, chromium
from readme_blocks import method_blocks as readme_blocks

from mnistlab.cli import main
from mnistlab.report.document import Table
from mnistlab.report.render import html_table, markdown_table
from mnistlab.studies.registry import STUDIES
from mnistlab.uncertainty.registry import unregister_method


def expected_sections(report_dir) -> list[str]:
    """The section keys the registry's studies make from their own results, in registry order."""
    results = json.loads((report_dir / "results.json").read_text())
    out = report_dir.parent
    return [
        section.key
        for study in STUDIES
        for section in study.sections(results["studies"][study.name], out / study.name)
    ]


# Each figure the quick report saved: its smallest text in points, and its overlapping titles.
FIGURE_TEXT: dict[str, dict] = {}


def _save_and_measure(fig, path, **kwargs):
    from mnistlab import legibility, runs

    saved = runs.save_figure(fig, path, **kwargs)  # draws the figure: its texts are laid out
    FIGURE_TEXT[Path(path).resolve().as_posix()] = {
        "points": legibility.smallest_text_points(fig),
        "overlaps": legibility.overlapping_titles(fig),
    }
    return saved


@pytest.fixture(scope="module")
def quick_report(synthetic_root, shared_cache_dir, tmp_path_factory):
    """One quick report on synthetic data, shared by the tests that only read it."""
    from synthetic import patch_checksums

    tmp = tmp_path_factory.mktemp("report")
    root, sums = synthetic_root
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("mnistlab.studies.framework.drawing.save_figure", _save_and_measure)
        for name, file_sums in sums.items():
            patch_checksums(patch, name, file_sums)
        patch.setenv("MNISTLAB_DATA_DIR", str(root))
        patch.setenv("MNISTLAB_CACHE_DIR", str(shared_cache_dir))
        exec(readme_blocks()[0], {})  # the README's "Add a method": in the report too
        try:
            assert (
                main(["--quiet", "report", "--quick", "--seeds", "2", "--out", str(tmp / "out")])
                == 0
            )
        finally:
            unregister_method("max-logit")
    return tmp / "out" / "report"


def test_an_added_method_is_in_every_method_study_and_the_report(quick_report):
    results = json.loads((quick_report / "results.json").read_text())
    studies = results["studies"]
    for dataset in ("mnist", "fashion-mnist"):
        rows = studies["scoreboard"]["datasets"][dataset]["rows"]
        assert "max-logit" in [r["key"] for r in rows]
        assert "max-logit" in studies["shift"]["datasets"][dataset]["numbers"]
        assert "abstention" in studies["conformal"]["datasets"][dataset]["numbers"]["max-logit"]
    html = (quick_report / "index.html").read_text()
    assert html.count("<td>max logit</td>") >= 4  # scoreboard (x2), letters, abstention (x2)


def test_report_files_and_sections(quick_report):
    html = (quick_report / "index.html").read_text()
    markdown = (quick_report / "report.md").read_text()
    results = json.loads((quick_report / "results.json").read_text())
    assert list(results["studies"]) == [study.name for study in STUDIES]
    assert list(results["sections"]) == expected_sections(quick_report)
    # The trust explorer is written beside the report, and linked from both renderings
    assert (quick_report.parent / "explore" / "index.html").is_file() and results["explorer"]
    assert '<a href="../explore/index.html">the trust explorer</a>' in html
    assert "[the trust explorer](../explore/index.html)" in markdown
    assert {"tutorial-fashion-mnist", "tutorial-mnist", "variants", "scoreboard"} <= set(
        results["sections"]
    )
    for key, section in results["sections"].items():
        assert f'<section id="{key}">' in html
        assert f"## {section['title']}" in markdown
    # Self-contained: every image is embedded, nothing is fetched.
    assert 'src="http' not in html and html.count('src="data:image/png;base64,') == len(
        re.findall(r"!\[", markdown)
    )
    for link in re.findall(r"\]\((figures/[^)]+)\)", markdown):
        assert (quick_report / link).is_file()
    for key in ("created", "version", "environment", "data_sha256", "study_seconds", "seed"):
        assert key in results
    from mnistlab.runs import current_umask

    for name in ("index.html", "report.md", "results.json"):  # as open as the umask allows
        assert (quick_report / name).stat().st_mode & 0o777 == 0o666 & ~current_umask()


def test_report_over_two_seeds(quick_report):
    """--seeds 2: every study's numbers over both seeds, paired verdicts, claims, the cost."""
    results = json.loads((quick_report / "results.json").read_text())
    studies = results["studies"]
    assert results["seeds"] == [0, 1]
    tutorial = studies["tutorial"]["datasets"]["mnist"]
    assert len(tutorial["test/acc_seeds"]) == 2
    assert tutorial["test/acc_seeds"][0] == tutorial["model"]["test/acc"]  # first seed shown
    for row in studies["variants"]["rows"]:
        assert [m["spec"]["seed"] for m in row["models"]] == [0, 1]
    confidence = studies["confidence"]["datasets"]["mnist"]
    assert confidence["n_wrong"] == sum(confidence["n_wrong_seeds"]) / 2
    cross = studies["cross"]["directions"]["mnist->fashion-mnist"]
    assert cross["n_right"] + cross["n_wrong"] == sum(cross["predicted_class_counts"])
    entry = studies["scoreboard"]["datasets"]["mnist"]
    ensembles = [[m["spec"]["seed"] for m in rep["ensemble"]] for rep in entry["models"]]
    assert ensembles == [[0, 1], [2, 3]]  # disjoint seeds per replicate (ensemble size 2)
    assert "msp" not in entry["comparisons"] and "ensemble" in entry["comparisons"]
    for comparison in entry["comparisons"].values():
        for result in comparison.values():
            assert result["low"] <= result["high"] and len(result["per_seed"]) == 2
    claims = studies["claims"]["claims"]
    assert [c["id"] for c in claims] == ["a", "b", "c", "d"]
    assert all(
        c["verdict"].split()[0] in ("supported", "not", "mixed", "undetermined") for c in claims
    )
    cost = results["cost"]
    assert cost["flop"] > 0 and cost["floor_seconds"] > 0 and cost["ratio"] > 0
    # (the shared model cache may hold every model already: the training phase's FLOPs are
    # checked where models certainly train, in the --retrain run below)
    assert "wall / floor" in (quick_report / "report.md").read_text()


def test_conformal_checks_its_promise_in_the_report(quick_report):
    """Over two seeds: intervals from --bootstrap around every test coverage, the exchangeable
    control, class-conditional sets, recalibration per angle, and the paragraphs and tables
    that state them."""
    results = json.loads((quick_report / "results.json").read_text())
    conformal = results["studies"]["conformal"]
    assert conformal["options"]["bootstrap"] == 100  # --quick's resamples, recorded
    for entry in conformal["datasets"].values():
        assert set(entry["exchangeability"]) >= {"ks_p_value", "calibration_accuracy"}
        msp = entry["numbers"]["msp"]
        for score, by_alpha in msp["sets"].items():
            for alpha, cell in by_alpha.items():
                assert cell["coverage_low"] <= cell["coverage"] <= cell["coverage_high"]
                assert 0 <= msp["control"][score][alpha]["coverage"] <= 1
                assert "worst_class_coverage" in msp["class_sets"][score][alpha]
        recal = msp["recalibration"]["lac"]["0.1"]
        assert list(recal) == ["30", "60", "90"]
        assert len(recal["30"]["coverage/25_seeds"]) == 2  # --quick: 100 rotated images
        assert "control" not in entry["numbers"].get("max-logit", {})  # a score: no sets
    text = " ".join(results["sections"]["conformal"]["text"])
    assert "is the promise kept?" in text and "a promise per class" in text
    headers = [t["header"][0] for t in results["sections"]["conformal"]["tables"]]
    assert "mnist, LAC: method" in headers and "mnist, LAC a=0.1: method" in headers
    assert (quick_report.parent / "conformal" / "recalibration-mnist.png").is_file()


def test_report_numbers_equal_results_json(quick_report):
    html = (quick_report / "index.html").read_text()
    markdown = (quick_report / "report.md").read_text()
    results = json.loads((quick_report / "results.json").read_text())
    for section in results["sections"].values():
        for shown in section["tables"]:
            table = Table(shown["header"], shown["rows"], shown["better"])
            assert markdown_table(table) in markdown and html_table(table) in html
        for paragraph in section["text"]:
            assert paragraph in markdown
    # The sections' numbers are the studies' numbers, not recomputed or rounded copies.
    studies = results["studies"]
    confidence = studies["confidence"]["datasets"]["mnist"]
    assert (
        results["sections"]["confidence"]["numbers"]["mnist/mean_conf_wrong"]
        == confidence["mean_conf_wrong"]
    )
    first = studies["dropout"]["rows"][0]
    assert (
        results["sections"]["dropout"]["numbers"][f"p={first['p']:g}/vote/cls/acc"]
        == first["vote/cls/acc"]
    )
    assert f"{first['vote/cls/acc']:.4f}" in markdown


def test_the_report_opens_with_each_studys_finding(quick_report):
    """Findings first: one line per study, from its own numbers, linked to its section (HTML)
    or heading (Markdown), before the contents and the first section."""
    html = (quick_report / "index.html").read_text()
    markdown = (quick_report / "report.md").read_text()
    sections = json.loads((quick_report / "results.json").read_text())["sections"]
    found = {key: s["finding"] for key, s in sections.items() if s["finding"]}
    studies = {key.split("-")[0] for key in found}  # tutorial-mnist, tutorial-fashion-mnist
    assert studies == {study.name for study in STUDIES}  # every study states its answer
    start = html.index('<div class="findings"')
    opening = html[start : html.index("</div>", start)]
    assert re.findall(r'<li><a href="#([\w-]+)">', opening) == list(found)
    assert start < html.index('<nav class="toc">') < html.index("<section ")
    for key, finding in found.items():
        title = sections[key]["title"]
        slug = re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")
        assert f"- [{title}](#{slug}): {finding}" in markdown and f"## {title}" in markdown
    dropout = sections["dropout"]["numbers"]
    largest = max(float(k.split("/")[0][2:]) for k in dropout)
    assert f"{dropout[f'p={largest:g}/vote/cls/acc']:.4f}" in found["dropout"]


def test_conclusions_follow_the_numbers(quick_report):
    results = json.loads((quick_report / "results.json").read_text())
    rows = results["studies"]["dropout"]["rows"]
    best = max(rows, key=lambda r: r["vote/cls/acc"])
    text = " ".join(results["sections"]["dropout"]["text"])
    change = best["vote/cls/acc"] - best["original/cls/acc"]
    expected = "above" if change > 0.0005 else "below" if change < -0.0005 else "the same as"
    assert f"at p={best['p']:g}) is" in text and expected in text


@pytest.mark.slow
def test_second_run_reuses_everything_and_retrain_trains_each_model_once(
    trained_data, copy_of_finished_report, monkeypatch, capsys
):
    """One quick report (the test run's shared one, copied), then the same command (everything
    reused), then --retrain (every model trained once, not again per study, and every study
    recomputed)."""
    from mnistlab.training import many as training

    out = copy_of_finished_report
    first = json.loads((out / "report" / "results.json").read_text())
    assert main(["report", "--quick", "--seeds", "1", "--out", str(out)]) == 0
    assert capsys.readouterr().out.count("(reused)") == len(STUDIES)
    # The header keeps the cost of the run that computed the numbers, and names what was reused.
    second = json.loads((out / "report" / "results.json").read_text())
    assert second["cost"] == first["cost"] and second["cost_computed_at"] == first["created"]
    assert second["cost_this_run"]["wall_seconds"] < first["cost"]["wall_seconds"]
    markdown = (out / "report" / "report.md").read_text()
    assert f"the run of {first['created']}, which computed these results" in markdown
    assert "no model trained or evaluated" not in markdown
    assert "| reused | " + ", ".join(s.name for s in STUDIES) in markdown
    trained = []
    original = training.fit
    monkeypatch.setattr(
        training, "fit", lambda job, bar: (trained.append(job.spec), original(job, bar))[1]
    )
    # Into a cache of its own: the shared one's entries stay as other tests (and xdist
    # workers) are using them (a replaced model file is an error to a run that uses it).
    monkeypatch.setenv("MNISTLAB_CACHE_DIR", str(out.parent / "cache"))
    assert main(["report", "--quick", "--seeds", "1", "--retrain", "--out", str(out)]) == 0
    assert trained and len(trained) == len(set(trained))
    assert "(reused)" not in capsys.readouterr().out
    retrained = json.loads((out / "report" / "results.json").read_text())
    assert retrained["cost"]["phases"]["training"]["flop"] > 0


def test_interrupted_report_leaves_no_partial_file_and_resumes(
    trained_data, copy_of_finished_report, monkeypatch, capsys
):
    """A report interrupted in its fourth study (cross) keeps the three it finished and writes
    no report; the same command resumes from there. It starts from the test run's finished
    report with the studies up to cross and the report removed: the studies after cross are
    reused on resuming, as they would be after a resumed run that had computed them."""
    import dataclasses

    from mnistlab.studies import registry

    out = copy_of_finished_report
    index = registry.names().index("cross")
    for name in [*registry.names()[: index + 1], "report"]:
        shutil.rmtree(out / name)
    original = registry.STUDIES[index]

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    unpatched, patched = registry.STUDIES, list(registry.STUDIES)
    patched[index] = dataclasses.replace(original, run=interrupted)
    monkeypatch.setattr(registry, "STUDIES", patched)
    assert main(["--quiet", "report", "--quick", "--seeds", "1", "--out", str(out)]) == 130
    assert "run the same command again to resume" in capsys.readouterr().err
    assert (out / "variants" / "results.json").is_file() and (
        out / "confidence" / "results.json"
    ).is_file()
    assert not (out / "report" / "index.html").exists()
    assert not [p for p in out.rglob("*") if ".tmp" in p.name]
    monkeypatch.setattr(registry, "STUDIES", unpatched)
    assert main(["report", "--quick", "--seeds", "1", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert re.search(r"variants .*\(reused\)", printed) and re.search(
        r"confidence .*\(reused\)", printed
    )
    assert not re.search(r"cross .*\(reused\)", printed)


PROBE = """<script>window.addEventListener('load', () => {
  const images = [...document.images];
  const loaded = images.filter(i => i.complete && i.naturalWidth > 0).length;
  const sections = [...document.querySelectorAll('section')].map(s => s.id).join(',');
  const links = [...document.querySelectorAll('nav.toc a')];
  const landing = links.filter(a => document.getElementById(a.hash.slice(1))).length;
  const page = document.documentElement.scrollWidth - window.innerWidth;
  const wide = [...document.querySelectorAll('.table-box')].filter(
    b => b.getBoundingClientRect().right > document.body.getBoundingClientRect().right + 1).length;
  const scales = [...document.querySelectorAll('figure')].map(f => {
    const img = f.querySelector('img');
    return f.id + ':' + (img.getBoundingClientRect().width / img.naturalWidth).toFixed(3);
  }).join(',');
  document.body.insertAdjacentHTML('beforeend',
    `<pre id="probe">images=${images.length} loaded=${loaded} sections=${sections} ` +
    `links=${links.length} landing=${landing} overflow=${page} wide=${wide} scales=${scales}</pre>`);
});</script>"""


def test_report_renders_in_a_real_browser(quick_report, tmp_path):
    browser = chromium()
    page = tmp_path / "probe.html"  # the report plus a script that reports what the browser loaded
    page.write_text((quick_report / "index.html").read_text().replace("</body>", PROBE + "</body>"))
    profile = ["--user-data-dir=" + str(tmp_path / "profile")]
    dom = subprocess.run(
        [
            browser,
            *CHROMIUM_FLAGS,
            *profile,
            "--virtual-time-budget=10000",
            "--window-size=1280,900",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    probe = re.search(
        r"images=(\d+) loaded=(\d+) sections=([\w,-]+) links=(\d+) landing=(\d+) "
        r"overflow=(-?\d+) wide=(\d+)",
        dom,
    )
    assert probe, f"the browser did not run the page: {dom[:300]!r}"
    images, loaded, sections = int(probe.group(1)), int(probe.group(2)), probe.group(3).split(",")
    assert images > 5 and loaded == images
    assert sections == expected_sections(quick_report)
    links, landing, overflow, wide = (int(probe.group(k)) for k in range(4, 8))
    assert links == len(sections) and landing == links  # every contents link lands on its section
    assert overflow <= 0, f"the page scrolls sideways by {overflow} px at 1280 px"
    assert wide == 0  # no table box wider than the text column
    _check_figure_text(quick_report, re.search(r"scales=([\w.:,-]+)", dom).group(1))
    screenshot = tmp_path / "report.png"
    subprocess.run(
        [
            browser,
            *CHROMIUM_FLAGS,
            *profile,
            "--window-size=1200,3000",
            f"--screenshot={screenshot}",
            (quick_report / "index.html").as_uri(),
        ],
        capture_output=True,
        timeout=120,
    )
    assert screenshot.stat().st_size > 50_000


SAVED_DPI = 110  # runs.save_figure's
SMALLEST_TEXT_PX = 9  # issue 25: no text smaller than about 9 px where the figure is shown


def _check_figure_text(report_dir, scales: str) -> None:
    """Every figure's smallest text, at the size the browser shows the figure, is at least
    SMALLEST_TEXT_PX, and no two panel titles overlap."""
    results = json.loads((report_dir / "results.json").read_text())
    paths = {
        f"{section.key}-figure-{n}": Path(figure.path).resolve().as_posix()
        for study in STUDIES
        for section in study.sections(
            results["studies"][study.name], report_dir.parent / study.name
        )
        for n, figure in enumerate(section.figures, 1)
    }
    shown = dict(item.split(":") for item in scales.split(","))
    assert set(shown) == set(paths)
    small, overlapping = [], []
    for figure_id, scale in shown.items():
        text = FIGURE_TEXT[paths[figure_id]]
        pixels = text["points"] * SAVED_DPI / 72 * float(scale)
        if pixels < SMALLEST_TEXT_PX:
            small.append(f"{figure_id} ({Path(paths[figure_id]).name}): {pixels:.1f} px")
        overlapping += [f"{figure_id}: {pair}" for pair in text["overlaps"]]
    assert not small, f"text smaller than {SMALLEST_TEXT_PX} px as shown: {small}"
    assert not overlapping, f"titles drawn over each other: {overlapping}"


def test_quick_report_on_real_data(
    real_data_dir, real_cache_dir, real_report_folder, tmp_path, monkeypatch
):
    """`report --quick --seeds 1` on the real data. When the notebook test ran first in this
    test run (it is marked slow, so it starts at once), it starts from the notebook's output
    folder, the same studies with the same inputs, and reuses them: the real data's quick
    report is computed once per run (by the notebook's write_report, or here)."""
    from conftest import copy_shared_folder

    monkeypatch.setenv("MNISTLAB_CACHE_DIR", str(real_cache_dir))
    out = tmp_path / "out"
    copy_shared_folder(real_report_folder, out)
    assert (
        main(
            [
                "--quiet",
                "report",
                "--quick",
                "--seeds",
                "1",
                "--data-dir",
                str(real_data_dir),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    results = json.loads((out / "report" / "results.json").read_text())
    # 2,000 images and one epoch: well above chance on both data sets.
    assert results["sections"]["tutorial-mnist"]["numbers"]["test/acc"] > 0.8
    assert results["sections"]["tutorial-fashion-mnist"]["numbers"]["test/acc"] > 0.65
