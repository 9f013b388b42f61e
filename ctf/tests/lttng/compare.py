#!/usr/bin/python3
"""The CTF import oracle's comparison (ctf/ci.sh): the events babeltrace2 reads from a CTF
trace, through its Python bindings, against `tracemark dump --json` on the same trace.

usage: compare.py CTF_TRACE DUMP_JSONL DISCARDED

Every event must match: name, nanoseconds from the Epoch, CPU, and every field of the stream
event context, the event context and the payload, by name and value. Normalised: babeltrace2
shows a sequence's length field (`_NAME_length`) before it, which the import folds into the
sequence's count; floats compare to the precision of their type; an enumeration compares by
value (and label when babeltrace2 gives exactly one). babeltrace2 2.0.4 sometimes shows an empty
string field with the value the same field had in an earlier event (fixed upstream by
review.lttng.org change 4528, not in 2.0.4): where tracemark shows "", any string babeltrace2
shows is accepted, and counted. DISCARDED is what tracemark counts; the
sum of babeltrace2's discarded-events messages must equal it. Prints a summary, exits 1 on the
first difference.
"""
import json
import math
import sys

import bt2


def norm(field):
    if isinstance(field, bt2._StringFieldConst):
        return ("str", str(field))
    if isinstance(field, (bt2._EnumerationFieldConst,)):
        try:
            labels = list(field.labels)
        except AssertionError:
            # The bindings of 2.0.4 sometimes fail to give the labels of a value that has
            # none (an assertion inside bt2); the value is still compared, and the place counted.
            UNREADABLE_LABELS[0] += 1
            labels = []
        return ("enum", int(field), labels[0] if len(labels) == 1 else None)
    if isinstance(field, bt2._BoolFieldConst):
        return ("int", int(bool(field)))
    if isinstance(field, bt2._IntegerFieldConst):
        return ("int", int(field))
    if isinstance(field, bt2._RealFieldConst):
        return ("float", float(field), isinstance(field, bt2._SinglePrecisionRealFieldConst))
    if isinstance(field, bt2._ArrayFieldConst):
        return ("list", [norm(element) for element in field])
    if isinstance(field, bt2._StructureFieldConst):
        return ("struct", struct(field))
    raise SystemExit(f"compare.py: a field kind this oracle does not know: {type(field)}")


def struct(field):
    names = list(field.keys())
    out = []
    for name in names:
        # The import folds a sequence's length member into the sequence (spec Appendix C.8).
        if name.startswith("_") and name.endswith("_length") and name[1:-7] in names:
            continue
        out.append((name, norm(field[name])))
    return out


def norm_json(value, like):
    kind = like[0]
    if kind == "str":
        return ("str", value)
    if kind == "enum":
        if isinstance(value, dict):
            return ("enum", value["value"], value.get("label"))
        return ("enum", value, None)
    if kind == "int":
        return ("int", value)
    if kind == "float":
        return ("float", float(value), like[2])
    if kind == "list":
        return ("list", [norm_json(v, l) for v, l in zip(value, like[1])] + [("extra", v) for v in value[len(like[1]):]])
    if kind == "struct":
        names = dict(like[1])
        return ("struct", [(name, norm_json(v, names.get(name, ("str",)))) for name, v in value.items()])
    return (kind, value)


STALE_EMPTY_STRINGS = [0]
UNREADABLE_LABELS = [0]


def same(a, b):
    if a[0] != b[0]:
        return False
    if a[0] == "str" and b[1] == "" and a[1] != "":
        STALE_EMPTY_STRINGS[0] += 1
        return True
    if a[0] == "float":
        x, y = a[1], b[1]
        if math.isnan(x) or math.isnan(y):
            return math.isnan(x) and math.isnan(y)
        if math.copysign(1, x) != math.copysign(1, y) and (x != 0 or y != 0):
            return False
        if x == 0 or y == 0:
            return x == y and math.copysign(1, x) == math.copysign(1, y)
        return math.isclose(x, y, rel_tol=1e-6 if a[2] else 1e-15)
    if a[0] == "enum":
        return a[1] == b[1] and (a[2] is None or a[2] == b[2])
    if a[0] == "list":
        return len(a[1]) == len(b[1]) and all(same(x, y) for x, y in zip(a[1], b[1]))
    if a[0] == "struct":
        return len(a[1]) == len(b[1]) and all(n == m and same(x, y) for (n, x), (m, y) in zip(a[1], b[1]))
    return a == b


def main():
    trace, dump, discarded_tracemark = sys.argv[1], sys.argv[2], int(sys.argv[3])
    expected = []
    discarded = 0
    for message in bt2.TraceCollectionMessageIterator(trace):
        if type(message) is bt2._EventMessageConst:
            event = message.event
            contexts = []
            for scope in (event.common_context_field, event.specific_context_field):
                if scope is not None:
                    contexts.extend(struct(scope))
            payload = struct(event.payload_field) if event.payload_field is not None else []
            # The import names a context field `context_NAME` when another field of the event
            # is named NAME (spec Appendix C.7).
            payload_names = {name for name, _ in payload}
            context_names = [name for name, _ in contexts]
            fields = []
            for name, value in contexts:
                if name in payload_names or context_names.count(name) > 1:
                    name = "context_" + name
                fields.append((name, value))
            fields.extend(payload)
            cpu = int(event.packet.context_field["cpu_id"])
            expected.append((message.default_clock_snapshot.ns_from_origin, cpu, event.name, fields))
        elif type(message) is bt2._DiscardedEventsMessageConst:
            discarded += message.count
    got = []
    with open(dump) as lines:
        for line in lines:
            event = json.loads(line)
            got.append((event["unix_ns"], event["stream_instance"], event["name"], event["fields"]))
    expected.sort(key=lambda event: (event[0], event[1], event[2], repr(event[3])))
    got.sort(key=lambda event: (event[0], event[1], event[2], json.dumps(event[3])))
    if len(expected) != len(got):
        raise SystemExit(f"babeltrace2 reads {len(expected)} events, tracemark {len(got)}")
    fields_compared = 0
    for index, (want, have) in enumerate(zip(expected, got)):
        ns, cpu, name, fields = want
        if (ns, cpu, name) != have[:3]:
            raise SystemExit(f"event {index}: babeltrace2 {want[:3]}, tracemark {have[:3]}")
        like = ("struct", fields)
        mine = norm_json(have[3], like)
        if not same(like, mine):
            raise SystemExit(f"event {index} ({name} at {ns}):\n babeltrace2 {fields}\n tracemark   {mine[1]}")
        fields_compared += len(fields)
    if discarded != discarded_tracemark:
        raise SystemExit(f"babeltrace2 counts {discarded} discarded events, tracemark {discarded_tracemark}")
    stale = STALE_EMPTY_STRINGS[0]
    note = f"; {stale} empty strings babeltrace2 2.0.4 shows stale" if stale else ""
    if UNREADABLE_LABELS[0]:
        note += f"; {UNREADABLE_LABELS[0]} enum values whose labels babeltrace2's bindings could not give"
    print(f"   same {len(expected)} events ({fields_compared} field values), {discarded} discarded{note}")


main()
