"""The trust explorer: one page where every method answers for a drawn digit (page.py)."""
