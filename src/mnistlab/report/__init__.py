"""The lab report: a document model and its renderers (which know no study), and the pipeline
that trains what the studies need, runs them and writes the report."""
