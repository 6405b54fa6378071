"""Report benchmarks: size and time of each format for the seed MLP (718,270 parameters).

Run: ``python benchmarks/bench_reports.py``.
"""

from __future__ import annotations

import time
import tracemalloc


def main() -> dict[str, float]:
    import symnet

    net = symnet.explain(symnet.examples.seed_mlp())
    print(f"{'format':>9} {'bytes':>9} {'seconds':>8}")
    figures = {}
    for fmt in ("text", "json", "latex", "markdown", "mathml", "html"):
        start = time.perf_counter()
        text = net.report(fmt)
        seconds = time.perf_counter() - start
        figures[f"{fmt}_bytes"], figures[f"{fmt}_s"] = len(text.encode()), seconds
        print(f"{fmt:>9} {len(text.encode()):>9,} {seconds:>8.2f}")
    tracemalloc.start()
    net = symnet.explain(symnet.examples.seed_mlp())
    net.report("html")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"peak Python memory of explain + HTML report: {peak / 2**20:.0f} MiB")
    return figures


if __name__ == "__main__":
    main()
