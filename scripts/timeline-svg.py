#!/usr/bin/python3
"""Render a `kvsm run --timeline` file as SVG, much as the Perfetto UI draws it.

usage: timeline-svg.py TIMELINE OUT.svg [--from US] [--to US] [--title TEXT]

One lane per VP: the running VTL as coloured spans, and below them a row of marks
for the instant events (VTL entries, hypercalls, intercepts). Times are the
trace's microseconds; --from/--to pick a window (default: the whole run).
"""
import json
import sys
from html import escape

VTL_COLOURS = {"VTL0": "#4e79a7", "VTL1": "#f28e2b", "VTL2": "#e15759"}
MARKS = [  # (legend, colour, test on an instant event)
    ("VTL call / return", "#59a14f", lambda e: e["name"] in ("VTL call", "VTL return")),
    ("interrupt / intercept entry", "#b07aa1", lambda e: e["name"] in ("interrupt entry", "intercept entry")),
    ("hypercall", "#76b7b2", lambda e: e.get("cat") == "hypercall"),
    ("GPA / MSR / I/O intercept", "#edc948", lambda e: e.get("cat") == "intercept"),
]
W, LEFT, RIGHT, LANE, SPAN_H, MARK_H = 1200, 70, 20, 64, 26, 14


def main(argv):
    src, out = argv[0], argv[1]
    opts = dict(zip(argv[2::2], argv[3::2]))
    doc = json.load(open(src, encoding="utf-8"))
    events = doc["traceEvents"]
    names = {e["tid"]: e["args"]["name"] for e in events if e["ph"] == "M" and e["name"] == "thread_name"}
    tids = sorted(names)
    timed = [e["ts"] for e in events if "ts" in e]
    t0 = float(opts.get("--from", min(timed)))
    t1 = float(opts.get("--to", max(timed)))
    scale = (W - LEFT - RIGHT) / max(t1 - t0, 1e-9)

    def x(ts):
        return LEFT + (min(max(ts, t0), t1) - t0) * scale

    top = 40
    height = top + LANE * len(tids) + 70
    svg = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" '
           'font-size="12">' % (W, height),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="%d" y="20" font-size="14">%s</text>' %
           (LEFT, escape(opts.get("--title", "kvsm --timeline: " + src)))]
    for lane, tid in enumerate(tids):
        y = top + lane * LANE
        svg.append('<text x="8" y="%d">%s</text>' % (y + SPAN_H / 2 + 4, escape(names[tid])))
        svg.append('<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="#ddd"/>' %
                   (LEFT, W - RIGHT, y + SPAN_H + MARK_H + 4, y + SPAN_H + MARK_H + 4))
        open_span = None
        for e in events:
            if e.get("tid") != tid or e["ph"] == "M":
                continue
            if e["ph"] == "B":
                open_span = e
            elif e["ph"] == "E" and open_span:
                a, b = x(open_span["ts"]), x(e["ts"])
                if e["ts"] >= t0 and open_span["ts"] <= t1:
                    svg.append('<rect x="%.2f" y="%d" width="%.2f" height="%d" fill="%s"><title>%s %.3f-%.3f us'
                               '</title></rect>' % (a, y, max(b - a, 0.5), SPAN_H, VTL_COLOURS.get(e["name"], "#999"),
                                                    e["name"], open_span["ts"], e["ts"]))
                    if b - a > 30:
                        svg.append('<text x="%.2f" y="%d" fill="white">%s</text>' % (a + 3, y + 17, e["name"]))
                open_span = None
            elif e["ph"] == "i" and t0 <= e["ts"] <= t1:
                colour = next((c for _, c, test in MARKS if test(e)), "#999")
                xm = x(e["ts"])
                args = ", ".join("%s=%s" % kv for kv in e.get("args", {}).items())
                svg.append('<line x1="%.2f" x2="%.2f" y1="%d" y2="%d" stroke="%s" stroke-width="1.5">'
                           '<title>%s (%s)</title></line>' %
                           (xm, xm, y + SPAN_H + 2, y + SPAN_H + 2 + MARK_H, colour, escape(e["name"]), escape(args)))
    # The time axis, in the trace's microseconds from the window's start.
    ya = top + LANE * len(tids)
    svg.append('<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="black"/>' % (LEFT, W - RIGHT, ya, ya))
    for i in range(11):
        ts = t0 + (t1 - t0) * i / 10
        svg.append('<line x1="%.2f" x2="%.2f" y1="%d" y2="%d" stroke="black"/>' % (x(ts), x(ts), ya, ya + 5))
        svg.append('<text x="%.2f" y="%d" text-anchor="middle">%.0f us</text>' % (x(ts), ya + 18, ts - t0))
    legend = [(k, c) for k, c in VTL_COLOURS.items()] + [(k, c) for k, c, _ in MARKS]
    lx = LEFT
    for label, colour in legend:
        svg.append('<rect x="%d" y="%d" width="12" height="12" fill="%s"/>' % (lx, ya + 32, colour))
        svg.append('<text x="%d" y="%d">%s</text>' % (lx + 16, ya + 43, escape(label)))
        lx += 24 + 7 * len(label)
    svg.append("</svg>")
    with open(out, "w", encoding="utf-8") as f:
        f.write("\n".join(svg) + "\n")


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__.strip().splitlines()[2])
    main(sys.argv[1:])
