//! Rough per-event cost of the hot path: `cargo run --release -p tracemark-writer --example throughput`.

use std::time::Instant;

use tracemark_writer::{event, CLong, Config, LocalTrace, ManualClock, StreamWriter, TraceDescription};

event! {
    struct SchedSwitch<'a>("sched_switch") {
        prev_comm: &'a str,
        prev_pid: i32,
        prev_state: CLong,
        next_comm: &'a str,
        next_pid: i32,
    }
}

/// Counts packets instead of storing them, so the measurement is the writer's.
#[derive(Default)]
struct Count(u64);

impl tracemark_writer::PacketSink for Count {
    fn write_packet(
        &mut self,
        packet: &[u8],
        _: &tracemark_writer::PacketInfo,
    ) -> tracemark_writer::Result<()> {
        self.0 += packet.len() as u64;
        Ok(())
    }
}

fn main() -> tracemark_writer::Result<()> {
    let clock = ManualClock::new(0);
    let config = Config::with_uuid([1; 16]);
    let mut trace = LocalTrace::new(&config, TraceDescription::unknown(), &clock, Count::default())?;
    let switch = trace.register::<SchedSwitch>()?;
    let mut memory = vec![0u8; config.packet_size as usize];
    let mut stream = StreamWriter::new(trace.stream_params(0)?, &mut memory[..], &clock)?;
    let events = 20_000_000u64;
    let start = Instant::now();
    for i in 0..events {
        let event = SchedSwitch {
            prev_comm: "kworker/0:1",
            prev_pid: i as i32,
            prev_state: CLong(1),
            next_comm: "swapper/0",
            next_pid: 0,
        };
        stream.emit_at(&mut trace, switch, &event, i * 100)?;
    }
    stream.flush(&mut trace)?;
    let elapsed = start.elapsed();
    let bytes = trace.finish()?.0;
    println!(
        "{events} events in {elapsed:?}: {:.1} ns/event, {:.0} MB/s of packets",
        elapsed.as_nanos() as f64 / events as f64,
        bytes as f64 / elapsed.as_secs_f64() / 1e6
    );
    Ok(())
}
