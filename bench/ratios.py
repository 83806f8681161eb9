"""Print each benchmark group's medians as ratios to its baseline.

Usage: python bench/ratios.py RESULTS.json

A group's baseline is the benchmark whose name contains "baseline". When benchmarks
record ``extra_info["configs"]`` (how many configurations one call makes), ratios are
per configuration.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict


def main(path: str) -> None:
    with open(path) as fh:
        data = json.load(fh)
    groups = defaultdict(list)
    for b in data["benchmarks"]:
        groups[b["group"]].append(b)
    for group, items in groups.items():
        base = next((b for b in items if "baseline" in b["name"]), None)
        print(f"\n[{group}]")
        for b in items:
            med = b["stats"]["median"]
            per = b.get("extra_info", {}).get("configs")
            unit = med / per if per else med
            line = f"  {b['name']:<60} median {med * 1e3:10.3f} ms"
            if per:
                line += f"  ({unit * 1e6:.3f} us/config)"
            if base is not None and b is not base:
                bmed = base["stats"]["median"]
                bper = base.get("extra_info", {}).get("configs")
                bunit = bmed / bper if bper else bmed
                line += f"  -> {bunit / unit:8.1f}x faster than baseline"
            print(line)


if __name__ == "__main__":
    main(sys.argv[1])
