//! `tracemark info`: what a trace is, where it came from, what it holds.

use std::{fmt::Write as _, path::Path, process::ExitCode};

use tracemark_format::{ByteOrder, EnvValue, Layout};
use tracemark_reader::{uuid_string, IndexStatus, Summary, Trace};

use crate::{time::DateTime, CliResult};

pub fn run(path: &Path, json: bool) -> CliResult {
    let trace = crate::ctf::open(path)?;
    let summary = trace.summary();
    if json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print!("{}", render(&trace, &summary));
    }
    Ok(ExitCode::SUCCESS)
}

fn render(trace: &Trace, summary: &Summary<'_>) -> String {
    let mut out = String::new();
    let info = summary.trace;
    let abi = &info.abi;
    let order = match abi.byte_order {
        ByteOrder::Little => "little-endian",
        ByteOrder::Big => "big-endian",
    };
    let _ =
        writeln!(out, "trace      {} ({:?}, format {})", summary.path, summary.container, summary.version);
    if summary.newer_minor {
        let _ = writeln!(
            out,
            "           written by a newer minor version: unknown additions are skipped (§11.2)"
        );
    }
    let _ = writeln!(out, "uuid       {}", uuid_string(&info.uuid));
    let _ = writeln!(out, "tracer     {} {}", info.tracer_name, info.tracer_version);
    let _ = writeln!(
        out,
        "host       {} ({} {}, {})",
        info.hostname, info.os_name, info.os_release, info.architecture
    );
    let _ = writeln!(
        out,
        "abi        {order}; short {} int {} long {} long long {} pointer {} size_t {}",
        abi.short, abi.int, abi.long, abi.long_long, abi.pointer, abi.size_t
    );
    for clock in &summary.clocks {
        let _ = writeln!(
            out,
            "clock {:<4} {} at {} Hz, tick 0 = {} UTC, precision {} ticks{}",
            clock.id,
            clock.name,
            clock.frequency,
            DateTime(clock.offset_ns as i128),
            clock.precision,
            if clock.description.is_empty() { String::new() } else { format!(" ({})", clock.description) }
        );
    }
    for entry in summary.env {
        let value = match &entry.value {
            EnvValue::Str(text) => format!("{text:?}"),
            EnvValue::Int(number) => number.to_string(),
        };
        let _ = writeln!(out, "env        {} = {value}", entry.key);
    }
    let mut forms = Vec::new();
    if summary.narrow_header_packets > 0 {
        forms.push(format!("{} with narrow record headers", summary.narrow_header_packets));
    }
    if summary.compressed_packets > 0 {
        forms.push(format!("{} compressed", summary.compressed_packets));
    }
    let forms = if forms.is_empty() { String::new() } else { format!(" ({})", forms.join(", ")) };
    let _ = writeln!(
        out,
        "packets    {} data{forms}, {} metadata; {} events discarded",
        summary.data_packets, summary.metadata_packets, summary.discarded
    );
    for stored in trace.stored_indexes() {
        let status = match &stored.status {
            IndexStatus::Absent => continue,
            IndexStatus::Usable(index) => format!("usable, {} packets (spec §14)", index.entries.len()),
            IndexStatus::Unusable(why) => format!("not usable, a reader walks the file instead: {why}"),
        };
        let _ = writeln!(out, "index      {}: {status}", stored.file);
    }
    let _ = writeln!(out, "streams    {}", summary.streams.len());
    for stream in &summary.streams {
        let clock = trace.metadata().stream_clock(stream.id.class);
        let span = match (stream.begin, stream.end, clock) {
            (Some(begin), Some(end), Some(clock)) => {
                format!(", {:.6} s", clock.ticks_to_ns(end.saturating_sub(begin)) as f64 / 1e9)
            }
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "  {:<8} {:<12} {} packets, {} bytes, {} discarded{span}",
            stream.id.to_string(),
            stream.name.unwrap_or("?"),
            stream.packets,
            stream.bytes,
            stream.discarded,
        );
    }
    let _ = writeln!(out, "events     {} classes", summary.event_classes.len());
    for class in &summary.event_classes {
        let layout = match &class.layout {
            Layout::Fields(fields) => {
                let names: Vec<&str> = fields.iter().map(|field| field.name.as_str()).collect();
                format!("{{ {} }}", names.join(", "))
            }
            Layout::Marker(format) => format!("marker {format:?}"),
        };
        let _ = writeln!(out, "  {:<6} {:<24} {:016x} {layout}", class.id, class.name, class.identity);
    }
    if !summary.undecodable_event_ids.is_empty() {
        let _ = writeln!(out, "undecodable event classes: {:?}", summary.undecodable_event_ids);
    }
    let diagnostics = trace.diagnostics();
    if !diagnostics.is_empty() {
        let _ = writeln!(out, "diagnostics {}", diagnostics.len());
        for diagnostic in diagnostics {
            let _ = writeln!(out, "  {diagnostic}");
        }
    }
    out
}
