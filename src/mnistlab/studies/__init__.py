"""The studies: one module each, listed in registry.py (see study.py for what a study is)."""
