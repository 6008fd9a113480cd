#!/usr/bin/env python3
"""Shares of a histogram's observations within 5 ms and 10 ms between two scrapes of
/metrics: by default pathfinder_http_request_duration_seconds for ROUTE (from the
request reaching the console to its answer; queueing in the kernel and the client
not counted), or any histogram and label selector.

  bench-server-share.py BEFORE AFTER ROUTE                -> "| 97.1% | 99.5% |"
  bench-server-share.py BEFORE AFTER METRIC 'label="x"'   -> the same for that series

95% or more within a bound means a p95 at or under it."""
import re, sys

before_file, after_file = sys.argv[1], sys.argv[2]
if len(sys.argv) > 4:
    metric, selector = sys.argv[3], sys.argv[4]
else:
    metric, selector = "pathfinder_http_request_duration_seconds", f'route="{sys.argv[3]}"'


def buckets(path):
    out = {}
    for line in open(path):
        m = re.match(re.escape(metric) + r'_bucket\{(.*)\} (\S+)', line)
        if m and selector in m.group(1):
            le = re.search(r'le="([^"]+)"', m.group(1)).group(1)
            out[le] = out.get(le, 0) + float(m.group(2))
    return out


before, after = buckets(before_file), buckets(after_file)
delta = {le: after.get(le, 0) - before.get(le, 0) for le in after}
total = delta.get("+Inf", 0)
share = lambda le: f"{100 * delta.get(le, 0) / total:.1f}%" if total else "–"
print(f"| {share('0.005')} | {share('0.01')} |")
