#!/usr/bin/env bash
# scripts/kernel-table.sh CHECK.json...: the feature x kernel table of
# docs/kernels.md from `netfence -j check` outputs (test-kernels writes one
# per guest to build/kernels/out/VER/check.json), in markdown on stdout:
# one row per probe (with the Linux version that brought it), one column
# per kernel (in the order given), then every
# line that is not "present", with check's own words.
set -euo pipefail
[[ $# -gt 0 ]] || { echo "usage: $0 CHECK.json..." >&2; exit 2; }
exec python3 - "$@" <<'PY'
import json, sys

runs = []
for path in sys.argv[1:]:
    with open(path) as f:
        runs.append(json.load(f))
mark = {"present": "yes", "warning": "warn", "missing": "**NO**",
        "unchecked": "?", "skipped": "skip"}
rows, seen = [], set()
for r in runs:
    for p in r["probes"]:
        if p["name"] not in seen:
            seen.add(p["name"])
            rows.append((p["name"], p["title"], p.get("since")))
cols = [r["kernel"] for r in runs]
print("| feature | since | " + " | ".join(cols) + " |")
print("| --- | --- | " + " | ".join("---" for _ in cols) + " |")
for name, title, since in rows:
    cells = []
    for r in runs:
        st = next((p["status"] for p in r["probes"] if p["name"] == name), None)
        cells.append(mark.get(st, st) if st else "-")
    print("| " + title.replace("|", "\\|") + " | " + (since or "") + " | " +
          " | ".join(cells) + " |")
print()
print("| overall | | " + " | ".join("ok" if r["ok"] else "**missing: " +
      ", ".join(r["missing"]) + "**" for r in runs) + " |")
print()
for r in runs:
    odd = [p for p in r["probes"] if p["status"] != "present"]
    if not odd:
        continue
    print("- %s (libbpf %s, %s binary):" % (r["kernel"], r.get("libbpf", "?"),
          "static" if r.get("static") else "dynamic"))
    for p in odd:
        print("  - %s %s: %s" % (p["status"], p["title"], p["detail"]))
PY
