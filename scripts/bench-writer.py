#!/usr/bin/env python3
"""A writer beside `scripts/bench reads`' readers: audited changes (one user's status
back and forth) at a steady RATE a second, each sent at its scheduled time by one
of a few keep-alive connections (a change that is late does not push the next one
back). Prints one Markdown row: latency percentiles (ms) and the rate achieved."""
import http.client, os, sys, threading, time, urllib.parse

base = urllib.parse.urlparse(os.environ["ORIGIN"])
rate, seconds = float(os.environ.get("RATE", "200")), float(os.environ["SECONDS"])
headers = {
    "Content-Type": "application/x-www-form-urlencoded",
    "Origin": os.environ["ORIGIN"],
    "Cookie": "pf_session=" + os.environ["TOKEN"],
}
target, start = os.environ["TARGET"], time.monotonic() + 0.2
total = int(rate * seconds)
lock, next_i, took, errors = threading.Lock(), [0], [], [0]


def work():
    conn = http.client.HTTPConnection(base.hostname, base.port, timeout=30)
    while True:
        with lock:
            i = next_i[0]
            next_i[0] += 1
        if i >= total:
            return
        wait = start + i / rate - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        status = "suspended" if i % 2 == 0 else "active"
        t = time.monotonic()
        try:
            conn.request("POST", "/api/set_user_status", f"user_id={target}&status={status}", headers)
            r = conn.getresponse()
            r.read()
            ok = r.status == 200
        except OSError:
            conn, ok = http.client.HTTPConnection(base.hostname, base.port, timeout=30), False
        with lock:
            took.append(time.monotonic() - t)
            errors[0] += 0 if ok else 1


threads = [threading.Thread(target=work) for _ in range(6)]
for t in threads:
    t.start()
for t in threads:
    t.join()
elapsed = time.monotonic() - start
took.sort()
pct = lambda p: took[min(len(took) - 1, int(p * len(took)))] * 1000
print(f"| {os.environ.get('NAME', 'writer')} | 1–6 | {pct(0.5):.2f} | {pct(0.95):.2f} | {pct(0.99):.2f} "
      f"| {len(took) / elapsed:.0f} | {errors[0]} |")
