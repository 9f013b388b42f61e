//! Read-only file maps that survive the file shrinking under them.
//!
//! Touching a page of a shared file map that lies wholly past the file's end raises `SIGBUS`,
//! which kills the process by default: log rotation, a restarted writer or a cleaned-up live
//! trace would kill every tool reading the trace. On Linux, the first [`MappedFile`] installs
//! a `SIGBUS` handler that recognises a fault inside one of this module's maps and puts a
//! zero-filled private page in place of the missing one, so that the access completes. The
//! reader never delivers those zeros: it compares each packet with the file's length *now*
//! ([`MappedFile::len_now`]) after decoding it and before delivering its records, and reports a
//! packet that the file no longer holds whole as truncated (§10.4).
//!
//! A fault anywhere else goes to the handler installed before ours (or to the default action,
//! which kills the process as it would have without us). The hot path pays nothing: the
//! handler runs only on such a fault, and the length check is one `fstat` per packet.
//!
//! Maps are registered in a fixed table that the handler reads without locking; when it is
//! full (more than [`MAX_GUARDED`] files mapped at once), [`MappedFile::open`] declines, and
//! the caller reads the file into memory instead.

use std::{fs::File, io};

/// How many maps can be guarded at once.
pub(crate) const MAX_GUARDED: usize = 1024;

/// A read-only shared map of a whole file, guarded against the file shrinking (on Linux).
pub struct MappedFile {
    map: memmap2::Mmap,
    file: File,
    #[cfg(target_os = "linux")]
    slot: usize,
}

impl std::fmt::Debug for MappedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MappedFile ({} bytes)", self.map.len())
    }
}

impl MappedFile {
    /// Maps `file`, which must not be empty. `Ok(None)` when no guard slot is free: the caller
    /// then reads the file instead of mapping it.
    pub fn open(file: File) -> io::Result<Option<MappedFile>> {
        let map = map_file(&file)?;
        #[cfg(target_os = "linux")]
        {
            let Some(slot) = guard::register(map.as_ptr() as usize, map.len()) else {
                return Ok(None);
            };
            Ok(Some(MappedFile { map, file, slot }))
        }
        #[cfg(not(target_os = "linux"))]
        Ok(Some(MappedFile { map, file }))
    }

    /// The mapped bytes, as long as the file was when it was mapped. Past the file's current
    /// end ([`MappedFile::len_now`]) they read as zeros.
    pub fn bytes(&self) -> &[u8] {
        &self.map
    }

    /// The file, for `pread`.
    pub(crate) fn file(&self) -> &File {
        &self.file
    }

    /// How many of the mapped bytes the file still holds: the map's length, unless the file
    /// has shrunk since (or cannot be asked, which counts as empty).
    pub fn len_now(&self) -> usize {
        let now = self.file.metadata().map_or(0, |meta| meta.len());
        usize::try_from(now).unwrap_or(usize::MAX).min(self.map.len())
    }

    /// Gives back the resident pages lying wholly inside `[start, end)` (`madvise(MADV_DONTNEED)`
    /// on this read-only shared map: reading them again faults them back in from the file).
    pub fn release(&self, start: usize, end: usize) {
        let start = start.checked_next_multiple_of(PAGE).unwrap_or(usize::MAX);
        let end = end.min(self.map.len()) / PAGE * PAGE;
        if start < end {
            release_pages(&self.map, start, end - start);
        }
    }
}

impl MappedFile {
    /// Asks the kernel to bring `[start, end)` into the page cache now, and only that
    /// (`madvise(MADV_WILLNEED)`). A fault on a page that is not cached reads the pages around
    /// it too, up to the device's `read_ahead_kb` (8 MiB on this project's virtio disks): a
    /// reader that knows which few packets of a large file it will read says so, and their
    /// pages are then found where a fault would have read megabytes around each.
    pub(crate) fn will_need(&self, start: usize, end: usize) {
        let start = start / PAGE * PAGE;
        let end = end.min(self.map.len());
        #[cfg(unix)]
        if start < end {
            // Advice is an optimisation: a failure only leaves the kernel to its own guess.
            drop(self.map.advise_range(memmap2::Advice::WillNeed, start, end - start));
        }
    }
}

#[cfg(target_os = "linux")]
impl Drop for MappedFile {
    fn drop(&mut self) {
        guard::unregister(self.slot);
    }
}

/// The granularity of [`MappedFile::release`]: a page, the smallest on the platforms we run
/// on. With larger pages, the kernel rounds the range (see [`release_pages`]).
const PAGE: usize = 4096;

/// Drops `len` bytes of `map` from `offset` (page-aligned, inside the map) from the process's
/// resident set, with `madvise(MADV_DONTNEED)`. Without it, reading a 1 GB trace through a
/// map leaves 1 GB resident; with it, the resident set stays at a few packets per stream.
#[allow(unsafe_code)]
fn release_pages(map: &memmap2::Mmap, offset: usize, len: usize) {
    // SAFETY: memmap2 marks `DontNeed` unsafe because on private or anonymous mappings the
    // pages come back zero-filled, changing memory that `&[u8]` borrows. `Mmap::map` creates a
    // read-only *shared file* mapping (`PROT_READ`, `MAP_SHARED`), for which madvise(2) says
    // that later accesses repopulate the pages "from the up-to-date contents of the underlying
    // mapped file". The pages the guard replaced after the file shrank are private and zero,
    // and come back zero: the same bytes. The range is inside the map (checked by
    // `MappedFile::release`).
    let result = unsafe { map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, offset, len) };
    // Advice is an optimisation: a failure leaves the pages resident, nothing more.
    drop(result);
}

/// Maps `file` read-only: a container file, or a chunk of the decompressed-records arena.
#[allow(unsafe_code)]
pub(crate) fn map_file(file: &File) -> io::Result<memmap2::Mmap> {
    // SAFETY: `Mmap::map` is unsafe because the slice it hands out aliases file contents that
    // another process could modify or truncate while the mapping lives, which Rust's `&[u8]`
    // cannot express. Truncation is survived (the guard below, registered before any byte is
    // read); a file rewritten in place shows other bytes, which the reader treats as the
    // untrusted input it always is, bounds-checking every access (a packet's CRC catches the
    // change). The bytes are never written through the map. The other files mapped here are
    // the chunks of the decompressed-records arena (`crate::decompress`): unlinked temporary
    // files no other process can open, never truncated, each region written once through the
    // file before any of its bytes are read through the map, and never written again.
    unsafe { memmap2::Mmap::map(file) }
}

/// The `SIGBUS` handler and the table of guarded maps it consults.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
mod guard {
    use std::sync::{
        atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering},
        Once,
    };

    use super::MAX_GUARDED;

    /// One guarded map: `[start, start + len)`, live while `len` is not 0.
    struct Region {
        claimed: AtomicBool,
        start: AtomicUsize,
        len: AtomicUsize,
    }

    #[allow(clippy::declare_interior_mutable_const)]
    const FREE: Region =
        Region { claimed: AtomicBool::new(false), start: AtomicUsize::new(0), len: AtomicUsize::new(0) };
    static REGIONS: [Region; MAX_GUARDED] = [FREE; MAX_GUARDED];

    /// The page size, read when the handler is installed.
    static PAGE_SIZE: AtomicUsize = AtomicUsize::new(4096);
    /// The action installed before ours, to which faults outside our maps go.
    static PREVIOUS: AtomicPtr<libc::sigaction> = AtomicPtr::new(std::ptr::null_mut());
    static INSTALL: Once = Once::new();

    /// Registers `[start, start + len)`; the slot, or `None` when every slot is taken.
    pub(super) fn register(start: usize, len: usize) -> Option<usize> {
        INSTALL.call_once(install);
        let slot = REGIONS.iter().position(|region| {
            region.claimed.compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed).is_ok()
        })?;
        let region = REGIONS.get(slot)?;
        region.start.store(start, Ordering::Relaxed);
        // Published last: the handler reads `len` first.
        region.len.store(len, Ordering::Release);
        Some(slot)
    }

    pub(super) fn unregister(slot: usize) {
        if let Some(region) = REGIONS.get(slot) {
            region.len.store(0, Ordering::Release);
            region.claimed.store(false, Ordering::Release);
        }
    }

    fn install() {
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        if let Ok(page) = usize::try_from(page) {
            if page.is_power_of_two() {
                PAGE_SIZE.store(page, Ordering::Relaxed);
            }
        }
        // SAFETY: `sigaction` is plain data, for which all zeros is a valid value.
        let mut previous: libc::sigaction = unsafe { std::mem::zeroed() };
        // SAFETY: a null new action only reads the current one into `previous`.
        if unsafe { libc::sigaction(libc::SIGBUS, std::ptr::null(), &mut previous) } != 0 {
            return;
        }
        PREVIOUS.store(Box::into_raw(Box::new(previous)), Ordering::Release);
        // SAFETY: as above.
        let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
        let handler: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) = on_sigbus;
        action.sa_sigaction = handler as *const () as usize;
        action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
        // SAFETY: `sa_mask` is a valid `sigset_t` to empty.
        unsafe { libc::sigemptyset(&mut action.sa_mask) };
        // SAFETY: `action` is a fully initialised action whose handler has the `SA_SIGINFO`
        // signature; the previous action was saved above.
        unsafe { libc::sigaction(libc::SIGBUS, &action, std::ptr::null_mut()) };
    }

    /// Whether `address` lies in a guarded map.
    fn guarded(address: usize) -> bool {
        REGIONS.iter().any(|region| {
            let len = region.len.load(Ordering::Acquire);
            let start = region.start.load(Ordering::Relaxed);
            len != 0 && address >= start && address - start < len
        })
    }

    /// Runs on `SIGBUS`, on the faulting thread. Only async-signal-safe work: atomic loads,
    /// `mmap` (a system call), `errno`, and the previous handler.
    extern "C" fn on_sigbus(signal: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
        // SAFETY: the kernel passes a valid `siginfo_t` to an `SA_SIGINFO` handler; for
        // SIGBUS, `si_addr` is the faulting address.
        let address = if info.is_null() { 0 } else { unsafe { (*info).si_addr() as usize } };
        if address != 0 && guarded(address) {
            let page_size = PAGE_SIZE.load(Ordering::Relaxed);
            let page = address & !(page_size - 1);
            // SAFETY: `errno` is thread-local; it is restored so that the interrupted code
            // does not see ours.
            let errno = unsafe { *libc::__errno_location() };
            // SAFETY: the page lies inside a live read-only map of ours (`guarded`), whose
            // pages past the file's end can hold nothing but a fault: replacing it with a
            // private zero page (`MAP_FIXED` onto our own range) changes no byte anyone has
            // read, and the faulting load, re-executed on return, reads zeros.
            let replaced = unsafe {
                libc::mmap(
                    page as *mut libc::c_void,
                    page_size,
                    libc::PROT_READ,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                    -1,
                    0,
                )
            };
            // SAFETY: as above.
            unsafe { *libc::__errno_location() = errno };
            if replaced != libc::MAP_FAILED {
                return;
            }
        }
        chain(signal, info, context);
    }

    /// Hands a fault that is not ours to the previous action; with none, restores the
    /// default action, so that the faulting access, re-executed, ends the process as it would
    /// have without us.
    fn chain(signal: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
        let previous = PREVIOUS.load(Ordering::Acquire);
        // SAFETY: `PREVIOUS` is null or a leaked, never-freed `sigaction`.
        let previous = unsafe { previous.as_ref() };
        let handler = previous.map_or(libc::SIG_DFL, |action| action.sa_sigaction);
        if handler == libc::SIG_DFL || handler == libc::SIG_IGN {
            // SAFETY: as in `install`.
            let mut default: libc::sigaction = unsafe { std::mem::zeroed() };
            default.sa_sigaction = libc::SIG_DFL;
            // SAFETY: `sigaction` is async-signal-safe; the action is valid.
            unsafe { libc::sigaction(libc::SIGBUS, &default, std::ptr::null_mut()) };
            return;
        }
        let siginfo = previous.is_some_and(|action| action.sa_flags & libc::SA_SIGINFO != 0);
        if siginfo {
            // SAFETY: an `SA_SIGINFO` action's handler has this signature.
            let handler: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                unsafe { std::mem::transmute(handler) };
            handler(signal, info, context);
        } else {
            // SAFETY: a plain action's handler has this signature.
            let handler: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(handler) };
            handler(signal);
        }
    }
}
