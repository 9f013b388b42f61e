//! `write_cut`: a window of a trace as a trace of its own, holding the events a window read
//! gives, checking clean, reporting only the losses inside it.

use tracemark_export::write_cut;
use tracemark_format::ByteOrder;
use tracemark_reader::{DiagnosticKind, Item, Trace};

mod support;

use support::lossy_trace;

fn events<'t>(items: impl Iterator<Item = Item<'t>>) -> Vec<String> {
    items.filter_map(Item::event).map(|event| serde_json::to_string(&event).unwrap()).collect()
}

/// Events the writer discarded, as the diagnostics of a whole read of `trace` count them.
fn discarded(trace: &Trace) -> u64 {
    trace
        .events()
        .filter_map(|item| match item.diagnostic()?.kind {
            DiagnosticKind::DiscardedEvents { count, .. } => Some(count),
            _ => None,
        })
        .sum()
}

#[test]
fn a_cut_holds_the_events_of_its_window_and_only_its_own_losses() {
    for order in [ByteOrder::Little, ByteOrder::Big] {
        let bytes = lossy_trace(order);
        let trace = Trace::from_bytes(bytes.clone()).unwrap();
        let (start, end) = trace.time_span().unwrap();
        let windows = [
            (start, end),
            (i128::MIN, i128::MAX),
            (start + 10_500, start + 40_000),
            (start + 33_000, start + 33_001),
            (start + 60_000, start + 59_000),
            (end - 2_000, end + 1_000_000),
        ];
        let mut previous_losses = None;
        for (from, to) in windows {
            let mut out = Vec::new();
            let summary = write_cut(&trace, from, to, &mut out).unwrap();
            assert_eq!(summary.bytes, out.len() as u64);
            assert_eq!(summary.packets_damaged, 0);
            let report = tracemark_conformance::check::check(&tracemark_conformance::check::Source::bytes(
                "cut.tmk",
                out.clone(),
            ))
            .unwrap();
            assert!(report.is_valid(), "{from}..={to}: {:?}", report.findings);
            let cut = Trace::from_bytes(out).unwrap();
            assert_eq!(events(cut.events()), events(trace.events_between(from, to)), "{from}..={to}");
            assert!(cut.events().all(|item| match item {
                Item::Diagnostic(diagnostic) =>
                    matches!(diagnostic.kind, DiagnosticKind::DiscardedEvents { .. }),
                Item::Event(_) => true,
            }));
            let losses = discarded(&cut);
            if (from, to) == (start, end) {
                // The whole trace: every packet copied, every loss kept.
                assert_eq!(summary.packets_rewritten, 0);
                assert_eq!(losses, discarded(&trace));
                assert!(losses > 0);
                previous_losses = Some(losses);
            } else if let Some(all) = previous_losses {
                assert!(losses <= all, "a window reports no loss outside it");
            }
        }
    }
}

#[test]
fn a_damaged_packet_in_the_window_is_left_out_and_shown_lost() {
    let mut bytes = lossy_trace(ByteOrder::Little);
    let trace = Trace::from_bytes(bytes.clone()).unwrap();
    let (start, end) = trace.time_span().unwrap();
    // Break the CRC of a data packet in the middle of CPU 0's.
    let middle = trace.packets(trace.stream_ids().next().unwrap()).nth(4).unwrap().offset() as usize;
    drop(trace);
    bytes[middle + 100] ^= 0xFF;
    let trace = Trace::from_bytes(bytes).unwrap();
    let mut out = Vec::new();
    let summary = write_cut(&trace, start, end, &mut out).unwrap();
    assert_eq!(summary.packets_damaged, 1);
    let cut = Trace::from_bytes(out).unwrap();
    let gaps: Vec<u64> = cut
        .events()
        .filter_map(|item| match item.diagnostic()?.kind {
            DiagnosticKind::PacketGap { missing, .. } => Some(missing),
            _ => None,
        })
        .collect();
    assert_eq!(gaps, [1]);
}
