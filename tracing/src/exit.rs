//! Finishing the traces of layers whose guard was never dropped, when the process exits
//! normally (`main` returns, `std::process::exit`): their rings' last packets and the metadata
//! are written then, not lost.

use std::sync::{Arc, Mutex, Once, Weak};

use crate::layer::Shared;

/// The layers whose trace is not finished yet.
static LIVE: Mutex<Vec<Weak<Shared>>> = Mutex::new(Vec::new());
static HOOK: Once = Once::new();

/// Finishes `shared`'s trace at exit, unless its guard did first.
pub(crate) fn finish_at_exit(shared: &Arc<Shared>) {
    let mut live = LIVE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    live.retain(|layer| layer.strong_count() > 0);
    live.push(Arc::downgrade(shared));
    drop(live);
    HOOK.call_once(|| {
        // SAFETY: `atexit` keeps a pointer to a function taking and returning nothing, which
        // `finish_live` is, for the life of the process; it registers nothing and calls no
        // `exit`. A failed registration (returns non-zero) only loses this safety net.
        unsafe { libc::atexit(finish_live) };
    });
}

/// Runs at exit: finishes every live layer's trace (the rings of threads still running are
/// sealed; see [`FlushGuard`](crate::FlushGuard)).
extern "C" fn finish_live() {
    let live = std::mem::take(&mut *LIVE.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
    for shared in live.iter().filter_map(Weak::upgrade) {
        if let Err(error) = crate::finish(&shared, crate::ENDING_THREADS_WAIT) {
            eprintln!("tracemark-tracing: at exit: {error}");
        }
    }
}
