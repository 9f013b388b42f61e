//! [`LocalTrace`]: a single-threaded trace (`no_std` + `alloc`): the registry and the sink
//! together, so every data packet is preceded by the metadata it needs (§7.6).

use tracemark_format::{ClockClass, EnvValue};

use crate::{
    packet::{PacketInfo, PacketSink},
    Clock, Config, EventHandle, EventType, RawHandle, Registry, Result, StreamOutput, StreamWriter,
    TraceDescription,
};

/// A trace written from one thread: a [`Registry`] and a [`PacketSink`]. Pass it to
/// [`StreamWriter`] calls as their [`StreamOutput`].
///
/// ```
/// use tracemark_writer::{event, Config, LocalTrace, ManualClock, StreamWriter, TraceDescription};
///
/// event! { pub struct Tick("tick") { pub n: u32 } }
///
/// let clock = ManualClock::new(1_000);
/// let config = Config::with_uuid([1; 16]).packet_size(4096);
/// let mut trace = LocalTrace::new(&config, TraceDescription::unknown(), &clock, Vec::new())?;
/// let tick = trace.register::<Tick>()?;
/// let mut memory = vec![0u8; 4096];
/// let mut stream = StreamWriter::new(trace.stream_params(0)?, &mut memory[..], &clock)?;
/// stream.emit(&mut trace, tick, &Tick { n: 1 })?;
/// stream.flush(&mut trace)?;
/// let bytes = trace.finish()?; // the single-file form (§9.2)
/// assert_eq!(&bytes[..4], &0x4B4D5254u32.to_ne_bytes());
/// # Ok::<(), tracemark_writer::Error>(())
/// ```
#[derive(Debug)]
pub struct LocalTrace<S> {
    registry: Registry,
    sink: S,
    stream_class_id: u32,
}

impl<S: PacketSink> LocalTrace<S> {
    /// A trace with one clock (from `clock`) and one stream class, `default`, using it.
    pub fn new<C: Clock>(
        config: &Config,
        description: TraceDescription,
        clock: &C,
        sink: S,
    ) -> Result<LocalTrace<S>> {
        Self::with_clock_class(config, description, clock.class(), sink)
    }

    /// Like [`LocalTrace::new`] with an explicit CLOCK record.
    pub fn with_clock_class(
        config: &Config,
        description: TraceDescription,
        clock: ClockClass,
        sink: S,
    ) -> Result<LocalTrace<S>> {
        let mut registry = Registry::new(config, description)?;
        let clock_id = registry.add_clock(clock)?;
        let stream_class_id = registry.add_stream_class("default", clock_id)?;
        Ok(LocalTrace { registry, sink, stream_class_id })
    }

    /// The registry, to declare more stream classes, env entries or classes.
    pub fn registry(&mut self) -> &mut Registry {
        &mut self.registry
    }

    /// The sink.
    pub fn sink(&mut self) -> &mut S {
        &mut self.sink
    }

    /// The default stream class.
    pub fn stream_class_id(&self) -> u32 {
        self.stream_class_id
    }

    /// Registers `E` in the default stream class.
    pub fn register<E: EventType + ?Sized>(&mut self) -> Result<EventHandle<E>> {
        self.registry.register::<E>(self.stream_class_id)
    }

    /// Adds an ENV record.
    pub fn set_env(&mut self, key: &str, value: EnvValue) -> Result<()> {
        self.registry.set_env(key, value)
    }

    /// Parameters for a writer of instance `stream_instance_id` of the default stream class.
    pub fn stream_params(&self, stream_instance_id: u32) -> Result<crate::StreamParams> {
        self.registry.stream_params(self.stream_class_id, stream_instance_id)
    }

    /// Flushes `stream`'s open packet.
    pub fn flush_stream<B: AsRef<[u8]> + AsMut<[u8]>, C: Clock>(
        &mut self,
        stream: &mut StreamWriter<B, C>,
    ) -> Result<()> {
        stream.flush(self)
    }

    /// Delivers the queued metadata, finishes the sink ([`PacketSink::finish`]: a file sink
    /// writes its index) and returns it. Flush the streams first.
    pub fn finish(mut self) -> Result<S> {
        self.registry.flush(&mut self.sink)?;
        self.sink.finish()?;
        Ok(self.sink)
    }
}

impl<S: PacketSink> StreamOutput for LocalTrace<S> {
    fn data_packet(&mut self, packet: &[u8], info: &PacketInfo) -> Result<()> {
        self.registry.flush(&mut self.sink)?;
        self.sink.write_packet(packet, info)
    }

    fn marker_class(&mut self, stream_class_id: u32, name: &str, format: &str) -> Result<RawHandle> {
        self.registry.register_marker(stream_class_id, name, format)
    }
}
