#!/usr/bin/python3
"""Check a `kvsm run --timeline` file (docs/timeline.md) with a real JSON parser.

usage: timeline_check.py TIMELINE [--stats STDERR] [--expect-dropped] [--min-switches N]

Structure: trace-event JSON as the Perfetto UI loads it, one named track per VP, every
VTL span closed (B/E balanced, E matching its B), ts never going back on a track or a
counter. With --stats (kvsm's --stats output), the events agree with kvsm's counters.
Prints what it found; exits 1 with one line per problem.
"""
import json
import re
import sys
from collections import defaultdict


def fail(problems):
    for p in problems:
        print("timeline:", p)
    sys.exit(1)


def parse_stats(path):
    stats = {}
    for line in open(path, encoding="utf-8", errors="replace"):
        m = re.match(r"^  (\S.*?)\s+(\d+)$", line)
        if m:
            stats[m.group(1)] = int(m.group(2))
    return stats


def main(argv):
    path, stats_path, expect_dropped, min_switches = argv[0], None, False, 0
    i = 1
    while i < len(argv):
        if argv[i] == "--stats":
            stats_path, i = argv[i + 1], i + 2
        elif argv[i] == "--expect-dropped":
            expect_dropped, i = True, i + 1
        elif argv[i] == "--min-switches":
            min_switches, i = int(argv[i + 1]), i + 2
        else:
            fail(["unknown argument " + argv[i]])

    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    problems = []
    if not isinstance(doc, dict) or not isinstance(doc.get("traceEvents"), list):
        fail(["not a JSON object with a traceEvents array"])
    if doc.get("displayTimeUnit") not in ("ms", "ns"):
        problems.append("displayTimeUnit is missing or not ms/ns")
    other = doc.get("otherData", {})
    dropped = other.get("dropped")
    if not isinstance(dropped, int):
        problems.append("otherData.dropped is missing")

    thread_names, process_names = {}, set()
    last_ts = {}
    stacks = defaultdict(list)
    spans = defaultdict(int)
    counters = {}			# counter name -> last args
    by_cat = defaultdict(list)
    for n, e in enumerate(doc["traceEvents"]):
        where = "event %d (%s)" % (n, e.get("name"))
        ph = e.get("ph")
        if ph not in ("M", "B", "E", "i", "C"):
            problems.append("%s: phase %r" % (where, ph))
            continue
        if not isinstance(e.get("pid"), int) or not isinstance(e.get("tid"), int) or \
           not isinstance(e.get("name"), str):
            problems.append("%s: pid, tid or name missing" % where)
            continue
        track = (e["pid"], e["tid"])
        if ph == "M":
            if e["name"] == "thread_name":
                thread_names[track] = e["args"]["name"]
            elif e["name"] == "process_name":
                process_names.add(e["pid"])
            continue
        ts = e.get("ts")
        if not isinstance(ts, (int, float)) or ts < 0:
            problems.append("%s: bad ts %r" % (where, ts))
            continue
        key = ("C", e["pid"], e["name"]) if ph == "C" else track
        if ts < last_ts.get(key, 0):
            problems.append("%s: ts %s goes back on %s" % (where, ts, key))
        last_ts[key] = ts
        if ph == "C":
            if not e.get("args") or not all(isinstance(v, int) for v in e["args"].values()):
                problems.append("%s: counter without integer args" % where)
            counters[e["name"]] = e.get("args", {})
            continue
        if track not in thread_names:
            problems.append("%s: track %s has no thread_name" % (where, track))
        if ph == "B":
            if not re.fullmatch(r"VTL[0-2]", e["name"]):
                problems.append("%s: span is not named VTL0..VTL2" % where)
            stacks[track].append(e["name"])
            spans[track] += 1
        elif ph == "E":
            if not stacks[track] or stacks[track].pop() != e["name"]:
                problems.append("%s: E without its B" % where)
        else:
            if e.get("s") not in ("t", "p", "g") or not isinstance(e.get("args", {}), dict):
                problems.append("%s: instant without scope or args" % where)
            by_cat[e.get("cat")].append(e)
    for track, st in stacks.items():
        if st:
            problems.append("track %s ends with open spans %s" % (track, st))
    for track, name in thread_names.items():
        if not re.fullmatch(r"VP\d+", name):
            problems.append("track %s is named %r" % (track, name))
    if not process_names:
        problems.append("no process_name")

    switches = by_cat["vtl"]
    entries = [e for e in switches if e["name"] in ("interrupt entry", "intercept entry")]
    intercepts = defaultdict(int)
    for e in by_cat["intercept"]:
        intercepts[e["name"]] += 1
    # Each track opens one span, then one per switch on it.
    per_track = defaultdict(int)
    for e in switches:
        per_track[(e["pid"], e["tid"])] += 1
    if not expect_dropped:
        for track, nspans in spans.items():
            if nspans != per_track[track] + 1:
                problems.append("track %s: %d spans for %d switches" % (track, nspans, per_track[track]))
    totals = defaultdict(int)
    for args in counters.values():
        for k, v in args.items():
            totals[k] += v
    print("timeline: %d events, %d VP tracks, %d VTL switches (%d for interrupts/intercepts), "
          "%d hypercalls, intercepts %s, exits %s, dropped %s" %
          (len(doc["traceEvents"]), len(thread_names), len(switches), len(entries),
           len(by_cat["hypercall"]), dict(intercepts), dict(totals), dropped))

    if expect_dropped and not (dropped and by_cat["kvsm"] and by_cat["kvsm"][0]["name"] == "timeline full"):
        problems.append("expected dropped events and a 'timeline full' event")
    if len(switches) < min_switches:
        problems.append("%d VTL switches, expected at least %d" % (len(switches), min_switches))
    if stats_path:
        stats = parse_stats(stats_path)
        if dropped:
            problems.append("events were dropped: counts cannot match --stats")
        want = [
            ("VTL switches", len(switches)),
            ("VTL entries for interrupts", len(entries)),
            ("GPA intercepts delivered", intercepts["GPA intercept"]),
            ("MSR intercepts delivered", intercepts["MSR intercept"]),
            ("I/O intercepts delivered", intercepts["I/O intercept"]),
            ("exit: hypercall", len(by_cat["hypercall"])),
            ("exit: hypercall", totals["hypercall"]),
            ("exit: port I/O", totals["io"]),
            ("exit: MMIO", totals["mmio"]),
        ]
        for name, got in want:
            if name not in stats:
                problems.append("--stats has no '%s'" % name)
            elif stats[name] != got:
                problems.append("'%s' is %d in --stats, %d in the timeline" % (name, stats[name], got))
    if problems:
        fail(problems)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        fail([__doc__.strip().splitlines()[2]])
    main(sys.argv[1:])
