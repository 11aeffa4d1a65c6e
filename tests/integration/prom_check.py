#!/usr/bin/python3
"""Strict checker for the Prometheus text exposition format 0.0.4 as adenroll
writes it: metric/label name syntax, HELP and TYPE before a family's samples,
families contiguous, label values escaped, numeric values, no duplicate
series.  Prints the problems and exits 1, or prints nothing and exits 0.

    prom_check.py FILE"""
import re
import sys

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def parse_labels(s, lineno):
    """s starts after '{'; returns (labels, rest after '}')."""
    labels, i = [], 0
    while True:
        if s[i] == "}":
            return labels, s[i + 1:]
        eq = s.index("=", i)
        name = s[i:eq]
        if not LABEL.match(name) or name.startswith("__"):
            raise ValueError(f"line {lineno}: bad label name {name!r}")
        if s[eq + 1] != '"':
            raise ValueError(f"line {lineno}: label value not quoted")
        j, val = eq + 2, []
        while s[j] != '"':
            if s[j] == "\\":
                if s[j + 1] not in '\\"n':
                    raise ValueError(f"line {lineno}: bad escape \\{s[j + 1]}")
                val.append(s[j:j + 2])
                j += 2
            else:
                val.append(s[j])
                j += 1
        if any(n == name for n, _ in labels):
            raise ValueError(f"line {lineno}: label {name} repeated")
        labels.append((name, "".join(val)))
        i = j + 1
        if s[i] == ",":
            i += 1
        elif s[i] != "}":
            raise ValueError(f"line {lineno}: expected ',' or '}}'")


def check(text):
    problems = []
    if not text.endswith("\n"):
        problems.append("no final newline")
    helped, typed, done, series = set(), set(), set(), set()
    current = None
    for lineno, line in enumerate(text.split("\n")[:-1], 1):
        try:
            if line.startswith("#"):
                parts = line.split(None, 3)
                if len(parts) < 3 or parts[1] not in ("HELP", "TYPE"):
                    continue
                kw, name = parts[1], parts[2]
                if not NAME.match(name):
                    raise ValueError(f"line {lineno}: bad metric name {name!r}")
                if name != current:
                    if name in done or name in typed or name in helped:
                        raise ValueError(f"line {lineno}: {kw} for {name} after its family ended")
                    if current:
                        done.add(current)
                    current = name
                seen = typed if kw == "TYPE" else helped
                if name in seen:
                    raise ValueError(f"line {lineno}: second {kw} for {name}")
                seen.add(name)
                if kw == "TYPE" and (len(parts) < 4 or parts[3] not in TYPES):
                    raise ValueError(f"line {lineno}: bad type")
                continue
            if not line:
                continue
            m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(.*)\Z", line)
            if not m:
                raise ValueError(f"line {lineno}: bad sample")
            name, rest = m.group(1), m.group(2)
            labels = []
            if rest.startswith("{"):
                labels, rest = parse_labels(rest[1:], lineno)
            if name != current or name not in typed or name not in helped:
                raise ValueError(f"line {lineno}: sample of {name} without HELP and TYPE before it")
            fields = rest.split(" ")
            if fields[0] != "" or len(fields) not in (2, 3):
                raise ValueError(f"line {lineno}: expected ' value [timestamp]'")
            if fields[1] not in ("+Inf", "-Inf", "NaN"):
                float(fields[1])
            key = (name, tuple(sorted(labels)))
            if key in series:
                raise ValueError(f"line {lineno}: duplicate series {key}")
            series.add(key)
        except (ValueError, IndexError) as e:
            problems.append(str(e) if isinstance(e, ValueError) and str(e).startswith("line")
                            else f"line {lineno}: {e!r}")
    return problems


if __name__ == "__main__":
    problems = check(open(sys.argv[1], encoding="utf-8").read())
    for p in problems:
        print(p)
    sys.exit(1 if problems else 0)
