"""Reads a Prometheus text exposition on stdin and prints one line per metric family:
`name type label1,label2,...` (`-` when it has no labels), sorted, after the header in argv[1].
Histogram and summary families keep their base name; `le` and `quantile` are left out."""
import re
import sys

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="(?:[^"\\]|\\.)*"')

types, labels = {}, {}
for line in sys.stdin:
    if line.startswith('# TYPE '):
        _, _, name, kind = line.split()
        types[name] = kind
        labels.setdefault(name, set())
        continue
    if line.startswith('#') or not line.strip():
        continue
    m = SAMPLE.match(line)
    if not m:
        continue
    name = m.group(1)
    family = name
    if name not in types:
        for suffix in ('_bucket', '_sum', '_count'):
            base = name[: -len(suffix)]
            if name.endswith(suffix) and types.get(base) in ('histogram', 'summary'):
                family = base
                break
    types.setdefault(family, 'untyped')
    found = labels.setdefault(family, set())
    for label in LABEL.findall(m.group(3) or ''):
        if label not in ('le', 'quantile'):
            found.add(label)

print(sys.argv[1])
for name in sorted(types):
    print(name, types[name], ','.join(sorted(labels[name])) or '-')
