//! Formatting items on several threads and writing the text in the items' order.
//!
//! `tracemark dump` spends most of its time turning values into text (about 1,400 of its
//! 1,900 instructions per realistic event), and each event's text depends on that event
//! alone. So the thread reading the trace gathers events into chunks and hands each to a
//! helper thread with room, formatting it itself when none has; the text of each chunk is
//! written when every chunk before it has been. A chunk holds at most [`CHUNK_ITEMS`] items
//! and [`CHUNK_WEIGHT`] of their weight (an event's record bytes: its text is a small multiple
//! of them), and a bounded number of chunks is in flight, so memory stays bounded whatever the
//! trace, large records included.
//!
//! An item that must not be buffered is a barrier: everything before it is written first,
//! then the caller's `direct` writes it. Diagnostics are (their place among the lines is
//! kept, on another stream), and events whose values may be large, whose text is written in
//! pieces as it is built.

use std::{
    collections::VecDeque,
    io::{self, Write},
    sync::mpsc::{channel, Receiver, Sender, TryRecvError},
};

/// Items per chunk: enough that handing a chunk over costs little per event, few enough
/// that a chunk's text (about 100 KB for realistic events) stays in the caches.
const CHUNK_ITEMS: usize = 1024;

/// Weight per chunk (record bytes, for events): a chunk of large records goes before it has
/// [`CHUNK_ITEMS`] of them. An item heavier than this is a chunk of its own.
const CHUNK_WEIGHT: usize = 256 << 10;

/// Chunks formatted or being formatted, per thread, before the writer waits for the oldest.
const IN_FLIGHT_PER_THREAD: usize = 2;

/// Chunks a helper may have waiting or in hand: the reading thread formats a chunk itself
/// only when every helper has this many.
const QUEUED_PER_HELPER: usize = 2;

/// Items and, once formatted, their text.
struct Chunk<I> {
    items: Vec<I>,
    text: Vec<u8>,
    /// The formatter's error, reported when the chunk's turn to be written comes.
    error: Option<io::Error>,
}

impl<I> Chunk<I> {
    fn new() -> Chunk<I> {
        Chunk { items: Vec::with_capacity(CHUNK_ITEMS), text: Vec::new(), error: None }
    }

    fn format(&mut self, format: &mut impl FnMut(&mut Vec<u8>, &I) -> io::Result<()>) {
        self.text.clear();
        // Dropping the drain drops the items left after an error too.
        for item in self.items.drain(..) {
            if let Err(error) = format(&mut self.text, &item) {
                self.error = Some(error);
                break;
            }
        }
    }
}

/// Where a chunk in flight is.
enum InFlight<I> {
    /// Formatted by the writer's thread.
    Here(Chunk<I>),
    /// With helper `n`, which sends chunks back in the order it got them.
    Helper(usize),
}

/// A helper thread's two channels.
struct Helper<I> {
    jobs: Sender<Chunk<I>>,
    done: Receiver<Chunk<I>>,
    /// Chunks sent and not yet taken back.
    outstanding: usize,
}

/// Writes `items` to `out` in their order, their text made by `format` on this thread and
/// `helpers` others; an item `is_barrier` says must not wait is written by `direct` instead,
/// after everything before it. `weight` bounds a chunk's memory (see [`CHUNK_WEIGHT`]). Stops
/// at the first error, `out`'s or `format`'s, once the text of every item before it is written.
pub fn write_in_order<I, W, F>(
    items: impl Iterator<Item = I>,
    out: &mut W,
    helpers: usize,
    format: F,
    weight: impl Fn(&I) -> usize,
    is_barrier: impl Fn(&I) -> bool,
    mut direct: impl FnMut(&mut W, I) -> io::Result<()>,
) -> io::Result<()>
where
    I: Send,
    W: Write,
    F: FnMut(&mut Vec<u8>, &I) -> io::Result<()> + Clone + Send,
{
    std::thread::scope(|scope| {
        let mut writer = OrderedWriter {
            out,
            format: format.clone(),
            helpers: Vec::with_capacity(helpers),
            in_flight: VecDeque::new(),
            spare: Vec::new(),
        };
        for _ in 0..helpers {
            let (jobs, incoming) = channel::<Chunk<I>>();
            let (finished, done) = channel::<Chunk<I>>();
            let mut format = format.clone();
            scope.spawn(move || {
                for mut chunk in incoming {
                    chunk.format(&mut format);
                    if finished.send(chunk).is_err() {
                        return;
                    }
                }
            });
            writer.helpers.push(Helper { jobs, done, outstanding: 0 });
        }
        let mut chunk = Chunk::new();
        let mut chunk_weight = 0usize;
        for item in items {
            if is_barrier(&item) {
                if !chunk.items.is_empty() {
                    chunk = writer.hand_over(chunk)?;
                    chunk_weight = 0;
                }
                writer.drain()?;
                direct(writer.out, item)?;
                continue;
            }
            chunk_weight = chunk_weight.saturating_add(weight(&item));
            chunk.items.push(item);
            if chunk.items.len() == CHUNK_ITEMS || chunk_weight >= CHUNK_WEIGHT {
                chunk = writer.hand_over(chunk)?;
                chunk_weight = 0;
            }
        }
        if !chunk.items.is_empty() {
            writer.hand_over(chunk)?;
        }
        writer.drain()
        // Returning drops the helpers' channels: they finish their loops and the scope joins
        // them, also after an error.
    })
}

struct OrderedWriter<'w, I, W, F> {
    out: &'w mut W,
    format: F,
    helpers: Vec<Helper<I>>,
    in_flight: VecDeque<InFlight<I>>,
    /// Written chunks, for their memory.
    spare: Vec<Chunk<I>>,
}

impl<I, W, F> OrderedWriter<'_, I, W, F>
where
    W: Write,
    F: FnMut(&mut Vec<u8>, &I) -> io::Result<()>,
{
    /// Gives `chunk` to the least busy helper when one has room, else formats it here; writes
    /// what is ready, and returns an empty chunk to fill next.
    fn hand_over(&mut self, mut chunk: Chunk<I>) -> io::Result<Chunk<I>> {
        let idle = self.helpers.iter_mut().enumerate().min_by_key(|(_, helper)| helper.outstanding);
        match idle.filter(|(_, helper)| helper.outstanding < QUEUED_PER_HELPER) {
            Some((index, helper)) => {
                helper.jobs.send(chunk).map_err(|_| helper_gone())?;
                helper.outstanding += 1;
                self.in_flight.push_back(InFlight::Helper(index));
            }
            None => {
                chunk.format(&mut self.format);
                self.in_flight.push_back(InFlight::Here(chunk));
            }
        }
        let limit = IN_FLIGHT_PER_THREAD * (self.helpers.len() + 1);
        while self.in_flight.len() > limit {
            self.write_oldest(true)?;
        }
        while self.write_oldest(false)? {}
        Ok(self.spare.pop().unwrap_or_else(Chunk::new))
    }

    /// Writes every chunk in flight.
    fn drain(&mut self) -> io::Result<()> {
        while self.write_oldest(true)? {}
        Ok(())
    }

    /// Writes the oldest chunk in flight if it is formatted, or, with `wait`, once it is;
    /// false when there is none, or it is not ready and `wait` is false.
    fn write_oldest(&mut self, wait: bool) -> io::Result<bool> {
        let chunk = match self.in_flight.front() {
            None => return Ok(false),
            Some(InFlight::Here(_)) => match self.in_flight.pop_front() {
                Some(InFlight::Here(chunk)) => chunk,
                _ => return Ok(false),
            },
            Some(&InFlight::Helper(helper)) => {
                let Some(from) = self.helpers.get_mut(helper) else { return Err(helper_gone()) };
                let received = if wait {
                    from.done.recv().map_err(|_| helper_gone())?
                } else {
                    match from.done.try_recv() {
                        Ok(chunk) => chunk,
                        Err(TryRecvError::Empty) => return Ok(false),
                        Err(TryRecvError::Disconnected) => return Err(helper_gone()),
                    }
                };
                from.outstanding = from.outstanding.saturating_sub(1);
                self.in_flight.pop_front();
                received
            }
        };
        let Chunk { items, mut text, error } = chunk;
        self.out.write_all(&text)?;
        if let Some(error) = error {
            return Err(error);
        }
        text.clear();
        self.spare.push(Chunk { items, text, error: None });
        Ok(true)
    }
}

fn helper_gone() -> io::Error {
    io::Error::other("a formatting thread stopped")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &mut Vec<u8>, n: &u32) -> io::Result<()> {
        writeln!(text, "{n}")
    }

    /// Items 0 to 9,999, every 2,500th from the 7th a barrier, as one thread writes them.
    fn expected() -> String {
        (0..10_000u32).map(|n| if n % 2_500 == 7 { format!("!{n}\n") } else { format!("{n}\n") }).collect()
    }

    #[test]
    fn items_come_out_in_order_around_barriers() {
        for helpers in 0..=3 {
            let mut out = Vec::new();
            write_in_order(
                0..10_000u32,
                &mut out,
                helpers,
                line,
                |_| 1,
                |n| n % 2_500 == 7,
                |out, n| writeln!(out, "!{n}"),
            )
            .unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), expected(), "{helpers} helpers");
        }
    }

    #[test]
    fn a_format_error_ends_after_the_items_before_it() {
        for helpers in 0..=2 {
            let mut out = Vec::new();
            let format = |text: &mut Vec<u8>, n: &u32| match n {
                5_000 => Err(io::Error::other("item 5000")),
                _ => line(text, n),
            };
            let error =
                write_in_order(0..10_000u32, &mut out, helpers, format, |_| 1, |_| false, |_, _| Ok(()))
                    .unwrap_err();
            assert_eq!(error.to_string(), "item 5000");
            let before: String = (0..5_000).map(|n| format!("{n}\n")).collect();
            assert_eq!(String::from_utf8(out).unwrap(), before, "{helpers} helpers");
        }
    }

    /// Accepts `room` bytes, then fails as a closed pipe does.
    struct ClosedAfter {
        room: usize,
    }

    impl Write for ClosedAfter {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            if self.room == 0 {
                return Err(io::ErrorKind::BrokenPipe.into());
            }
            let taken = bytes.len().min(self.room);
            self.room -= taken;
            Ok(taken)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn an_output_error_stops_an_endless_input_and_the_helpers() {
        for helpers in 0..=2 {
            let mut out = ClosedAfter { room: 100_000 };
            let error =
                write_in_order(0u32.., &mut out, helpers, line, |_| 1, |_| false, |_, _| Ok(())).unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::BrokenPipe, "{helpers} helpers");
        }
    }

    /// Records each write's text.
    #[derive(Default)]
    struct Writes(Vec<String>);

    impl Write for Writes {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.push(String::from_utf8(bytes.to_vec()).unwrap());
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn heavy_items_make_small_chunks() {
        // Alone, chunks are written as they are formatted: one write each.
        let mut out = Writes::default();
        let heavy = CHUNK_WEIGHT / 3 + 1;
        write_in_order(0..100u32, &mut out, 0, line, |_| heavy, |_| false, |_, _| Ok(())).unwrap();
        assert!(out.0.iter().all(|text| text.lines().count() == 3 || text == "99\n"), "{:?}", out.0);
        assert_eq!(out.0.concat(), (0..100).map(|n| format!("{n}\n")).collect::<String>());
        let mut out = Writes::default();
        write_in_order(0..3_000u32, &mut out, 0, line, |_| 1, |_| false, |_, _| Ok(())).unwrap();
        let sizes: Vec<usize> = out.0.iter().map(|text| text.lines().count()).collect();
        assert_eq!(sizes, [CHUNK_ITEMS, CHUNK_ITEMS, 3_000 - 2 * CHUNK_ITEMS]);
    }
}
