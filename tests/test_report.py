"""The HTML report: self-contained, images embedded, tables of the study."""

from __future__ import annotations

import base64
import re

import matplotlib
import numpy as np

matplotlib.use("Agg")

import hyperzoom as hz

SPACE = hz.Space(
    lr=hz.LogUniform(1e-4, 1.0),
    beta=hz.InvLogUniform(0.9, 0.999),
    act=hz.Choice(["relu", "tanh"]),
)


def flaky(lr: float, beta: float, act: str) -> float:
    if lr > 0.5:
        raise FloatingPointError("diverged")
    return (
        (np.log10(lr) + 2.5) ** 2
        + (np.log10(1 - beta) + 2) ** 2
        + 0.1 * (act == "tanh")
    )


def test_report_is_self_contained_with_images_and_tables(tmp_path) -> None:
    r = hz.search(flaky, SPACE, budget=120, rng=0x5EED)
    out = hz.write_report(r, tmp_path / "report.html", title="a <study>")
    text = out.read_text()
    assert text.startswith("<!DOCTYPE html>")
    assert "<title>a &lt;study&gt;</title>" in text
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
    assert len(images) == 3
    for data in images:
        assert base64.b64decode(data)[:8] == b"\x89PNG\r\n\x1a\n"
    # nothing fetched from elsewhere
    assert not re.search(r'(src|href)="(?!data:)', text)
    assert "Best configuration" in text
    assert text.count("<tr><td>") >= 10 + len(r.regions)
    assert "FloatingPointError: diverged" in text
    assert f"{r.trials.n_failed} trials failed" in text
