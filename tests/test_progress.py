"""Progress on long work (mnistlab.progress): the time left, said once it is measured, and
plain lines without a terminal."""

from mnistlab import progress


def _quiet_clock(monkeypatch):
    """A clock the test moves, and output as under a pipe or in CI."""
    now = [0.0]
    monkeypatch.setattr(progress.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(progress, "enabled", lambda: False)
    monkeypatch.setattr(progress, "_quiet", False)  # an earlier command's --quiet
    return now


def test_long_work_says_how_long_and_reports_progress_without_a_terminal(monkeypatch, capsys):
    """Issue 27: `dropout --members 1000000` ran 4.4 hours with no estimate, and printed
    nothing when there was no terminal."""
    now = _quiet_clock(monkeypatch)
    with progress.task("members", 1000) as bar:
        for _ in range(100):  # 1 step per second: 900 s to go after 100
            now[0] += 1.0
            bar.advance(1)
    err = capsys.readouterr().err.splitlines()
    assert err[0] == (
        "members: about 17 min left at the measured speed (4 of 1,000 in 4 s); "
        "Ctrl-C stops it, finished work is kept"
    )
    assert "members: 30 of 1,000 (3%), 30 s, about 16 min left" in err
    assert len(err) == 1 + 100 // 30  # the estimate once, then a line every 30 s
    progress.set_quiet(True)
    try:
        with progress.task("members", 1000) as bar:
            for _ in range(100):
                now[0] += 1.0
                bar.advance(1)
    finally:
        progress.set_quiet(False)
    assert capsys.readouterr().err == ""  # --quiet: nothing


def test_short_work_says_nothing_extra(monkeypatch, capsys):
    now = _quiet_clock(monkeypatch)
    with progress.task("quick", 10) as bar:
        for _ in range(10):
            now[0] += 0.5
            bar.advance(1)
    assert capsys.readouterr().err == ""


def test_the_estimate_leaves_out_the_start_up(monkeypatch, capsys):
    """Seen on a GPU: 16 models trained at once, their first epochs (compiling) done together
    after 10 s, then 0.1 s an epoch. '1 of 660 in 10 s' was said as 1.8 hours; the speed is
    now measured from the end of the first step on."""
    now = _quiet_clock(monkeypatch)
    with progress.task("train 66 models", 660) as bar:
        now[0] += 10.0
        for _ in range(16):
            bar.advance(1)
        for _ in range(660 - 16):
            now[0] += 0.1
            bar.advance(1)
    said = capsys.readouterr().err.splitlines()[0]
    assert said.startswith("train 66 models: about ") and "(47 of 660 in 13 s)" in said
    estimate = int(said.split("about ")[1].split(" s left")[0])
    assert 61 <= estimate <= 80  # 61.3 s were left; steps in the start-up's last 0.5 s count as it
