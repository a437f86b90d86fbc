"""Figures drawn by forked processes (mnistlab.studies.framework.drawing): the same files as
drawn in place, every figure on disk after wait(), a failed child's figure drawn by the parent,
and no fork where it is unsafe."""

import subprocess
import sys
import textwrap
import threading

import pytest

from mnistlab.studies.framework import drawing

# Run in a fresh process: forking needs a single thread, and pytest's workers have more.
SCRIPT = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from mnistlab import plots
    from mnistlab.runs import save_figure
    from mnistlab.studies.framework import drawing

    out, fail_in_child = Path(sys.argv[1]), sys.argv[2] == "fail"
    parent, forks = os.getpid(), []
    real_fork = os.fork

    def counted_fork():
        forks.append(1)
        return real_fork()

    def failing_in_child(fig, path):
        if fail_in_child and os.getpid() != parent:
            raise OSError("the child cannot write")
        return save_figure(fig, path)

    os.fork, drawing.save_figure = counted_fork, failing_in_child

    def figure(k):
        fig, axes = plots.new_axes(2, 1, width=3, height=2)
        axes[0, 0].plot(range(10), [k * i for i in range(10)])
        axes[0, 1].set_title(f"figure {k}")
        return fig

    assert drawing.can_fork(), "a single-threaded process without JAX may fork"
    saver = drawing.FigureSaver()
    for k in range(3):
        saver.save(figure(k), out / f"forked-{k}.png")
    saver.wait()
    for k in range(3):
        save_figure(figure(k), out / f"in-place-{k}.png")
    print(len(forks), len(plots.pyplot().get_fignums()))
    """
)


@pytest.mark.parametrize("children", ["succeed", "fail"])
def test_forked_figures_are_the_figures_drawn_in_place(tmp_path, children):
    """Three figures: the first two drawn by children, the newest by the parent in wait().
    A child that fails leaves its figure to the parent, which draws it."""
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path), children],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    forks, open_figures = map(int, run.stdout.split())
    assert forks == 2 and open_figures == 0  # every figure closed in the parent too
    for k in range(3):
        forked = (tmp_path / f"forked-{k}.png").read_bytes()
        assert forked == (tmp_path / f"in-place-{k}.png").read_bytes()


def test_no_fork_beside_another_thread_or_jax_or_off_linux(monkeypatch):
    stop = threading.Event()
    worker = threading.Thread(target=stop.wait)
    worker.start()
    try:
        assert not drawing.can_fork()  # the fork would copy this thread's locks, not it
    finally:
        stop.set()
        worker.join()
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    monkeypatch.setattr(drawing.os, "cpu_count", lambda: 2)
    monkeypatch.delitem(sys.modules, "jax", raising=False)
    assert drawing.can_fork()  # the other conditions hold: each alone must forbid it
    monkeypatch.setattr(sys, "platform", "darwin")
    assert not drawing.can_fork()  # macOS's system libraries are not fork-safe
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setitem(sys.modules, "jax", sys)  # any module: JAX is imported
    assert not drawing.can_fork()


def test_where_forking_is_unsafe_each_figure_is_saved_at_once(tmp_path, monkeypatch):
    """As before the forks: nothing held back, so a study that fails after a figure leaves
    it on disk and no figure open (a notebook would show an open one)."""
    from mnistlab import plots

    monkeypatch.setattr(drawing, "can_fork", lambda: False)
    saver = drawing.FigureSaver()
    fig, axes = plots.new_axes()
    axes[0, 0].plot([0, 1], [1, 0])
    saver.save(fig, tmp_path / "now.png")
    assert (tmp_path / "now.png").stat().st_size > 0
    assert fig.number not in plots.pyplot().get_fignums()
