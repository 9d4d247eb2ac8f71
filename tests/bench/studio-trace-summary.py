#!/usr/bin/env python3
"""Summarises the Chromium traces written by StudioStartupProfile (tests/bench/studio-profile.sh): for each phase,
the renderer main thread's busy time, what it spent it on (script evaluation per file, function calls per file,
compilation, garbage collection, style and layout, WebAssembly) and how busy it was over time."""
import collections
import glob
import json
import os
import sys


def main(folder):
    for path in sorted(glob.glob(os.path.join(folder, "*.trace.json"))):
        with open(path) as f:
            events = json.load(f)["traceEvents"]
        names = {(e["pid"], e["tid"]): e["args"]["name"] for e in events if e.get("ph") == "M" and e.get("name") == "thread_name"}
        mains = [k for k, v in names.items() if v == "CrRendererMain"]
        # The page's renderer: the main thread with the most work.
        busy = collections.Counter()
        for e in events:
            if e.get("ph") == "X" and e.get("name") == "RunTask" and (e["pid"], e["tid"]) in mains:
                busy[(e["pid"], e["tid"])] += e.get("dur", 0)
        if not busy:
            print(f"== {os.path.basename(path)}: no renderer main thread")
            continue
        main_thread = busy.most_common(1)[0][0]
        mine = [e for e in events if (e.get("pid"), e.get("tid")) == main_thread and e.get("ph") == "X"]
        start = min(e["ts"] for e in events if e.get("ts"))
        end = max(e["ts"] + e.get("dur", 0) for e in mine)
        print(f"== {os.path.basename(path)[:-11]}: {(end - start) / 1e6:.2f} s traced, main thread busy {busy[main_thread] / 1e6:.2f} s")
        sums = collections.defaultdict(collections.Counter)
        for e in mine:
            n, d, data = e["name"], e.get("dur", 0), e.get("args", {}).get("data", {}) or {}
            url = (data.get("url") or "").split("/studio/")[-1]
            if n == "EvaluateScript":
                sums["evaluate script"][url or "(inline)"] += d
            elif n == "FunctionCall":
                sums["function calls (top level)"][url or "(inline)"] += d
            elif n in ("v8.compile", "v8.compileModule", "V8.CompileCode", "v8.produceCache", "v8.produceModuleCache"):
                sums["compile"][n] += d
            elif "GC" in n:
                sums["garbage collection"][n] += d
            elif n in ("UpdateLayoutTree", "Layout", "Paint", "PrePaint", "Layerize", "ParseHTML", "ParseAuthorStyleSheet", "ScheduleStyleRecalculation"):
                sums["document"][n] += d
            elif "wasm" in n.lower():
                sums["webassembly"][n] += d
        for group, counter in sums.items():
            total = sum(counter.values())
            top = ", ".join(f"{k} {v / 1e3:.0f}" for k, v in counter.most_common(6))
            print(f"  {group:27} {total / 1e3:7.0f} ms: {top}")
        # Busy share per 500 ms of the phase: is the main thread the bottleneck?
        slices = collections.Counter()
        for e in mine:
            if e["name"] == "RunTask":
                t, d = e["ts"] - start, e.get("dur", 0)
                while d > 0:
                    i = int(t // 500_000)
                    part = min(d, (i + 1) * 500_000 - t)
                    slices[i] += part
                    t += part
                    d -= part
        print("  busy per 500 ms: " + " ".join(f"{min(100, slices[i] * 100 // 500_000):3d}" for i in range(int((end - start) // 500_000) + 1)))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/tmp/drw-studio-profile")
