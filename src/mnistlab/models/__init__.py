"""The networks: their definitions (networks.py), the patch-based conv layers (layers.py), and
prediction in batches (predict.py)."""
