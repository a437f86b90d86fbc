"""Headless Chromium for the tests that look at a page as a person would."""

import shutil

import pytest


def chromium() -> str:
    """The browser's path; the test is skipped where there is none."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    pytest.skip(
        "no Chromium on this machine: install Debian's 'chromium' package (.ci/run does) to run this test"
    )


CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
]
