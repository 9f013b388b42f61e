//! `tracemark demo`: a small simulated kernel traced by the reference writer's lock-free ring
//! buffer ([`RingSession`]: one ring per thread slot, a consumer thread writing the packets).
//!
//! Several threads play CPUs. Each emits scheduler switches, system call entries and exits,
//! network receives and a debug marker, so the trace exercises fixed and ABI-sized integers,
//! strings, arrays, sequences, an enumeration, a nested struct and a format-string marker.

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::ExitCode,
    time::Instant,
};

use clap::Args;
use tracemark_format::{Abi, ByteOrder};
use tracemark_reader::{Item, Trace};
use tracemark_writer::{
    enum_type, event, ring::RingSession, struct_type, CLong, CULong, Config, EnvValue, MarkerArg, Pointer,
    SizeT,
};

use crate::CliResult;

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to write the trace: a directory, or a file with `--single-file`.
    path: PathBuf,
    /// Simulated CPUs, one writer thread each.
    #[arg(long, default_value_t = 4)]
    threads: u32,
    /// Loop iterations per thread (each writes several events).
    #[arg(long, default_value_t = 2500)]
    iterations: u32,
    /// Write the single-file form (§9.2) instead of a directory (§9.1).
    #[arg(long)]
    single_file: bool,
    /// Write as a big-endian 32-bit kernel would (ILP32, opposite byte order on x86).
    #[arg(long)]
    foreign_abi: bool,
    /// How many events to print back after recording.
    #[arg(long, default_value_t = 8)]
    show: usize,
}

enum_type! {
    /// Linux task states, as `prev_state` reports them.
    pub enum TaskState: CLong { Running = 0, Interruptible = 1, Uninterruptible = 2, Stopped = 4, Dead = 16 }
}

struct_type! {
    /// An IPv4 endpoint.
    pub struct Endpoint { pub addr: [u8; 4], pub port: u16 }
}

event! {
    /// A context switch.
    pub struct SchedSwitch<'a>("sched_switch", log_level = 6) {
        pub prev_comm: &'a str,
        pub prev_pid: i32,
        pub prev_prio: i32,
        pub prev_state: TaskState,
        pub next_comm: &'a str,
        pub next_pid: i32,
        pub next_prio: i32,
    }
}

event! {
    /// System call entry: number and raw arguments, `unsigned long` as the kernel passes them.
    pub struct SysEnter("sys_enter", log_level = 7) {
        pub id: CLong,
        pub args: [CULong; 6],
    }
}

event! {
    /// System call exit.
    pub struct SysExit("sys_exit", log_level = 7) {
        pub id: CLong,
        pub ret: CLong,
    }
}

event! {
    /// A received packet: sizes, endpoints and the first bytes of the frame.
    pub struct NetReceive<'a>("net_receive", log_level = 6) {
        pub skbaddr: Pointer,
        pub len: SizeT,
        pub source: Endpoint,
        pub dest: Endpoint,
        pub head: &'a [u8],
    }
}

/// A simulated CPU's stream: a thread slot of the ring session.
type DemoStream = tracemark_writer::ring::RingStream<
    tracemark_writer::ring::Discard,
    tracemark_writer::MonotonicClock,
    tracemark_writer::ring::Local,
>;

const COMMS: [&str; 6] = ["swapper/0", "bash", "kworker/u8:2", "sshd", "cc1", "rustc"];

pub fn run(args: &DemoArgs) -> CliResult {
    let mut config = Config::default();
    if args.foreign_abi {
        config = config.abi(Abi::ilp32(ByteOrder::NATIVE.opposite()));
    }
    let builder = RingSession::builder(config)
        .env("demo_threads", EnvValue::Int(args.threads.into()))
        .env("demo", EnvValue::Str("simulated scheduler, syscalls and network".into()));
    let session = if args.single_file {
        builder.build(tracemark_writer::FileSink::create(&args.path)?)?
    } else {
        // Counts per stream beside the trace (§9.5): a demo killed midway says what it lost.
        let progress = args.path.join(tracemark_format::progress::FILE_NAME);
        builder.progress_file(progress).build(tracemark_writer::DirectorySink::create(&args.path)?)?
    };
    let switch = session.register::<SchedSwitch>()?;
    let enter = session.register::<SysEnter>()?;
    let exit = session.register::<SysExit>()?;
    let receive = session.register::<NetReceive>()?;

    let started = Instant::now();
    // Every simulated CPU holds its stream (a thread slot) for the whole run, so each gets a
    // stream of its own: a slot given back early would be reused by the next thread.
    let taken = std::sync::Barrier::new(args.threads as usize);
    let done = std::sync::Barrier::new(args.threads as usize);
    std::thread::scope(|scope| -> Result<(), tracemark_writer::Error> {
        let workers: Vec<_> = (0..args.threads)
            .map(|cpu| {
                let (session, taken, done) = (&session, &taken, &done);
                scope.spawn(move || -> Result<(), tracemark_writer::Error> {
                    let simulate_cpu = |stream: &mut DemoStream| -> Result<(), tracemark_writer::Error> {
                        let mut pid = 1000 + cpu as i32 * 100;
                        for step in 0..args.iterations {
                            let next = 1000 + ((step as i32 * 7 + cpu as i32) % 400);
                            stream.emit(
                                switch,
                                &SchedSwitch {
                                    prev_comm: COMMS[(pid as usize) % COMMS.len()],
                                    prev_pid: pid,
                                    prev_prio: 120,
                                    prev_state: [
                                        TaskState::Running,
                                        TaskState::Interruptible,
                                        TaskState::Dead,
                                    ][(step % 3) as usize],
                                    next_comm: COMMS[(next as usize) % COMMS.len()],
                                    next_pid: next,
                                    next_prio: 120 - (step % 20) as i32,
                                },
                            )?;
                            pid = next;
                            let syscall = i64::from(step % 300);
                            let mut call_args = [CULong(0); 6];
                            for (index, arg) in call_args.iter_mut().enumerate() {
                                *arg = CULong(u64::from(step) << index);
                            }
                            stream.emit(enter, &SysEnter { id: CLong(syscall), args: call_args })?;
                            stream.emit(
                                exit,
                                &SysExit { id: CLong(syscall), ret: CLong(-(i64::from(step % 5))) },
                            )?;
                            if step % 4 == 0 {
                                let head = [0x45, 0x00, (step >> 8) as u8, step as u8, 0xde, 0xad];
                                stream.emit(
                                    receive,
                                    &NetReceive {
                                        skbaddr: Pointer(0xffff_8880_0000_0000 + u64::from(step) * 256),
                                        len: SizeT(64 + u64::from(step % 1400)),
                                        source: Endpoint { addr: [10, 0, 0, cpu as u8], port: 443 },
                                        dest: Endpoint {
                                            addr: [192, 168, 1, (step % 250) as u8],
                                            port: 40000,
                                        },
                                        head: &head[..(step % 7) as usize],
                                    },
                                )?;
                            }
                            if step % 100 == 0 {
                                stream.marker(
                                    "work_done",
                                    "item %u took_ns %llu worker %s",
                                    &[
                                        MarkerArg::UInt(step.into()),
                                        MarkerArg::UInt(u64::from(step) * 1_000),
                                        MarkerArg::Str(COMMS[cpu as usize % COMMS.len()]),
                                    ],
                                )?;
                            }
                        }
                        Ok(())
                    };
                    let mut stream = session.stream();
                    taken.wait();
                    // Reaches `done` on every path, so no worker waits for one that failed.
                    let result = match &mut stream {
                        Ok(stream) => simulate_cpu(stream),
                        Err(_) => Ok(()),
                    };
                    done.wait();
                    stream.and(result)
                })
            })
            .collect();
        workers.into_iter().try_for_each(|worker| worker.join().expect("demo worker panicked"))
    })?;
    let summary = session.finish()?;
    let elapsed = started.elapsed();

    println!(
        "wrote {} ({})",
        args.path.display(),
        if args.single_file { "single file" } else { "directory" }
    );
    println!(
        "  {} events from {} threads in {:.1} ms (threads, recording and flush), {} discarded",
        summary.events_written,
        args.threads,
        elapsed.as_secs_f64() * 1e3,
        summary.events_discarded
    );
    println!(
        "  {} data packets, {} metadata packets, {} bytes ({:.1} bytes/event)",
        summary.data_packets,
        summary.metadata_packets,
        summary.bytes,
        summary.bytes as f64 / summary.events_written.max(1) as f64
    );
    let read_back = read_back(&args.path, args.show)?;
    println!("  read back {read_back} events in time order");
    if read_back != summary.events_written {
        eprintln!(
            "tracemark: the reader found {read_back} events, the writer wrote {}",
            summary.events_written
        );
        return Ok(ExitCode::FAILURE);
    }
    println!("next: tracemark dump {}    (or: tracemark info {})", args.path.display(), args.path.display());
    Ok(ExitCode::SUCCESS)
}

/// Reads the trace back, prints the first `show` events, and counts them all.
fn read_back(path: &Path, show: usize) -> Result<u64, Box<dyn std::error::Error>> {
    let trace = Trace::open(path)?;
    let mut count = 0u64;
    let mut stdout = std::io::stdout().lock();
    let mut lines = crate::line::LineWriter::new();
    for item in trace.events() {
        match item {
            Item::Event(event) => {
                if (count as usize) < show {
                    write!(stdout, "    ")?;
                    lines.write(&mut stdout, &event, false)?;
                }
                count += 1;
            }
            Item::Diagnostic(diagnostic) => eprintln!("warning: {diagnostic}"),
        }
    }
    Ok(count)
}
