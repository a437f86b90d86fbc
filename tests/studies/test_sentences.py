"""Text written from numbers never contradicts them: the cases a small (--quick) run showed,
where the old sentences claimed what their numbers did not say."""

from mnistlab.studies.confidence import _confidence_sentence
from mnistlab.studies.morph import _morph_text


def _confidence(share_wrong_above, *, wrong=0.6, right=0.9, n_wrong=50):
    return {
        "mean_conf_wrong": wrong,
        "mean_conf_right": right,
        "share_wrong_above_0.9": share_wrong_above,
        "n_wrong": n_wrong,
    }


def test_no_wrong_answer_above_0_9_is_not_called_a_warning():
    """--quick printed '0.0% of the wrong answers are still given with confidence above 0.9,
    so a high softmax probability alone does not guarantee a right answer'."""
    none = _confidence_sentence("mnist", _confidence(0.0))
    assert "does not guarantee" not in none and "none of the wrong answers" in none
    some = _confidence_sentence("mnist", _confidence(0.12))
    assert "12.0% of the wrong answers" in some and "does not guarantee" in some
    assert "lower on average" in some
    assert "not lower on average" in _confidence_sentence("mnist", _confidence(0.1, wrong=0.95))
    assert "no wrong answers" in _confidence_sentence("mnist", _confidence(0.0, n_wrong=0))


def _morph(ends, *, sure=0.8, switches=True, visited=(4, 9)):
    pair = {
        "switches": [{"a": 0.5, "from": 9, "to": 4}] if switches else [],
        "top_probability_ends": list(ends),
        "classes_visited": list(visited),
    }
    numbers = {"blend/share_above_0.9": sure, "blend/share_above_0.99": sure / 2}
    return {"pairs": [pair, dict(pair)], "numbers": numbers}


def test_the_blend_text_says_near_1_only_when_the_ends_are():
    """--quick printed 'recovers to near 1 on both sides' when the ends were 0.43-0.9."""
    low = _morph_text(_morph([0.43, 0.9]), [0.3, 0.35], 1)
    assert "near 1" not in low and "between 0.430 and 0.900" in low
    high = _morph_text(_morph([0.999, 0.9999]), [0.3, 0.35], 1)
    assert "near 1 at both ends" in high and "most of the path" in high
    unsure = _morph_text(_morph([0.99, 0.99], sure=0.2), [0.3, 0.35], 1)
    assert "most of the path" not in unsure and "less than half of the path" in unsure
    still = _morph_text(_morph([0.99, 0.99], switches=False), [0.3, 0.35], 1)
    assert "switches in 0 of the 2 blends" in still
    third = _morph_text(_morph([0.99, 0.99], visited=(4, 7, 9)), [0.3, 0.35], 1)
    assert "2 blend(s) pass through a third class" in third
