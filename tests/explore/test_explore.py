"""The trust explorer (issue 26): the page carries what it needs, computes what Python computes,
reacts to a drawn stroke and to its sliders, and asks for nothing over the network."""

import html
import json
import re
import subprocess

import numpy as np
import pytest
from browser import CHROMIUM_FLAGS, chromium

from mnistlab.cli import main
from mnistlab.explore import page as explore_page
from mnistlab.explore.payload import decoded


@pytest.fixture(scope="module")
def explorer(tmp_path_factory, synthetic_root, shared_cache_dir):
    """The quick page on the synthetic data: (its path, its payload)."""
    from synthetic import patch_checksums

    with pytest.MonkeyPatch.context() as patch:
        root, sums = synthetic_root
        for name, file_sums in sums.items():
            patch_checksums(patch, name, file_sums)
        patch.setenv("MNISTLAB_DATA_DIR", str(root))
        patch.setenv("MNISTLAB_CACHE_DIR", str(shared_cache_dir))
        out = tmp_path_factory.mktemp("explore")
        assert main(["--quiet", "explore", "--quick", "--out", str(out)]) == 0
        path = out / "explore" / "index.html"
        text = path.read_text()
        payload = json.loads(
            re.search(r'<script id="payload" type="application/json">(.*?)</script>', text, re.S)
            .group(1)
            .replace("<\\/", "</")
        )
        yield path, payload, root


def test_the_page_is_self_contained_and_small(explorer):
    path, payload, _ = explorer
    text = path.read_text()
    assert not re.search(r"https?://|fetch\(|XMLHttpRequest|WebSocket|<link |src=", text)
    assert path.stat().st_size < 3.5 * 2**20
    assert [d["name"] for d in payload["datasets"]] == ["mnist", "fashion-mnist"]
    for d in payload["datasets"]:
        assert len(d["models"]["ensemble"]) == 2 and len(d["labels"]) == 100
        q = d["conformal"]["q"]
        assert q == sorted(q, reverse=True)  # a larger a, a smaller threshold
        assert d["ood"]["residual"]["shape"] == [128, 64]


def _open(uri: str, tmp_path) -> tuple[str, list[str]]:
    """(the DOM after the page ran, the URLs the page itself asked the network for): Chromium's
    net log, where the browser's own requests (updates, accounts) have no page initiator."""
    log = tmp_path / "net.json"
    dom = subprocess.run(
        [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
         f"--log-net-log={log}", "--dump-dom", uri],
        capture_output=True, text=True, timeout=120,
    ).stdout  # fmt: skip
    events = json.loads(log.read_text())
    names = {v: k for k, v in events["constants"]["logEventTypes"].items()}
    asked = [
        e["params"]["url"]
        for e in events["events"]
        if names[e["type"]] == "URL_REQUEST_START_JOB"
        and "url" in e.get("params", {})
        and e["params"].get("initiator") != "not an origin"
    ]
    return dom, asked


def test_a_page_that_asks_the_network_is_caught(tmp_path):
    """The check below can fail: a page with an image and a fetch from elsewhere is seen."""
    leak = tmp_path / "leak.html"
    leak.write_text(
        '<img src="http://127.0.0.1:9/a.png"><script>fetch("http://127.0.0.1:9/b")</script>'
    )
    _, asked = _open(leak.as_uri(), tmp_path)
    assert sorted(asked) == ["http://127.0.0.1:9/a.png", "http://127.0.0.1:9/b"]


def _self_test(path, tmp_path) -> dict:
    dom, asked = _open(path.as_uri() + "#selftest", tmp_path)
    assert asked == [], f"the page asked the network for {asked}"
    found = re.search(r'<pre id="selftest">(.*?)</pre>', dom, re.S)
    assert found and found.group(1), f"the page did not run its self test: {dom[-300:]!r}"
    return json.loads(html.unescape(found.group(1)))


def test_the_page_computes_what_python_computes_and_reacts(explorer, tmp_path, monkeypatch):
    from mnistlab.models.predict import predict_proba
    from mnistlab.studies.framework.context import StudyContext, trained_models

    from synthetic import patch_checksums  # noqa: F401  (the data are set up by the fixture)

    path, payload, root = explorer
    found = _self_test(path, tmp_path)
    monkeypatch.setenv("MNISTLAB_DATA_DIR", str(root))
    ctx = StudyContext(out=tmp_path, quick=True)
    for d in payload["datasets"]:
        images = decoded(d["images"]).reshape(-1, 28, 28).astype(np.float32) / 255
        # The base model: the page against Keras' predict_proba on the same images
        (model,) = [
            m.model
            for (dataset, role), m in trained_models(ctx, explore_page.model_plan(ctx)).items()
            if dataset == d["name"] and role == "base"
        ]
        expected = predict_proba(model, images[:100])
        page = np.array(found["datasets"][d["name"]]["base"])[:100]
        np.testing.assert_allclose(page, expected, atol=2e-6)
        # Ensemble members: float16 weights on the page, the same rounded weights here
        for layers, probabilities in zip(
            d["models"]["ensemble"], found["datasets"][d["name"]]["members"][1:], strict=True
        ):
            h = images[:5].reshape(5, -1).astype(np.float64)
            for layer in layers:
                h = h @ decoded(layer["w"]).astype(np.float64) + decoded(layer["b"])
                h = np.maximum(h, 0) if layer["activation"] == "relu" else h
            e = np.exp(h - h.max(axis=1, keepdims=True))
            np.testing.assert_allclose(probabilities, e / e.sum(axis=1, keepdims=True), atol=2e-6)
    stroke = found["stroke"]
    assert stroke["source"] == "drawing" and stroke["before_p"] != stroke["after_p"]
    # The conformal sets of 20 test images at three a: LAC's rule on the page's own numbers
    mnist = payload["datasets"][0]
    probabilities = np.array(found["datasets"]["mnist"]["base"])[:20]
    sizes = {}
    for alpha, sets in found["sets"].items():
        q = mnist["conformal"]["q"][mnist["conformal"]["alphas"].index(float(alpha))]
        assert sets == [np.flatnonzero(1 - p <= q).tolist() for p in probabilities]
        sizes[alpha] = sum(map(len, sets))
    assert sizes["0.01"] >= sizes["0.1"] >= sizes["0.3"] and sizes["0.01"] > 0
    assert found["flags"] == {"low": True, "high": False}  # the flag follows its threshold
    assert found["update_ms"]["K"] == 100 and found["update_ms"]["median"] > 0
    # Weight dropout's members keep 1 - p of the weights (p = 0.2 here), each its own draw
    assert found["kept_share"] == pytest.approx([0.8] * 3, abs=0.01)
    assert len(set(found["kept_share"])) == 3


def test_the_explorer_is_for_the_mlp(trained_data, tmp_path, capsys):
    assert main(["explore", "--quick", "--arch", "lenet5", "--out", str(tmp_path)]) == 2
    assert "the explorer's forward pass is the tutorial MLP's" in capsys.readouterr().err


def test_the_report_keeps_a_page_made_from_the_same_models(trained_data, tmp_path):
    """The page records what it was made of; a report (which reuses) keeps an unchanged page
    as it is, `mnistlab explore` (which does not) writes it again."""
    from dataclasses import replace

    from mnistlab.explore import page
    from mnistlab.studies.framework.context import StudyContext

    ctx = StudyContext(out=tmp_path / "out", quick=True, reuse=True)
    path = page.write(ctx)
    stamp, written = page.stamp_of(path), path.stat().st_mtime_ns
    assert stamp is not None and path.read_text().startswith("<!DOCTYPE html>\n<!-- mnistlab")
    assert page.write(ctx) == path and path.stat().st_mtime_ns == written  # kept
    page.write(replace(ctx, reuse=False))
    assert path.stat().st_mtime_ns != written and page.stamp_of(path) == stamp  # written again
    assert page.stamp_of(tmp_path / "missing.html") is None
