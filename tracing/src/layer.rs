//! The layer: each thread writes into its own ring of the session (a [`RingStream`] kept in a
//! thread-local, given back when the thread ends), without locks or allocation once its
//! classes are known.

use std::{
    cell::RefCell,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
};

use rustc_hash::FxHashMap;
use tracemark_writer::{
    ring::{Discard, Local, RingSession, RingStream},
    PayloadWriter, RawHandle,
};
use tracing_core::{
    callsite::Identifier,
    span::{Attributes, Id, Record},
    Event, Metadata, Subscriber,
};
use tracing_subscriber::{layer::Context, registry::LookupSpan, Layer};

use crate::{
    classes::{class_fields, class_name, log_level, Role},
    record::Recorder,
    LayerClock,
};

/// The ring session a layer writes into: build it with
/// [`build_with_clock`](tracemark_writer::ring::RingSessionBuilder::build_with_clock) and a
/// [`LayerClock`].
pub type Session = RingSession<Discard, LayerClock, Local>;
type Stream = RingStream<Discard, LayerClock, Local>;

/// What the layer could not record, counted (besides what the rings dropped when full, which
/// the trace itself counts, §10.1).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Records made after the guard closed the layer.
    pub(crate) after_close: AtomicU64,
    /// Records made while the same thread was inside the layer (a `Debug` implementation that
    /// logs), or while the thread was ending.
    pub(crate) reentrant: AtomicU64,
    /// Records the writer refused: a class it would not register, a record larger than a
    /// packet, no stream to be had.
    pub(crate) refused: AtomicU64,
}

/// State shared by a layer's clones and its guard.
pub(crate) struct Shared {
    /// Tells this layer's entries in a thread's state from another layer's.
    id: u64,
    pub(crate) session: Session,
    pub(crate) closed: AtomicBool,
    pub(crate) counters: Counters,
}

impl Shared {
    pub(crate) fn new(session: Session) -> Shared {
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        Shared {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            session,
            closed: AtomicBool::new(false),
            counters: Counters::default(),
        }
    }
}

/// A thread's state: its values being recorded, its streams (one per layer), the classes it
/// has met.
#[derive(Default)]
struct ThreadState {
    recorder: Recorder,
    streams: Vec<(u64, Stream)>,
    classes: Classes,
}

/// (layer, callsite, role) to the classes met so far, each with its signature.
type Classes = FxHashMap<(u64, Identifier, Role), Vec<(Box<[u8]>, RawHandle)>>;

thread_local! {
    static THREAD: RefCell<ThreadState> = RefCell::new(ThreadState::default());
}

/// Drops this thread's stream of layer `id`, giving its slot back.
pub(crate) fn release_stream(id: u64) {
    let _ = THREAD.try_with(|state| {
        if let Ok(mut state) = state.try_borrow_mut() {
            state.streams.retain(|(layer, _)| *layer != id);
        }
    });
}

impl Shared {
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// Records one `role` record of callsite `metadata`: the leading IDs, then what `visit`
    /// records.
    fn write(
        &self,
        metadata: &'static Metadata<'static>,
        role: Role,
        ids: &[u64],
        visit: impl FnOnce(&mut Recorder),
    ) {
        if self.closed.load(Ordering::Acquire) {
            self.counters.after_close.fetch_add(1, Ordering::Relaxed);
            release_stream(self.id);
            return;
        }
        let done = THREAD.try_with(|state| {
            let Ok(mut state) = state.try_borrow_mut() else { return false };
            let ThreadState { recorder, streams, classes } = &mut *state;
            recorder.clear();
            visit(recorder);
            let handle = match class(&self.session, self.id, classes, metadata, role, recorder) {
                Some(handle) => handle,
                None => {
                    self.counters.refused.fetch_add(1, Ordering::Relaxed);
                    return true;
                }
            };
            let Some(stream) = stream(&self.session, self.id, streams) else {
                self.counters.refused.fetch_add(1, Ordering::Relaxed);
                return true;
            };
            let recorder = &*recorder;
            let len = ids.len() * 8 + recorder.payload_len(&self.session.config().abi);
            // Ok(false): the ring was full and dropped it, counted in the trace (§10.1).
            match stream.emit_with(handle, len, |out| encode(out, ids, recorder)) {
                Ok(_) => {}
                // The guard sealed this thread's ring after the check above.
                Err(tracemark_writer::Error::Finished) => {
                    self.counters.after_close.fetch_add(1, Ordering::Relaxed);
                }
                Err(_) => {
                    self.counters.refused.fetch_add(1, Ordering::Relaxed);
                }
            }
            true
        });
        if !done.unwrap_or(false) {
            self.counters.reentrant.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The class of this record, registered the first time this thread meets it.
fn class(
    session: &Session,
    layer: u64,
    classes: &mut Classes,
    metadata: &'static Metadata<'static>,
    role: Role,
    recorder: &Recorder,
) -> Option<RawHandle> {
    let known = classes.entry((layer, metadata.callsite(), role)).or_default();
    // Compared byte by byte: signatures are a few bytes, and `memcmp` through the PLT took a
    // quarter of the layer's time.
    let same = |signature: &[u8]| {
        signature.len() == recorder.signature.len()
            && signature.iter().zip(&recorder.signature).all(|(a, b)| a == b)
    };
    if let Some((_, handle)) = known.iter().find(|(signature, _)| same(signature)) {
        return Some(*handle);
    }
    let fields = class_fields(metadata, role, recorder);
    let handle =
        session.register_fields(&class_name(metadata, role), log_level(metadata.level()), fields).ok()?;
    known.push((recorder.signature.clone().into_boxed_slice(), handle));
    Some(handle)
}

/// This thread's stream of the session, taken the first time it records.
fn stream<'s>(session: &Session, layer: u64, streams: &'s mut Vec<(u64, Stream)>) -> Option<&'s Stream> {
    let index = match streams.iter().position(|(id, _)| *id == layer) {
        Some(index) => index,
        None => {
            streams.push((layer, session.stream().ok()?));
            streams.len() - 1
        }
    };
    streams.get(index).map(|(_, stream)| stream)
}

/// Writes the payload: the IDs, then each recorded value.
fn encode(out: &mut PayloadWriter<'_>, ids: &[u64], recorder: &Recorder) {
    for id in ids {
        out.write_u64(*id);
    }
    recorder.encode(out);
}

/// A `tracing_subscriber` layer writing spans and events into a tracemark trace; see the crate
/// documentation.
#[derive(Clone)]
pub struct TracemarkLayer {
    pub(crate) shared: Arc<Shared>,
}

impl<S> Layer<S> for TracemarkLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let parent = attrs.parent().cloned().or_else(|| {
            if attrs.is_contextual() {
                ctx.current_span().id().cloned()
            } else {
                None
            }
        });
        // Span IDs are never 0: 0 says there is no parent.
        let ids = [id.into_u64(), parent.map_or(0, |parent| parent.into_u64())];
        self.shared.write(attrs.metadata(), Role::SpanNew, &ids, |recorder| attrs.record(recorder));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            self.shared.write(span.metadata(), Role::SpanRecord, &[id.into_u64()], |recorder| {
                values.record(recorder)
            });
        }
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        self.shared.write(event.metadata(), Role::Event, &[], |recorder| event.record(recorder));
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            self.shared.write(span.metadata(), Role::Enter, &[id.into_u64()], |_| {});
        }
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            self.shared.write(span.metadata(), Role::Exit, &[id.into_u64()], |_| {});
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(&id) {
            self.shared.write(span.metadata(), Role::Close, &[id.into_u64()], |_| {});
        }
    }
}
