//! Writes a [`Scenario`] through the lock-free ring writer ([`RingSession`]): per-stream rings,
//! the typed `emit_with` path, and the session's consumer thread delivering the packets.
//!
//! What differs from [`rust_writer`](crate::rust_writer), which writes the same scenarios
//! through the packet-at-a-time stream writer:
//! - ring sub-buffers are powers of two of at least 256 bytes, so packets are the scenario's
//!   `packet_size` rounded up to one (the reader does not care about the size);
//! - a ring timestamps an event by reading its clock, so a scripted clock is set to each
//!   event's timestamp just before it is emitted, and the events are emitted in timestamp
//!   order across streams (a stable sort keeps each stream's own order): the clock then never
//!   goes back, and a packet closed by a flush is stamped no earlier than its events (§4.5);
//! - stream `n` is the session's `n`-th ring, so every CPU up to the highest gets a ring;
//! - the session registers its own void class first, so class IDs may start above the
//!   scenario's `first_event_id` when that is 0.

use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc,
};

use tracemark_format::ClockClass;
use tracemark_writer::{ring::RingSession, Clock, Config, MemorySink, RawHandle};

use crate::{encode, rust_writer::scenario_clock, rust_writer::WriteError, Scenario};

/// A clock that reads what it was last set to; clones share it.
#[derive(Clone, Default)]
struct ScriptedClock(Arc<AtomicU64>);

impl Clock for ScriptedClock {
    fn now(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }

    fn class(&self) -> ClockClass {
        scenario_clock()
    }
}

/// The ring's sub-buffer size for a scenario's packet size.
pub fn ring_packet_size(packet_size: u32) -> u32 {
    packet_size.max(256).next_power_of_two()
}

/// Writes the scenario through a [`RingSession`] in the single-file form (§9.2).
///
/// Every ring holds all of its stream's events without dropping any (discard mode, and a
/// sub-buffer per event at worst), so a scenario whose events each fit a packet is written
/// whole; an event larger than a packet is refused as the ring refuses it.
pub fn single_file(scenario: &Scenario) -> Result<Vec<u8>, WriteError> {
    let packet_size = ring_packet_size(scenario.packet_size);
    let config =
        Config::with_uuid(scenario.uuid).abi(scenario.abi).crc(scenario.crc).packet_size(packet_size);
    let config = config.header_word(scenario.header_word);
    let most_per_cpu = scenario
        .cpus()
        .iter()
        .map(|cpu| scenario.events.iter().filter(|event| event.cpu == *cpu).count())
        .max()
        .unwrap_or(0);
    // Room for every event in its own packet, plus the open one: nothing is ever discarded.
    let subbufs = (most_per_cpu + 2).next_power_of_two();
    let clock = ScriptedClock::default();
    let sink = MemorySink::new();
    let session =
        RingSession::builder(config).subbufs(subbufs).build_with_clock(clock.clone(), sink.clone())?;
    // The session has registered its void class already, so IDs start above 0; only a later
    // first ID can be asked for (the reader matches events by name anyway).
    if scenario.first_event_id > 0 {
        session.set_next_event_id(scenario.first_event_id)?;
    }
    let handles: Vec<RawHandle> = scenario
        .classes
        .iter()
        .map(|class| session.register_fields(&class.name, 255, class.fields.clone()))
        .collect::<Result<_, _>>()?;
    let last_cpu = scenario.cpus().last().copied().unwrap_or(0);
    let streams = (0..=last_cpu).map(|_| session.stream()).collect::<Result<Vec<_>, _>>()?;
    let mut order: Vec<usize> = (0..scenario.events.len()).collect();
    order.sort_by_key(|&index| scenario.events[index].timestamp);
    for index in order {
        let event = &scenario.events[index];
        let class = &scenario.classes[event.class];
        let len =
            encode::fields_size(&class.fields, &event.values, &scenario.abi).map_err(WriteError::Value)?;
        clock.0.store(event.timestamp, Ordering::Release);
        let stream = &streams[event.cpu as usize];
        let written = stream.emit_with(handles[event.class], len, |payload| {
            encode::write_fields(&class.fields, &event.values, payload)
        })?;
        if !written {
            return Err(WriteError::Writer(tracemark_writer::Error::Sink(format!(
                "the ring dropped event {index} (cpu {}), which should have had room",
                event.cpu
            ))));
        }
    }
    drop(streams);
    session.finish()?;
    Ok(sink.bytes())
}
