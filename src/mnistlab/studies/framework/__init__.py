"""The study framework: what a study is, its context, its writer, seed replicates."""
