#!/usr/bin/env python3
"""Queries a `tracemark convert --to parquet` directory with DuckDB and compares the answers
with what tracemark itself says of the same trace.

    duckdb_check.py TRACEMARK_BIN TRACE PARQUET_DIR
    duckdb_check.py --fleet TRACEMARK_BIN FLEET_DIR host=NAME:TRACE...

- events per table and per (stream, CPU), first and last timestamps, packets, discarded
  events: against `tracemark stats --json`;
- a scheduler query when the trace has `sched_switch`: how long each task ran (the time from
  the switch to it to the next switch on that CPU), and, with `sched_wakeup`, the wakeup
  latency (an ASOF join: the first switch to the woken task at or after its wakeup); against
  the same computed here from `tracemark dump --json`.

With --fleet, FLEET_DIR holds the traces exported with `--partition host=NAME`: DuckDB reads
each table across the fleet (Hive partitioning gives the `host` column), and the events per
host and CPU, and the hosts of the `trace` table, must be each trace's.

Exits 1 on the first difference, printing it.
"""

import bisect
import collections
import json
import os
import re
import subprocess
import sys

import duckdb


def table_dir_name(name):
    """As tracemark_columnar::table_dir_name: one `_` per character outside [A-Za-z0-9_.-]."""
    out = "".join(c if (c.isascii() and c.isalnum()) or c in "_-." else "_" for c in name)[:200]
    return "_" + out if out == "" or out.startswith(".") else out


def query(db, sql):
    """Every row of `sql`'s result."""
    return db.execute(sql).fetchall()


def fail(what, expected, found):
    print(f"duckdb_check: {what}: tracemark says {expected}, DuckDB says {found}", file=sys.stderr)
    sys.exit(1)


def same(what, expected, found):
    if expected != found:
        fail(what, expected, found)


def main():
    tracemark, trace, out = sys.argv[1:4]
    stats = json.loads(subprocess.run([tracemark, "stats", "--json", trace], check=True,
                                      capture_output=True, text=True).stdout)
    db = duckdb.connect()
    events = os.path.join(out, "events")
    table = lambda directory: f"read_parquet('{events}/{directory}/*.parquet')"
    everything = f"read_parquet('{events}/*/*.parquet', union_by_name=true)"

    # Events per table.
    expected = collections.Counter()
    for cls in stats["classes"]:
        expected[table_dir_name(cls["name"])] += cls["events"]
    found = {d: query(db, f"SELECT count(*) FROM {table(d)}")[0][0] for d in os.listdir(events)}
    same("events per table", dict(expected), found)

    # Events per stream and CPU, and the time span.
    rows = query(db, f"SELECT stream, cpu, count(*) FROM {everything} GROUP BY ALL")
    same("events per CPU",
         {(s["stream_class"], s["cpu"]): s["events"] for s in stats["streams"] if s["events"]},
         {(stream, cpu): n for stream, cpu, n in rows})
    first, last = query(db, f"SELECT min(ts_ns), max(ts_ns) FROM {everything}")[0]
    same("first and last event (ns)", (stats["first_ns"], stats["last_ns"]), (first, last))

    # Packets and losses.
    packets = f"read_parquet('{out}/packets.parquet')"
    n, discarded, counted = query(db, f"SELECT count(*), sum(discarded), sum(events) FROM {packets}")[0]
    same("data packets", stats["data_packets"], n)
    same("discarded events", stats["discarded_events"], discarded or 0)
    same("events counted in packets", stats["events"], counted)
    host = query(db, f"SELECT hostname, events FROM read_parquet('{out}/trace.parquet')")[0]
    same("trace table events", stats["events"], host[1])

    checked = ["counts per table and CPU", "span", "packets and losses"]
    if "sched_switch" in found:
        checked += scheduler(db, tracemark, trace, table)
    print(f"duckdb_check: {trace}: {stats['events']} events, {len(found)} tables: "
          f"{', '.join(checked)} equal to tracemark's")


def scheduler(db, tracemark, trace, table):
    """Run time per task and wakeup latency, by DuckDB and by hand from `dump --json`."""
    dump = subprocess.run([tracemark, "dump", "--json", trace], check=True, capture_output=True, text=True)
    switches, wakeups = [], []
    for line in dump.stdout.splitlines():
        event = json.loads(line)
        if event["name"] == "sched_switch":
            switches.append(event)
        elif event["name"] == "sched_wakeup":
            wakeups.append(event)
    fields = switches[0]["fields"]
    tid = "next_tid" if "next_tid" in fields else "next_pid"

    # How long each task ran: from the switch to it to the next switch on the same CPU.
    ran = collections.defaultdict(lambda: [0, 0, 0])
    last_on_cpu = {}
    for event in switches:
        cpu = (event["stream_class"], event["stream_instance"])
        if cpu in last_on_cpu:
            before = last_on_cpu[cpu]
            slot = ran[before["fields"]["next_comm"]]
            duration = event["unix_ns"] - before["unix_ns"]
            slot[0], slot[1], slot[2] = slot[0] + 1, slot[1] + duration, max(slot[2], duration)
        last_on_cpu[cpu] = event
    rows = query(db, f"""
        SELECT next_comm, count(*), sum(run), max(run) FROM (
            SELECT next_comm, lead(ts_ns) OVER (PARTITION BY stream, cpu ORDER BY ts_ns, ticks) - ts_ns AS run
            FROM {table('sched_switch')})
        WHERE run IS NOT NULL GROUP BY next_comm""")
    same("run time per task (sched_switch)", {k: tuple(v) for k, v in ran.items()},
         {comm: (n, int(total), int(longest)) for comm, n, total, longest in rows})
    checked = [f"run time of {len(ran)} tasks over {len(switches)} switches"]

    if wakeups:
        woken = "tid" if "tid" in wakeups[0]["fields"] else "pid"
        by_task = collections.defaultdict(list)
        for event in switches:
            by_task[event["fields"][tid]].append(event["unix_ns"])
        latencies = []
        for event in wakeups:
            times = by_task.get(event["fields"][woken], [])
            at = bisect.bisect_left(times, event["unix_ns"])
            if at < len(times):
                latencies.append(times[at] - event["unix_ns"])
        n, total, longest = query(db, f"""
            SELECT count(*), sum(s.ts_ns - w.ts_ns), max(s.ts_ns - w.ts_ns)
            FROM {table('sched_wakeup')} w ASOF JOIN {table('sched_switch')} s
            ON s.{tid} = w.{woken} AND s.ts_ns >= w.ts_ns""")[0]
        same("wakeup latency (count, sum, max)", (len(latencies), sum(latencies), max(latencies, default=None)),
             (n, int(total or 0), longest))
        checked.append(f"wakeup latency of {n} wakeups (ASOF JOIN)")
    return checked


def fleet(tracemark, fleet_dir, members):
    db = duckdb.connect()
    expected = {}
    hostnames = {}
    for member in members:
        partition, trace = member.split(":", 1)
        host = partition.split("=", 1)[1]
        stats = json.loads(subprocess.run([tracemark, "stats", "--json", trace], check=True,
                                          capture_output=True, text=True).stdout)
        for s in stats["streams"]:
            if s["events"]:
                expected[(host, s["cpu"])] = expected.get((host, s["cpu"]), 0) + s["events"]
        hostnames[host] = stats["events"]
    everything = f"read_parquet('{fleet_dir}/events/*/*/*.parquet', hive_partitioning = true, union_by_name = true)"
    rows = query(db, f"SELECT host, cpu, count(*) FROM {everything} GROUP BY ALL")
    same("events per host and CPU", expected, {(host, cpu): n for host, cpu, n in rows})
    rows = query(db, f"SELECT host, events FROM read_parquet('{fleet_dir}/trace/*/*.parquet', hive_partitioning = true)")
    same("trace table per host", hostnames, dict(rows))
    print(f"duckdb_check: fleet of {len(members)} hosts: events per host and CPU equal to tracemark's")


if __name__ == "__main__":
    if sys.argv[1] == "--fleet":
        fleet(sys.argv[2], sys.argv[3], sys.argv[4:])
    else:
        main()
