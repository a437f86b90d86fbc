"""The README as a guide: short, every command it shows exists as written, every link resolves.

The longer commands run elsewhere (the Add a study / Add a method examples in their own tests,
the report in test_report.py); here each `mnistlab ...` the README shows is parsed by the real
parser, each `make` target is in the Makefile, and each relative link names a file."""

import re
import shlex
from pathlib import Path

import pytest

from mnistlab.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
PLACEHOLDERS = {"DIR": "somewhere", "FILE": "grid.toml", "N": "2", "NAME": "mnist"}


def readme_commands(prefix: str) -> list[str]:
    inline = re.findall(r"`(" + prefix + r" [^`]*)`", README)
    blocks = [
        line.split("#", 1)[0].strip()
        for block in re.findall(r"```\n(.*?)```", README, flags=re.S)
        for line in block.splitlines()
    ]
    found = [c for c in inline + blocks if c.startswith(prefix + " ")]
    # per-class is the "Add a study" example: tests/studies/test_add_a_study.py runs it once added
    skip = ("COMMAND", "...", "per-class")
    return sorted({c.strip() for c in found if not any(s in c for s in skip)})


def test_the_readme_is_a_guide_of_at_most_400_lines():
    assert len(README.splitlines()) <= 400
    sections = re.findall(r"^## (.+)$", README, flags=re.M)
    assert sections[:3] == ["Quick start", "Where the data comes from", "What the report finds"]
    assert {"The commands", "Add a study", "Add a method", "Layout"} <= set(sections)
    assert not re.search(r"20\d\d-\d\d-\d\d", README), "dated measurements go to docs/"


@pytest.mark.parametrize("command", readme_commands("mnistlab"))
def test_every_mnistlab_command_in_the_readme_parses(command):
    argv = [PLACEHOLDERS.get(word, word) for word in shlex.split(command)[1:]]
    args = build_parser().parse_args(argv)  # argparse exits 2 on an unknown command or flag
    assert callable(args.func)


def test_the_readme_shows_every_command():
    shown = {c.split()[1] for c in readme_commands("mnistlab") if len(c.split()) > 1}
    parser = build_parser()
    (subparsers,) = [a for a in parser._actions if isinstance(a.choices, dict)]
    assert set(subparsers.choices) <= shown, sorted(set(subparsers.choices) - shown)


@pytest.mark.parametrize("command", readme_commands("make"))
def test_every_make_target_in_the_readme_exists(command):
    target = command.split()[1]
    assert re.search(rf"^{re.escape(target)}:", (ROOT / "Makefile").read_text(), flags=re.M)


def test_every_relative_link_of_the_guide_resolves():
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        for link in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text()):
            assert (page.parent / link).exists(), f"{page.relative_to(ROOT)} links to {link}"
