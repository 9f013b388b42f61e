#!/usr/bin/env python3
# SPDX-License-Identifier: MIT OR Apache-2.0
"""tmkdecode - an independent tracemark 1.0 decoder, written from
spec/SPEC.md only, to check the C probe writer (and anything else).

    tmkdecode.py TRACE                 # events as JSON lines on stdout
    tmkdecode.py TRACE --summary       # packets/events/discards per stream
    tmkdecode.py TRACE --expected F    # compare with a harness's expected.jsonl
    tmkdecode.py TRACE --meta          # dump the metadata as JSON

TRACE is a directory (§9.1) or a single file (§9.2).  Every violation is
reported on stderr with the section it breaks; the exit status is 1 if
there was any, 2 if --expected found a mismatch.

JSON value conventions (shared with probe/harness expected.jsonl):
integers as numbers, bool as true/false, floats as numbers, strings as
text (invalid UTF-8 replaced), blobs as lowercase hex, arrays and
sequences as lists, structs as objects, enums as {"value": n, "label": s
or null}.
"""
import json
import os
import struct
import sys
import zlib

MAGIC = 0x4B4D5254
HDR = 80
F_CRC, F_META = 1, 2
MASK48 = (1 << 48) - 1
FNV_OFF, FNV_PRIME = 0xcbf29ce484222325, 0x100000001b3

FIXED = {0x01: ('?', 1), 0x02: ('B', 1), 0x03: ('H', 2), 0x04: ('I', 4),
         0x05: ('Q', 8), 0x06: ('b', 1), 0x07: ('h', 2), 0x08: ('i', 4),
         0x09: ('q', 8), 0x0A: ('f', 4), 0x0B: ('d', 8)}
# ABI-sized: code -> (ABI size key, signed)
ABI = {0x10: ('short', True), 0x11: ('short', False), 0x12: ('int', True),
       0x13: ('int', False), 0x14: ('long', True), 0x15: ('long', False),
       0x16: ('long_long', True), 0x17: ('long_long', False),
       0x18: ('size_t', False), 0x19: ('size_t', True),
       0x1A: ('pointer', False)}
INT_CODES = set(range(0x02, 0x0A)) | set(ABI)
SIGNED_FIXED = {0x06, 0x07, 0x08, 0x09}


class Malformed(Exception):
    pass


class Decoder:
    def __init__(self):
        self.errors = []
        self.order = None          # '<' or '>'
        self.uuid = None
        self.trace = None
        self.clocks = {}
        self.stream_classes = {}
        self.classes = {}          # id -> dict
        self.env = {}
        self.raw_meta = {}         # (kind, id) -> body bytes, for §7.6 repeats

    def err(self, where, sect, msg):
        self.errors.append('%s: %s: %s' % (where, sect, msg))
        print('error: %s: %s: %s' % (where, sect, msg), file=sys.stderr)

    # ---- packets (§4) ---------------------------------------------------
    def packets(self, data, name):
        """Yield (offset, header dict, content bytes or None)."""
        off = 0
        while off + HDR <= len(data):
            h = self.parse_header(data, off, name)
            if h is None:
                # §10.6 resync at 8-byte aligned offsets
                start = off
                off += 8
                while off + HDR <= len(data) and \
                        self.parse_header(data, off, name, quiet=True) is None:
                    off += 8
                self.err('%s@%d' % (name, start), '§10.6',
                         'skipped %d bytes' % (off - start))
                continue
            psize = h['packet_size']
            if off + psize > len(data):
                self.err('%s@%d' % (name, off), '§10.4', 'truncated packet')
                avail = data[off:len(data)]
                yield off, h, avail[:min(len(avail), h['content_size'])], False
                return
            pkt = data[off:off + psize]
            crc_ok = True
            if h['flags'] & F_CRC:
                c = zlib.crc32(pkt[0:12])
                c = zlib.crc32(pkt[16:h['content_size']], c)
                if c != h['crc32']:
                    self.err('%s@%d seq %d' % (name, off, h['sequence']),
                             '§4.4', 'CRC mismatch %08x != %08x' % (c, h['crc32']))
                    crc_ok = False
            elif h['crc32'] != 0:
                self.err('%s@%d' % (name, off), '§4.4', 'crc32 not 0 without HAS_CRC')
            if any(pkt[h['content_size']:]):
                # SHOULD, not MUST: a warning only
                print('warning: %s@%d: §4.2 padding not zero' % (name, off),
                      file=sys.stderr)
            if crc_ok:
                yield off, h, pkt[:h['content_size']], True
            off += psize
        if off != len(data):
            self.err('%s@%d' % (name, off), '§10.4',
                     '%d trailing bytes' % (len(data) - off))

    def parse_header(self, data, off, name, quiet=False):
        def bad(sect, msg):
            if not quiet:
                self.err('%s@%d' % (name, off), sect, msg)
            return None
        raw = data[off:off + HDR]
        if struct.unpack('<I', raw[:4])[0] == MAGIC:
            o = '<'
        elif struct.unpack('>I', raw[:4])[0] == MAGIC:
            o = '>'
        else:
            return bad('§2.2', 'bad magic %r' % raw[:4])
        (magic, vmaj, vmin, hlen, flags, crc, uuid, scid, inst, seq, tb, te,
         csize, psize, disc) = struct.unpack(o + 'IBBHII16sIIQQQIIQ', raw)
        if vmaj != 1:
            return bad('§11.3', 'version %d.%d unsupported (1.x)' % (vmaj, vmin))
        if hlen < 80 or hlen % 8:
            return bad('§4.2', 'header_len %d' % hlen)
        if psize % 8 or psize < hlen or not (hlen <= csize <= psize):
            return bad('§4.2', 'sizes h=%d c=%d p=%d' % (hlen, csize, psize))
        if flags & 0xFFFC:
            return bad('§4.3', 'incompatible flags %#x' % flags)
        if quiet:
            return {}
        if self.order is not None and o != self.order:
            self.err('%s@%d' % (name, off), '§2.3', 'byte order differs')
            return None
        if self.uuid is not None and uuid != self.uuid:
            self.err('%s@%d' % (name, off), '§4.6', 'foreign UUID')
            return None
        if tb > te:
            self.err('%s@%d' % (name, off), '§4.5', 'timestamp_begin > end')
        return dict(order=o, version=(vmaj, vmin), header_len=hlen, flags=flags,
                    crc32=crc, uuid=uuid, stream_class_id=scid,
                    stream_instance_id=inst, sequence=seq, ts_begin=tb,
                    ts_end=te, content_size=csize, packet_size=psize,
                    events_discarded=disc)

    # ---- metadata (§7) --------------------------------------------------
    def read_metadata(self, data, name):
        first = True
        for off, h, content, ok in self.packets(data, name):
            if not ok:
                continue
            if not h['flags'] & F_META:
                self.err('%s@%d' % (name, off), '§1.5', 'non-metadata packet in metadata')
                continue
            if first:
                self.order = h['order']
                self.uuid = h['uuid']
            pos = h['header_len']
            previous_trace = None
            while pos < len(content):
                if pos + 8 > len(content):
                    self.err('%s@%d' % (name, off + pos), '§7.1', 'record envelope past content')
                    break
                kind, rflags, blen = struct.unpack(self.order + 'HHI', content[pos:pos + 8])
                body = content[pos + 8:pos + 8 + blen]
                if len(body) != blen:
                    self.err('%s@%d' % (name, off + pos), '§7.1', 'record past content')
                    break
                where = '%s@%d' % (name, off + pos)
                record, pos = content[pos:pos + 8 + blen], pos + 8 + blen
                after_trace, previous_trace = previous_trace, None
                if rflags & 1:
                    # §7.2 (1.1): the body ends with the CRC-32 of the record before it.
                    if blen < 4 or zlib.crc32(record[:-4]) != struct.unpack(self.order + 'I', record[-4:])[0]:
                        self.err(where, '§7.2', 'record check does not match')
                        continue
                    body = body[:-4]
                if first and kind != 1:
                    self.err(where, '§7.3', 'first record is not TRACE')
                first = False
                if kind == 1 and after_trace is not None and body == after_trace:
                    continue  # §7.3: the copy of TRACE, directly after it
                if kind == 1 and self.trace is None:
                    previous_trace = body
                try:
                    self.meta_record(kind, body, where)
                except (Malformed, struct.error, IndexError) as e:
                    self.err(where, '§7.2', 'malformed record: %s' % e)

    def meta_record(self, kind, body, where):
        r = Reader(body, self.order)
        if kind == 1:
            if self.trace is not None:
                raise Malformed('second TRACE (§7.3)')
            uuid = r.take(16)
            bo = r.u8()
            sizes = [r.u8() for _ in range(6)]
            names = [r.str() for _ in range(6)]
            if uuid != self.uuid:
                self.err(where, '§7.3', 'TRACE uuid differs from packets')
            if bo != (0 if self.order == '<' else 1):
                self.err(where, '§7.3', 'byte_order does not match magic')
            for s in sizes:
                if s not in (1, 2, 4, 8):
                    self.err(where, '§3.2', 'bad ABI size %d' % s)
            keys = ['short', 'int', 'long', 'long_long', 'pointer', 'size_t']
            self.trace = dict(uuid=uuid.hex(), byte_order=bo,
                              sizes=dict(zip(keys, sizes)),
                              **dict(zip(['os_name', 'os_release', 'architecture',
                                          'hostname', 'tracer_name',
                                          'tracer_version'], names)))
        elif kind == 2:
            cid = r.u32()
            c = dict(clock_id=cid, frequency=r.u64(), offset_ns=r.i64(),
                     precision=r.u64(), name=r.str(), description=r.str())
            if c['frequency'] == 0:
                self.err(where, '§7.4', 'frequency 0')
            self.declare('clock', cid, body, self.clocks, c, where)
        elif kind == 3:
            sid = r.u32()
            s = dict(stream_class_id=sid, clock_id=r.u32(), name=r.str())
            if s['clock_id'] not in self.clocks:
                self.err(where, '§7.5', 'undeclared clock %d' % s['clock_id'])
            self.declare('stream class', sid, body, self.stream_classes, s, where)
        elif kind == 4:
            eid = r.u32()
            e = dict(event_id=eid, stream_class_id=r.u32(), log_level=r.u8(),
                     layout_kind=r.u8(), identity=r.u64(), name=r.str())
            if not e['name']:
                self.err(where, '§7.2', 'empty event name')
            try:
                if e['layout_kind'] == 0:
                    e['fields'] = self.field_list(r, 0)
                elif e['layout_kind'] == 1:
                    e['format'] = r.str()
                    e['fields'] = parse_format(e['format'])
                else:
                    raise Malformed('layout_kind %d' % e['layout_kind'])
                ident = identity(e)
                if ident != e['identity']:
                    self.err(where, '§7.8', 'identity of %s: %016x, computed %016x'
                             % (e['name'], e['identity'], ident))
            except Malformed as ex:
                self.err(where, '§7.7', 'event class %s undecodable: %s' % (e['name'], ex))
                e['fields'] = None
            self.declare('event class', eid, body, self.classes, e, where)
        elif kind == 5:
            key = r.str()
            vk = r.u8()
            self.env[key] = r.str() if vk == 0 else r.i64() if vk == 1 else None
        # unknown kinds are skipped (§7.2)

    def declare(self, what, ident, body, table, value, where):
        k = (what, ident)
        if k in self.raw_meta:
            if self.raw_meta[k] != body:
                self.err(where, '§7.6', 'conflicting %s %d' % (what, ident))
            return
        self.raw_meta[k] = body
        table[ident] = value

    def abi(self, key):
        return self.trace['sizes'][key]

    def field_list(self, r, depth):
        n = r.u16()
        fields = []
        seen = set()
        for _ in range(n):
            name = r.str()
            if not valid_ident(name):
                raise Malformed('bad field name %r' % name)
            if name in seen:
                raise Malformed('duplicate field %r' % name)
            seen.add(name)
            fields.append((name, self.type_desc(r, depth)))
        return fields

    def type_desc(self, r, depth):
        code = r.u8()
        if code in FIXED or code in ABI or code in (0x20, 0x21):
            return (code,)
        if depth + 1 > 32:
            raise Malformed('nesting > 32 (§6.7)')
        if code == 0x22:
            n = r.u32()
            el = self.type_desc(r, depth + 1)
            if self.min_size(el) == 0:
                raise Malformed('zero-size element (§6.7)')
            return (code, n, el)
        if code == 0x23:
            el = self.type_desc(r, depth + 1)
            if self.min_size(el) == 0:
                raise Malformed('zero-size element (§6.7)')
            return (code, el)
        if code == 0x24:
            under = r.u8()
            if under not in INT_CODES:
                raise Malformed('enum over %#x (§6.6)' % under)
            maps = [(r.str(), r.u64(), r.u64()) for _ in range(r.u16())]
            return (code, under, maps)
        if code == 0x25:
            return (code, self.field_list(r, depth + 1))
        raise Malformed('unknown type code %#x' % code)

    def min_size(self, t):
        c = t[0]
        if c in FIXED:
            return FIXED[c][1]
        if c in ABI:
            return self.abi(ABI[c][0])
        if c == 0x20:
            return 1
        if c in (0x21, 0x23):
            return 4
        if c == 0x22:
            return t[1] * self.min_size(t[2])
        if c == 0x24:
            return self.min_size((t[1],))
        if c == 0x25:
            return sum(self.min_size(ft) for _, ft in t[1])
        return 0

    # ---- events (§5, §6) -------------------------------------------------
    def read_stream(self, data, name, out):
        stats = dict(packets=0, events=0, extended=0, discarded=0, lost_packets=0, name=name)
        last_seq = None
        last_disc = 0
        last_end = None
        ident = None
        for off, h, content, ok in self.packets(data, name):
            where = '%s@%d seq %d' % (name, off, h['sequence'])
            if h['flags'] & F_META:
                self.err(where, '§9.1', 'metadata packet in a stream file')
                continue
            sid = (h['stream_class_id'], h['stream_instance_id'])
            if ident is None:
                ident = sid
            elif ident != sid:
                self.err(where, '§9.1', 'packets of two streams in one file')
            seq = h['sequence']
            exp = 0 if last_seq is None else last_seq + 1
            if seq > exp:
                self.err(where, '§10.2', '%d packets missing' % (seq - exp))
                stats['lost_packets'] += seq - exp
            elif seq < exp:
                self.err(where, '§1.6', 'sequence does not increase')
            last_seq = seq
            if h['events_discarded'] < last_disc:
                self.err(where, '§10.1', 'events_discarded decreased')
            elif h['events_discarded'] > last_disc:
                stats['discarded'] += h['events_discarded'] - last_disc
                last_disc = h['events_discarded']
            if last_end is not None and h['ts_begin'] < last_end:
                self.err(where, '§4.5', 'timestamp_begin < previous timestamp_end')
            last_end = h['ts_end']
            stats['packets'] += 1
            if not ok:
                continue
            if h['stream_class_id'] not in self.stream_classes:
                self.err(where, '§7.5', 'undeclared stream class')
            self.packet_events(h, content, where, out, stats)
        return stats

    def packet_events(self, h, content, where, out, stats):
        pos = h['header_len']
        prev = h['ts_begin']
        first = None
        o = self.order
        while pos < len(content):
            start = pos
            try:
                if pos + 8 > len(content):
                    raise Malformed('header past content_size')
                w = struct.unpack(o + 'Q', content[pos:pos + 8])[0]
                pos += 8
                id16, low = w >> 48, w & MASK48
                if id16 != 0xFFFF:
                    eid = id16
                    ts = (prev & ~MASK48) | low
                    if ts < prev:
                        ts += 1 << 48
                    if ts >= 1 << 64:
                        self.err(where, '§5.5', 'timestamp overflow')
                        ts &= (1 << 64) - 1
                else:
                    if low != 0:
                        raise Malformed('extended header with low bits set (§5.3)')
                    if pos + 12 > len(content):
                        raise Malformed('extended header past content_size')
                    eid, ts = struct.unpack(o + 'IQ', content[pos:pos + 12])
                    pos += 12
                    stats['extended'] += 1
                    if ts < prev:
                        self.err(where, '§5.5', 'extended ts goes backwards')
                if first is None:
                    first = ts
                prev = ts
                ec = self.classes.get(eid)
                if ec is None:
                    raise Malformed('undeclared event id %d' % eid)
                if ec['fields'] is None:
                    raise Malformed('event class %s is undecodable' % ec['name'])
                if ec['stream_class_id'] != h['stream_class_id']:
                    self.err(where, '§7.6', 'event %s in a foreign stream class' % ec['name'])
                r = Reader(content, o, pos)
                fields = {}
                for fname, ft in ec['fields']:
                    fields[fname] = self.value(r, ft)
                pos = r.pos
            except (Malformed, struct.error) as e:
                self.err('%s+%d' % (where, start), '§10.5', str(e))
                return
            if ts > h['ts_end']:
                self.err(where, '§4.5', 'event after timestamp_end')
            stats['events'] += 1
            out.append(dict(name=ec['name'], cpu=h['stream_instance_id'],
                            stream_class=h['stream_class_id'], ts=ts,
                            fields=fields))
        if first is not None and first < h['ts_begin']:
            self.err(where, '§4.5', 'first event before timestamp_begin')

    def value(self, r, t):
        c = t[0]
        if c == 0x01:
            v = r.u8()
            if v > 1:
                raise Malformed('bool value %d (§6.2)' % v)
            return v == 1
        if c in FIXED:
            fmt, n = FIXED[c]
            return r.unpack(fmt, n)
        if c in ABI:
            key, signed = ABI[c]
            n = self.abi(key)
            raw = r.take(n)
            return int.from_bytes(raw, 'little' if self.order == '<' else 'big',
                                  signed=signed)
        if c == 0x20:
            end = r.data.find(b'\0', r.pos)
            if end < 0:
                raise Malformed('unterminated string (§6.5)')
            s = r.data[r.pos:end].decode('utf-8', 'replace')
            r.pos = end + 1
            return s
        if c == 0x21:
            n = r.u32()
            if n > len(r.data) - r.pos:
                raise Malformed('blob length %d past content (§6.7)' % n)
            return r.take(n).hex()
        if c == 0x22:
            n, el = t[1], t[2]
            if n * self.min_size(el) > len(r.data) - r.pos:
                raise Malformed('array past content (§6.7)')
            return [self.value(r, el) for _ in range(n)]
        if c == 0x23:
            n = r.u32()
            el = t[1]
            if n * self.min_size(el) > len(r.data) - r.pos:
                raise Malformed('sequence count %d past content (§6.7)' % n)
            return [self.value(r, el) for _ in range(n)]
        if c == 0x24:
            v = self.value(r, (t[1],))
            signed = t[1] in SIGNED_FIXED or (t[1] in ABI and ABI[t[1]][1])
            label = None
            for lab, lo, hi in t[2]:
                if signed:
                    lo, hi = to_i64(lo), to_i64(hi)
                if lo <= v <= hi:
                    label = lab
                    break
            return dict(value=v, label=label)
        if c == 0x25:
            return {fn: self.value(r, ft) for fn, ft in t[1]}
        raise Malformed('type %#x' % c)


def to_i64(u):
    return u - (1 << 64) if u >= 1 << 63 else u


def valid_ident(s):
    return bool(s) and (s[0].isascii() and (s[0].isalpha() or s[0] == '_')) and \
        all(ch.isascii() and (ch.isalnum() or ch == '_') for ch in s)


class Reader:
    def __init__(self, data, order, pos=0):
        self.data, self.o, self.pos = data, order, pos

    def take(self, n):
        if self.pos + n > len(self.data):
            raise Malformed('runs past end (need %d at %d of %d)'
                            % (n, self.pos, len(self.data)))
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def unpack(self, fmt, n):
        return struct.unpack(self.o + fmt, self.take(n))[0]

    def u8(self):
        return self.unpack('B', 1)

    def u16(self):
        return self.unpack('H', 2)

    def u32(self):
        return self.unpack('I', 4)

    def u64(self):
        return self.unpack('Q', 8)

    def i64(self):
        return self.unpack('q', 8)

    def str(self):
        n = self.u16()
        return self.take(n).decode('utf-8', 'replace')


# ---- §8 format strings ------------------------------------------------------
def parse_format(fmt):
    codes = {'': (0x12, 0x13), 'hh': (0x06, 0x02), 'h': (0x10, 0x11),
             'l': (0x14, 0x15), 'll': (0x16, 0x17), 'z': (0x19, 0x18),
             'j': (0x09, 0x05), 't': (0x19, 0x18)}
    i, n = 0, len(fmt)
    fields, seen = [], set()

    def wsp(i):
        while i < n and fmt[i] in ' \t':
            i += 1
        return i
    i = wsp(i)
    while i < n:
        if fields and fmt[i - 1] not in ' \t':
            raise Malformed('pairs not separated by whitespace (§8.1)')
        st = i
        if not (fmt[i].isascii() and (fmt[i].isalpha() or fmt[i] == '_')):
            raise Malformed('bad name in format (§8.1)')
        while i < n and fmt[i].isascii() and (fmt[i].isalnum() or fmt[i] == '_'):
            i += 1
        name = fmt[st:i]
        if i >= n or fmt[i] not in ' \t':
            raise Malformed('no whitespace after name (§8.1)')
        i = wsp(i)
        if i >= n or fmt[i] != '%':
            raise Malformed('expected %% (§8.1)')
        i += 1
        ln = ''
        for cand in ('hh', 'll', 'h', 'l', 'z', 'j', 't'):
            if fmt.startswith(cand, i):
                ln = cand
                i += len(cand)
                break
        if i >= n:
            raise Malformed('missing conversion (§8.1)')
        sp = fmt[i]
        i += 1
        if sp in 'di':
            code = codes[ln][0]
        elif sp in 'uxXo':
            code = codes[ln][1]
        elif sp in 'cspfeg':
            if ln:
                raise Malformed('length on %%%s (§8.2)' % sp)
            code = {'c': 0x02, 's': 0x20, 'p': 0x1A}.get(sp, 0x0B)
        else:
            raise Malformed('conversion %%%s (§8.2)' % sp)
        if name in seen:
            raise Malformed('duplicate name %s (§8.2)' % name)
        seen.add(name)
        fields.append((name, (code,)))
        if i < n and fmt[i] not in ' \t':
            raise Malformed('text after conversion (§8.1)')
        i = wsp(i)
    return fields


# ---- §7.8 identity ---------------------------------------------------------
def canon_str(s):
    b = s.encode('utf-8')
    return struct.pack('<H', len(b)) + b


def canon_type(t):
    c = t[0]
    out = bytes([c])
    if c == 0x22:
        out += struct.pack('<I', t[1]) + canon_type(t[2])
    elif c == 0x23:
        out += canon_type(t[1])
    elif c == 0x24:
        out += bytes([t[1]]) + struct.pack('<H', len(t[2]))
        for lab, lo, hi in t[2]:
            out += canon_str(lab) + struct.pack('<QQ', lo, hi)
    elif c == 0x25:
        out += canon_fields(t[1])
    return out


def canon_fields(fields):
    out = struct.pack('<H', len(fields))
    for name, t in fields:
        out += canon_str(name) + canon_type(t)
    return out


def identity(e):
    b = canon_str(e['name']) + bytes([e['layout_kind']])
    b += canon_fields(e['fields']) if e['layout_kind'] == 0 else canon_str(e['format'])
    h = FNV_OFF
    for x in b:
        h = ((h ^ x) * FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return h


# ---- driver -----------------------------------------------------------------
def load(path):
    d = Decoder()
    events, stats = [], []
    if os.path.isdir(path):
        with open(os.path.join(path, 'metadata'), 'rb') as f:
            d.read_metadata(f.read(), 'metadata')
        if d.trace is None:
            d.err('metadata', '§7.3', 'no TRACE record')
            return d, events, stats
        for fn in sorted(os.listdir(path)):
            p = os.path.join(path, fn)
            if fn.endswith('.tmk') and os.path.isfile(p):
                with open(p, 'rb') as f:
                    stats.append(d.read_stream(f.read(), fn, events))
    else:
        with open(path, 'rb') as f:
            data = f.read()
        # §9.2: metadata packets first pass, then data packets per stream
        meta, streams = bytearray(), {}
        for off, h, content, ok in Decoder().packets(data, path):
            pkt = data[off:off + h['packet_size']]
            if h['flags'] & F_META:
                meta += pkt
            else:
                streams.setdefault((h['stream_class_id'], h['stream_instance_id']),
                                   bytearray()).extend(pkt)
        d.read_metadata(bytes(meta), path + ':metadata')
        for k in sorted(streams):
            stats.append(d.read_stream(bytes(streams[k]), '%s:stream-%d-%d' % (path, *k), events))
    return d, events, stats


def same(a, b):
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, (int, float)) and isinstance(b, (int, float)) and \
            (a == b or (a != a and b != b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def compare(events, expected_path):
    with open(expected_path) as f:
        exp = [json.loads(line) for line in f if line.strip()]
    bad = 0
    by_cpu_got, by_cpu_exp = {}, {}
    for e in events:
        by_cpu_got.setdefault(e['cpu'], []).append(e)
    for e in exp:
        by_cpu_exp.setdefault(e['cpu'], []).append(e)
    for cpu in sorted(set(by_cpu_got) | set(by_cpu_exp)):
        g, x = by_cpu_got.get(cpu, []), by_cpu_exp.get(cpu, [])
        if len(g) != len(x):
            print('mismatch: cpu %d: %d events decoded, %d expected' % (cpu, len(g), len(x)),
                  file=sys.stderr)
            bad += 1
        for i, (a, b) in enumerate(zip(g, x)):
            for k in ('name', 'ts', 'fields'):
                if not same(a[k], b[k]):
                    print('mismatch: cpu %d event %d %s: %s: decoded %r expected %r'
                          % (cpu, i, b.get('name'), k, a[k], b[k]), file=sys.stderr)
                    bad += 1
                    break
    print('compared %d expected events: %d mismatches' % (len(exp), bad), file=sys.stderr)
    return bad


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('trace')
    ap.add_argument('--summary', action='store_true')
    ap.add_argument('--meta', action='store_true')
    ap.add_argument('--expected')
    ap.add_argument('--quiet', '-q', action='store_true', help='no event output')
    a = ap.parse_args(argv)
    d, events, stats = load(a.trace)
    if a.meta:
        print(json.dumps(dict(trace=d.trace, clocks=d.clocks,
                              stream_classes=d.stream_classes,
                              classes={k: {kk: vv for kk, vv in v.items()}
                                       for k, v in d.classes.items()},
                              env=d.env), default=str, indent=1))
    elif a.summary:
        for s in stats:
            print('%(name)s: %(packets)d packets, %(events)d events, '
                  '%(discarded)d discarded, %(lost_packets)d packets lost, '
                  '%(extended)d extended headers' % s)
    elif not a.quiet and not a.expected:
        for e in events:
            print(json.dumps(e))
    rc = 1 if d.errors else 0
    if a.expected and compare(events, a.expected):
        rc = 2
    return rc


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
