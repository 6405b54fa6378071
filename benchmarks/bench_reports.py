"""Report benchmarks: size and time of each format for the seed MLP (718,270 parameters).

Run: ``python benchmarks/bench_reports.py``.
"""

from __future__ import annotations

import time
import tracemalloc


def main() -> None:
    import symnet

    net = symnet.explain(symnet.examples.seed_mlp())
    print(f"{'format':>9} {'bytes':>9} {'seconds':>8}")
    for fmt in ("text", "json", "latex", "markdown", "mathml", "html"):
        start = time.perf_counter()
        text = net.report(fmt)
        print(f"{fmt:>9} {len(text.encode()):>9,} {time.perf_counter() - start:>8.2f}")
    tracemalloc.start()
    net = symnet.explain(symnet.examples.seed_mlp())
    net.report("html")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"peak Python memory of explain + HTML report: {peak / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
