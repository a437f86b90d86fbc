"""The lab report's document model and its renderers: they know no study and no method (the
pipeline that trains, runs the studies and writes the report is mnistlab/pipeline.py)."""
