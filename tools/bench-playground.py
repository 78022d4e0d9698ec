#!/usr/bin/env python3
"""Measures the playground's two targets of issue 13 against a running `backprop playground` server, over its JSON
API and event stream exactly as the page uses them (the page redraws once per event):

  1. spirals: one session on the spiral data with the default network, played at the page's default speed (25 steps
     per event) until an event's test loss is below 0.1; prints the seconds and the events (redraws) per second;
  2. many sessions: N sessions (default 20, on circle, xor, gauss and spiral in turn) all playing at once for a while;
     prints each stream's events per second, the slowest first.

Start the server first, on a quiet machine:
    backprop playground --port 5099 &
    /usr/bin/python3 tools/bench-playground.py [--port 5099] [--sessions 20] [--seconds 10] [--steps 25]
Standard library only. Prints one JSON object with --json.
"""
import argparse, json, threading, time, urllib.request

def post(base, path, body=None):
    data = json.dumps(body or {}).encode()
    req = urllib.request.Request(base + path, data=data, method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())

def stream(base, session, steps, on_event, stop):
    """Reads the session's event stream, calling on_event(frame) per event until stop() is true."""
    with urllib.request.urlopen(f"{base}/api/sessions/{session}/events?steps={steps}", timeout=60) as r:
        for raw in r:
            line = raw.decode().strip()
            if not line.startswith("data:"):
                continue
            on_event(json.loads(line[5:])["frame"])
            if stop():
                return

def spirals(base, steps, limit):
    session = post(base, "/api/sessions", {"dataset": "spiral"})["id"]
    events, start, reached = [0], time.monotonic(), [None]
    def on_event(frame):
        events[0] += 1
        if reached[0] is None and frame["testLoss"] < 0.1:
            reached[0] = time.monotonic() - start
    stream(base, session, steps, on_event, lambda: reached[0] is not None or time.monotonic() - start > limit)
    elapsed = time.monotonic() - start
    return {"seconds_to_test_loss_below_0_1": reached[0], "redraws_per_s": events[0] / elapsed}

def many(base, sessions, seconds, steps):
    names = ["circle", "xor", "gauss", "spiral"]
    ids = [post(base, "/api/sessions", {"dataset": names[i % 4], "seed": i})["id"] for i in range(sessions)]
    counts, errors = [0] * sessions, []
    start = time.monotonic()
    def run(i):
        def on_event(frame):
            counts[i] += 1
        try:
            stream(base, ids[i], steps, on_event, lambda: time.monotonic() - start > seconds)
        except Exception as e:   # a failed stream is a result, not a crash of the measurement
            errors.append(f"session {i}: {e}")
    threads = [threading.Thread(target=run, args=(i,)) for i in range(sessions)]
    for t in threads: t.start()
    for t in threads: t.join()
    rates = sorted(c / seconds for c in counts)
    return {"sessions": sessions, "seconds": seconds, "slowest_redraws_per_s": rates[0],
            "median_redraws_per_s": rates[len(rates) // 2], "fastest_redraws_per_s": rates[-1], "errors": errors}

def main():
    p = argparse.ArgumentParser(description="the playground's spiral and many-session targets (issue 13)")
    p.add_argument("--port", type=int, default=5099)
    p.add_argument("--sessions", type=int, default=20)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--steps", type=int, default=25, help="steps per event (the page's default speed is 25)")
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    base = f"http://127.0.0.1:{a.port}"
    result = {"spirals": spirals(base, a.steps, 60), "many": many(base, a.sessions, a.seconds, a.steps)}
    if a.json:
        print(json.dumps(result))
        return
    s, m = result["spirals"], result["many"]
    reached = "not within 60 s" if s["seconds_to_test_loss_below_0_1"] is None else f"{s['seconds_to_test_loss_below_0_1']:.1f} s"
    print(f"spirals: test loss < 0.1 after {reached}, {s['redraws_per_s']:.1f} redraws/s (targets: < 10 s, >= 10 redraws/s)")
    print(f"{m['sessions']} sessions at once for {m['seconds']:.0f} s: slowest {m['slowest_redraws_per_s']:.1f}, median "
          f"{m['median_redraws_per_s']:.1f}, fastest {m['fastest_redraws_per_s']:.1f} redraws/s, {len(m['errors'])} errors "
          "(target: none below 5 redraws/s, no errors)")
    for e in m["errors"]:
        print("  " + e)

if __name__ == "__main__":
    main()
