"""StudyWriter: results.json with the study's provenance, and reuse only of results made from
the same inputs with every figure there (a damaged or foreign file is computed again)."""

from mnistlab.data.letters import letters
from mnistlab.studies.framework.context import StudyContext
from mnistlab.studies.framework.writer import StudyWriter
from mnistlab.studies.shift.figures import letters_gallery


def _written(ctx, options):
    writer = StudyWriter(ctx, "probe", options, ("mnist",))
    letters_gallery(writer, letters(40, 0)[0])
    return writer.finish({"numbers": [1, 2]}, ["a line"])


def test_results_are_reused_only_when_made_from_the_same_inputs(synthetic_data, tmp_path):
    ctx = StudyContext(out=tmp_path / "out", quick=True, reuse=True)
    document = _written(ctx, {"k": 1})
    folder = tmp_path / "out" / "probe"
    assert (folder / "letters.png").stat().st_size > 0 and document["reused"] is False
    assert document["data_sha256"]["mnist"] and document["environment"]["versions"]
    again = StudyWriter(ctx, "probe", {"k": 1}, ("mnist",)).reusable()
    assert again["reused"] is True and again["numbers"] == [1, 2]
    assert StudyWriter(ctx, "probe", {"k": 2}, ("mnist",)).reusable() is None
    other_seed = StudyContext(out=ctx.out, quick=True, reuse=True, seed=1)
    assert StudyWriter(other_seed, "probe", {"k": 1}, ("mnist",)).reusable() is None
    not_asked = StudyContext(out=ctx.out, quick=True)
    assert StudyWriter(not_asked, "probe", {"k": 1}, ("mnist",)).reusable() is None


def test_a_missing_figure_or_a_damaged_file_is_computed_again(synthetic_data, tmp_path):
    ctx = StudyContext(out=tmp_path / "out", quick=True, reuse=True)
    _written(ctx, {})
    folder = tmp_path / "out" / "probe"
    (folder / "letters.png").unlink()
    assert StudyWriter(ctx, "probe", {}, ("mnist",)).reusable() is None
    _written(ctx, {})
    (folder / "results.json").write_text('{"study": "probe", "finger')
    assert StudyWriter(ctx, "probe", {}, ("mnist",)).reusable() is None
