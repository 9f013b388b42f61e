#!/usr/bin/env python3
# SPDX-License-Identifier: MIT OR Apache-2.0
"""check_overwrite.py OUT [--partial] - check a flight-recorder (overwrite mode) trace.

OUT is a trace directory written by `harness --overwrite` (with OUT/written.jsonl) or by
`stress --overwrite` (with OUT/stress.json).  Decoding uses tmkdecode, which enforces CRCs,
headers, timestamps and §5.5; its §10.2 "packets missing" reports are expected here and are
checked instead:

  - every decoded event is exactly one of the events written, in write order per CPU
    (harness: equal name, ts and fields; stress: (kind, writer, seq) strictly increasing);
  - every written event that is not in the trace is explained: it lies where the stream has a
    sequence gap (packets overwritten, §10.2), or it was dropped and counted (§10.1);
  - unless --partial (a snapshot taken mid-run): nothing is missing after the last packet
    but drops, and the packets missing equal the packets the ring buffer reports overwritten.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tmkdecode  # noqa: E402


class Decoder(tmkdecode.Decoder):
    """tmkdecode's decoder, silent about the §10.2 gaps this script accounts for."""

    def err(self, where, sect, msg):
        if sect == '§10.2':
            self.errors.append('%s: %s: %s' % (where, sect, msg))
        else:
            super().err(where, sect, msg)


def decode(out):
    """Problems other than gaps, and per stream: [(header, events)] in file order."""
    d = Decoder()
    with open(os.path.join(out, 'metadata'), 'rb') as f:
        d.read_metadata(f.read(), 'metadata')
    streams = {}
    for fn in sorted(os.listdir(out)):
        if not fn.endswith('.tmk'):
            continue
        with open(os.path.join(out, fn), 'rb') as f:
            data = f.read()
        d.read_stream(data, fn, [])        # the stream-level checks, errors only
        pkts = []
        stats = dict(packets=0, events=0, extended=0, discarded=0, lost_packets=0)
        for off, h, content, ok in d.packets(data, fn):
            evs = []
            if ok:
                d.packet_events(h, content, '%s@%d' % (fn, off), evs, stats)
            pkts.append((h, evs))
        cpu = int(fn.rsplit('-', 1)[1][:-4])
        streams[cpu] = pkts
    errors = [e for e in d.errors if '§10.2' not in e]
    return errors, streams


def gaps(pkts):
    """Per packet: packets missing just before it (the first: its sequence)."""
    out, prev = [], -1
    for h, _ in pkts:
        out.append(h['sequence'] - prev - 1)
        prev = h['sequence']
    return out


def check_harness(out, partial, bad):
    written = {}
    with open(find(out, 'written.jsonl')) as f:
        for line in f:
            e = json.loads(line)
            written.setdefault(e['cpu'], []).append(e)
    summary = {}
    if not partial:
        with open(os.path.join(out, 'overwrite-summary.json')) as f:
            summary = {s['cpu']: s for s in json.load(f)['streams']}
    errors, streams = decode(out)
    bad += errors
    total = dict(present=0, in_gaps=0, dropped=0, lost_packets=0)
    for cpu, pkts in sorted(streams.items()):
        w = written.get(cpu, [])
        i = 0
        prev_disc = 0
        for (h, evs), gap in zip(pkts, gaps(pkts)):
            total['lost_packets'] += gap
            allowance = h['events_discarded'] - prev_disc
            prev_disc = h['events_discarded']
            for n, e in enumerate(evs):
                j = i
                while j < len(w) and not (w[j]['name'] == e['name'] and w[j]['ts'] == e['ts']
                                          and tmkdecode.same(w[j]['fields'], e['fields'])):
                    j += 1
                if j == len(w):
                    bad.append('cpu %d seq %d: %s@%d is not a written event (or out of order)'
                               % (cpu, h['sequence'], e['name'], e['ts']))
                    return total
                skipped = j - i
                if skipped and n == 0 and gap > 0:
                    total['in_gaps'] += skipped
                elif skipped and skipped <= allowance:
                    allowance -= skipped
                    total['dropped'] += skipped
                elif skipped:
                    bad.append('cpu %d seq %d: %d written events missing with no sequence gap '
                               'or discard to explain them' % (cpu, h['sequence'], skipped))
                i = j + 1
                total['present'] += 1
        if not partial:
            s = summary[cpu]
            tail = len(w) - i
            if tail > prev_disc - total['dropped']:
                bad.append('cpu %d: %d written events missing after the last packet' % (cpu, tail))
            lost = sum(gaps(pkts))
            if lost != s['overwritten']:
                bad.append('cpu %d: %d packets missing, ring buffer overwrote %d'
                           % (cpu, lost, s['overwritten']))
            if prev_disc != s['discarded']:
                bad.append('cpu %d: events_discarded %d, counter %d' % (cpu, prev_disc, s['discarded']))
    return total


def check_stress(out, partial, bad):
    with open(find(out, 'stress.json')) as f:
        exp = json.load(f)
    errors, streams = decode(out)
    bad += errors
    attempted = {}
    for w in exp['writers']:
        attempted[('w', w['id'])] = w['ok'] + w['dropped']
        attempted[('irq', w['id'])] = w['irq_ok'] + w['irq_dropped']
    total = dict(present=0, in_gaps=0, unexplained=0, lost_packets=0)
    for b, pkts in sorted(streams.items()):
        g = gaps(pkts)
        # gap_before[k]: packets missing before present packet k, cumulative.
        gap_before, acc = [], 0
        for x in g:
            acc += x
            gap_before.append(acc)
        total['lost_packets'] += acc
        last = {}                       # key -> (seq, packet index)
        unexplained = 0
        for k, (h, evs) in enumerate(pkts):
            for e in evs:
                key = (e['name'], e['fields']['writer'])
                s = e['fields']['seq']
                if key not in attempted or s >= attempted[key]:
                    bad.append('buffer %d: %s writer %d seq %d was never written' % (b, *key, s))
                    continue
                ps, pk = last.get(key, (-1, -1))
                if s <= ps:
                    bad.append('buffer %d: %s writer %d: seq %d after %d (duplicate or reordered)'
                               % (b, key[0], key[1], s, ps))
                    continue
                missing = s - ps - 1
                # Missing events are explained by any packet missing between the two.
                explained = gap_before[k] - (gap_before[pk] if pk >= 0 else 0) > 0
                if missing and explained:
                    total['in_gaps'] += missing
                elif missing:
                    unexplained += missing
                last[key] = (s, k)
                total['present'] += 1
        if not partial:
            # After a writer's last event present: in a gap after its packet, or dropped.
            for key, n in attempted.items():
                w = next(w for w in exp['writers'] if w['id'] == key[1])
                if w['buf'] != b:
                    continue
                ps, pk = last.get(key, (-1, -1))
                missing = n - 1 - ps
                if missing and acc - (gap_before[pk] if pk >= 0 else 0) > 0:
                    total['in_gaps'] += missing
                else:
                    unexplained += missing
            lost = gap_before[-1] if gap_before else 0
            if lost != exp['overwritten'][b]:
                bad.append('buffer %d: %d packets missing, ring buffer overwrote %d'
                           % (b, lost, exp['overwritten'][b]))
            last_disc = pkts[-1][0]['events_discarded'] if pkts else 0
            if last_disc != exp['discarded'][b]:
                bad.append('buffer %d: events_discarded %d, counter %d' % (b, last_disc, exp['discarded'][b]))
        if unexplained > exp['discarded'][b]:
            bad.append('buffer %d: %d events missing outside gaps, only %d discarded'
                       % (b, unexplained, exp['discarded'][b]))
        total['unexplained'] += unexplained
    return total


def find(out, name):
    """OUT/name, or for a mid-run snapshot directory OUT/../name."""
    for d in (out, os.path.dirname(os.path.abspath(out))):
        if os.path.exists(os.path.join(d, name)):
            return os.path.join(d, name)
    return None


def main(argv):
    partial = '--partial' in argv
    out = [a for a in argv if a != '--partial'][0]
    bad = []
    if find(out, 'written.jsonl'):
        total = check_harness(out, partial, bad)
    else:
        total = check_stress(out, partial, bad)
    print('check_overwrite %s%s: %s; %d problems'
          % (out, ' (partial)' if partial else '',
             ', '.join('%s %d' % kv for kv in total.items()), len(bad)))
    for b in bad[:20]:
        print('  ' + b, file=sys.stderr)
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
