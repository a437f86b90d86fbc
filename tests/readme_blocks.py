"""The README's code blocks that tests run as written."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def method_blocks() -> tuple[str, str]:
    """The "Add a method" section's (block that defines and registers the method, block that
    uses it)."""
    section = README.read_text().split("## Add a method", 1)[1].split("\n## ", 1)[0]
    define, use = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    return define, use
