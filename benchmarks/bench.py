"""Run the benchmark: python benchmarks/bench.py [--quick] [--no-report] (same as `mnistlab bench`)."""

import sys

from mnistlab.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
