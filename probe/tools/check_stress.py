#!/usr/bin/env python3
# SPDX-License-Identifier: MIT OR Apache-2.0
"""check_stress.py OUT - check a harness/stress trace against OUT/stress.json.

Decodes with tmkdecode (which already enforces CRCs, sequence numbers,
timestamp bounds and §5.5 reconstruction) and then checks that:
  - every event a writer counted as recorded is there exactly once;
  - per writer and kind, sequence numbers strictly increase in stream
    order (reservation order is preserved);
  - timestamps never decrease within a stream (§1.7);
  - the discard counters equal the drops the writers saw (§10.1).
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tmkdecode  # noqa: E402


def main(out):
    with open(os.path.join(out, 'stress.json')) as f:
        exp = json.load(f)
    d, events, stats = tmkdecode.load(out)
    bad = list(d.errors)
    last = {}
    count = {}
    last_ts = {}
    for e in events:
        cpu = e['cpu']
        if e['ts'] < last_ts.get(cpu, 0):
            bad.append('cpu %d: timestamp goes back' % cpu)
        last_ts[cpu] = e['ts']
        k = (e['name'], e['fields']['writer'])
        s = e['fields']['seq']
        if k in last and s <= last[k]:
            bad.append('%s writer %d: seq %d after %d' % (k[0], k[1], s, last[k]))
        last[k] = s
        count[k] = count.get(k, 0) + 1
    for w in exp['writers']:
        for name, key in (('w', 'ok'), ('irq', 'irq_ok')):
            got = count.get((name, w['id']), 0)
            if got != w[key]:
                bad.append('%s writer %d: %d decoded, %d recorded' % (name, w['id'], got, w[key]))
    for b, disc in enumerate(exp['discarded']):
        dropped = sum(w['dropped'] + w['irq_dropped'] for w in exp['writers'] if w['buf'] == b)
        got = next((s['discarded'] for s in stats if s['name'] == 'stream-0-%d.tmk' % b), 0)
        if disc != dropped or got != disc:
            bad.append('buffer %d: counter %d, writers dropped %d, trace says %d'
                       % (b, disc, dropped, got))
    total = sum(count.values())
    print('check_stress: %d events, %d discarded, %d problems'
          % (total, sum(exp['discarded']), len(bad)))
    for b in bad[:20]:
        print('  ' + b, file=sys.stderr)
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1]))
