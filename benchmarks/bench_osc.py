"""OSC message in -> frame shown (p50/p95, sent from another process) and a 10,000 msg/s flood
against the window's heartbeat and memory; same as `gan-explorer bench osc`."""

import sys

from gan_explorer.bench import run_benchmark

if __name__ == "__main__":
    run_benchmark("osc", quick="--quick" in sys.argv)
