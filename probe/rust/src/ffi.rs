//! The only module with `unsafe` code: the C glue's declarations (`csrc/tmk_ffi.c`), the
//! `#[repr(C)]` mirrors of the core's descriptor structs, and [`RawWriter`], a thin owner of
//! one C writer handle whose methods are safe to call with any argument.
//!
//! How misuse is kept away from C:
//! - every pointer handed to C points into memory this module owns or borrows for the call
//!   ([`CClass`] keeps descriptor trees alive as long as the writer);
//! - strings are `CStr`s, so C's `strlen` stops inside them;
//! - the glue re-checks CPU indices and refuses payload puts past the reservation, and the
//!   safe layer above validates sizes first, so C never writes out of bounds;
//! - struct layouts are compared with the C compiler's at run time ([`check_layout`]).

use core::ffi::{c_char, c_int, c_long, c_longlong, c_short, c_uint, c_ulong, c_ulonglong, c_ushort, c_void};
use std::{
    ffi::{CStr, CString},
    mem::{offset_of, size_of},
    ptr::{self, NonNull},
    sync::Once,
};

use tracemark_format::{types::code, EnumMapping, Field, TypeDesc};

/// `struct tmk_enum_map`.
#[repr(C)]
struct CEnumMap {
    label: *const c_char,
    lo: u64,
    hi: u64,
}

/// `struct tmk_type`.
#[repr(C)]
struct CType {
    code: u8,
    nr: u16,
    length: u32,
    elem: *const CType,
    maps: *const CEnumMap,
    fields: *const CField,
}

/// `struct tmk_field`.
#[repr(C)]
struct CField {
    name: *const c_char,
    ty: *const CType,
}

/// `struct tmk_event_class`.
#[repr(C)]
struct CEventClass {
    id: u32,
    stream_class_id: u32,
    log_level: u8,
    layout_kind: u8,
    name: *const c_char,
    fields: *const CField,
    nr_fields: u16,
    format: *const c_char,
}

/// `struct tmk_clock_desc`.
#[repr(C)]
struct CClockDesc {
    clock_id: u32,
    frequency: u64,
    offset_ns: i64,
    precision: u64,
    name: *const c_char,
    description: *const c_char,
}

/// `union tmk_marker_arg`.
#[repr(C)]
#[derive(Clone, Copy)]
union CMarkerArg {
    i: i64,
    u: u64,
    s: *const c_char,
    p: *const c_void,
}

/// `struct tmk_ffi_config`.
#[repr(C)]
struct CConfig {
    subbuf_size: u32,
    nr_subbufs: u32,
    nr_cpus: u32,
    stream_class_id: u32,
    meta_pkt_size: u32,
    meta_max_pkts: u32,
    crc: u8,
    overwrite: u8,
    uuid: [u8; 16],
    os_name: *const c_char,
    os_release: *const c_char,
    architecture: *const c_char,
    hostname: *const c_char,
    tracer_name: *const c_char,
    tracer_version: *const c_char,
}

/// `struct tmk_ffi_writer`, opaque.
#[repr(C)]
struct CWriter {
    _opaque: [u8; 0],
}

extern "C" {
    fn tmk_ffi_layout(out: *mut u32);
    fn tmk_ffi_install_clock();
    fn tmk_ffi_set_now(now: u64);
    fn tmk_ffi_new(cfg: *const CConfig, err: *mut c_int) -> *mut CWriter;
    fn tmk_ffi_free(w: *mut CWriter);
    fn tmk_ffi_meta_clock(w: *mut CWriter, clock: *const CClockDesc) -> c_int;
    fn tmk_ffi_meta_stream_class(w: *mut CWriter, id: u32, clock_id: u32, name: *const c_char) -> c_int;
    fn tmk_ffi_meta_env_str(w: *mut CWriter, key: *const c_char, value: *const c_char) -> c_int;
    fn tmk_ffi_meta_env_i64(w: *mut CWriter, key: *const c_char, value: i64) -> c_int;
    fn tmk_ffi_meta_event_class(w: *mut CWriter, ec: *const CEventClass) -> c_int;
    fn tmk_ffi_meta_mem(w: *mut CWriter, len: *mut usize) -> *const u8;
    fn tmk_ffi_fmt_next(fmt: *const c_char, pos: *mut usize, code: *mut u8) -> c_int;
    fn tmk_ffi_reserve(w: *mut CWriter, cpu: u32, id: u32, payload_len: u32) -> c_int;
    fn tmk_ffi_commit(w: *mut CWriter) -> c_int;
    fn tmk_ffi_marker(
        w: *mut CWriter,
        cpu: u32,
        ec: *const CEventClass,
        argv: *const CMarkerArg,
        nargs: u32,
    ) -> c_int;
    fn tmk_ffi_flush(w: *mut CWriter, cpu: u32);
    fn tmk_ffi_get_packet(w: *mut CWriter, cpu: u32, pkt: *mut *const u8, len: *mut u32) -> c_int;
    fn tmk_ffi_put_packet(w: *mut CWriter, cpu: u32);
    fn tmk_ffi_snapshot(w: *mut CWriter, cpu: u32, dst: *mut u8, max: u32) -> u32;
    fn tmk_ffi_discarded(w: *mut CWriter, cpu: u32) -> u64;
    fn tmk_ffi_overwritten(w: *mut CWriter, cpu: u32) -> u64;

    fn tmk_ffi_put_bool(w: *mut CWriter, v: bool);
    fn tmk_ffi_put_u8(w: *mut CWriter, v: u8);
    fn tmk_ffi_put_u16(w: *mut CWriter, v: u16);
    fn tmk_ffi_put_u32(w: *mut CWriter, v: u32);
    fn tmk_ffi_put_u64(w: *mut CWriter, v: u64);
    fn tmk_ffi_put_i8(w: *mut CWriter, v: i8);
    fn tmk_ffi_put_i16(w: *mut CWriter, v: i16);
    fn tmk_ffi_put_i32(w: *mut CWriter, v: i32);
    fn tmk_ffi_put_i64(w: *mut CWriter, v: i64);
    fn tmk_ffi_put_f32(w: *mut CWriter, v: f32);
    fn tmk_ffi_put_f64(w: *mut CWriter, v: f64);
    fn tmk_ffi_put_short(w: *mut CWriter, v: c_short);
    fn tmk_ffi_put_ushort(w: *mut CWriter, v: c_ushort);
    fn tmk_ffi_put_int(w: *mut CWriter, v: c_int);
    fn tmk_ffi_put_uint(w: *mut CWriter, v: c_uint);
    fn tmk_ffi_put_long(w: *mut CWriter, v: c_long);
    fn tmk_ffi_put_ulong(w: *mut CWriter, v: c_ulong);
    fn tmk_ffi_put_llong(w: *mut CWriter, v: c_longlong);
    fn tmk_ffi_put_ullong(w: *mut CWriter, v: c_ulonglong);
    fn tmk_ffi_put_size(w: *mut CWriter, v: usize);
    fn tmk_ffi_put_ssize(w: *mut CWriter, v: c_longlong);
    fn tmk_ffi_put_ptr(w: *mut CWriter, v: usize);
    fn tmk_ffi_put_string(w: *mut CWriter, s: *const c_char, size: u32);
    fn tmk_ffi_put_blob(w: *mut CWriter, data: *const u8, len: u32);
    fn tmk_ffi_put_seq_count(w: *mut CWriter, v: u32);
}

/// Compares the C compiler's sizes and offsets of the mirrored structs with Rust's.
pub(crate) fn check_layout() -> bool {
    let mut c = [0u32; 16];
    // SAFETY: the C function writes exactly 16 `u32`s into the array it is given.
    unsafe { tmk_ffi_layout(c.as_mut_ptr()) };
    let rust = [
        size_of::<CEnumMap>(),
        offset_of!(CEnumMap, hi),
        size_of::<CType>(),
        offset_of!(CType, length),
        offset_of!(CType, fields),
        size_of::<CField>(),
        offset_of!(CField, ty),
        size_of::<CEventClass>(),
        offset_of!(CEventClass, nr_fields),
        offset_of!(CEventClass, format),
        size_of::<CClockDesc>(),
        offset_of!(CClockDesc, description),
        size_of::<CMarkerArg>(),
        size_of::<CConfig>(),
        offset_of!(CConfig, uuid),
        offset_of!(CConfig, tracer_version),
    ];
    c.iter().zip(rust).all(|(&c, rust)| c as usize == rust)
}

/// Sets the thread-local clock value the C core reads next (reserve, marker, flush).
pub(crate) fn set_now(ts: u64) {
    // SAFETY: stores to a C thread-local; no pointers involved.
    unsafe { tmk_ffi_set_now(ts) }
}

/// The §8 pairs of a format string as the C parser sees them: their type codes, or `None`
/// if the C parser rejects it.
pub(crate) fn format_codes(format: &CStr) -> Option<Vec<u8>> {
    let mut codes = Vec::new();
    let mut pos = 0usize;
    loop {
        let mut code = 0u8;
        // SAFETY: `format` is NUL-terminated and outlives the call; `pos` only ever advances
        // within the string (the parser stops at its NUL), `code` is a valid out-pointer.
        let r = unsafe { tmk_ffi_fmt_next(format.as_ptr(), &mut pos, &mut code) };
        match r {
            1 => codes.push(code),
            0 => return Some(codes),
            _ => return None,
        }
    }
}

/// The trace identity and buffer geometry handed to `tmk_ffi_new`, validated by the caller.
pub(crate) struct RawConfig {
    pub subbuf_size: u32,
    pub nr_subbufs: u32,
    pub nr_cpus: u32,
    pub stream_class_id: u32,
    pub meta_pkt_size: u32,
    pub meta_max_pkts: u32,
    pub crc: bool,
    pub overwrite: bool,
    pub uuid: [u8; 16],
    /// os_name, os_release, architecture, hostname, tracer_name, tracer_version.
    pub strings: [CString; 6],
}

/// An event class as the C core sees it, with every descriptor it points to.
///
/// Invariant: `ec` and everything reachable from it point into the boxes, slices and
/// `CString`s owned here, none of which moves or is mutated after construction (moving the
/// `CClass` moves only the owning pointers, not the heap data).
pub(crate) struct CClass {
    ec: Box<CEventClass>,
    _strings: Vec<CString>,
    #[allow(clippy::vec_box, reason = "the boxes keep each descriptor's address while the Vec grows")]
    _types: Vec<Box<CType>>,
    _fields: Vec<Box<[CField]>>,
    _maps: Vec<Box<[CEnumMap]>>,
    /// Marker classes: the C parser's type code per pair.
    pub marker_codes: Vec<u8>,
}

/// Why a class cannot be handed to C.
#[derive(Debug)]
pub(crate) enum ClassError {
    /// A name, label or format holds a NUL byte.
    Nul,
    /// A list longer than its `u16` count.
    TooMany,
    /// Deeper than this binding passes to C.
    TooDeep,
    /// The C format parser rejects the marker format.
    BadFormat,
}

/// Types nested deeper than this are refused before reaching C, whose descriptor walk recurses.
pub(crate) const MAX_DEPTH: usize = 64;

struct Arena {
    strings: Vec<CString>,
    #[allow(clippy::vec_box, reason = "the boxes keep each descriptor's address while the Vec grows")]
    types: Vec<Box<CType>>,
    fields: Vec<Box<[CField]>>,
    maps: Vec<Box<[CEnumMap]>>,
}

impl Arena {
    fn string(&mut self, text: &str) -> Result<*const c_char, ClassError> {
        let c = CString::new(text).map_err(|_| ClassError::Nul)?;
        let p = c.as_ptr();
        self.strings.push(c);
        Ok(p)
    }

    fn fields(&mut self, fields: &[Field], depth: usize) -> Result<(*const CField, u16), ClassError> {
        let nr = u16::try_from(fields.len()).map_err(|_| ClassError::TooMany)?;
        let mut list = Vec::with_capacity(fields.len());
        for field in fields {
            let name = self.string(&field.name)?;
            let ty = self.ty(&field.ty, depth)?;
            list.push(CField { name, ty });
        }
        let list = list.into_boxed_slice();
        let p = if list.is_empty() { ptr::null() } else { list.as_ptr() };
        self.fields.push(list);
        Ok((p, nr))
    }

    fn maps(&mut self, mappings: &[EnumMapping]) -> Result<(*const CEnumMap, u16), ClassError> {
        let nr = u16::try_from(mappings.len()).map_err(|_| ClassError::TooMany)?;
        let mut list = Vec::with_capacity(mappings.len());
        for map in mappings {
            list.push(CEnumMap { label: self.string(&map.label)?, lo: map.lo, hi: map.hi });
        }
        let list = list.into_boxed_slice();
        let p = if list.is_empty() { ptr::null() } else { list.as_ptr() };
        self.maps.push(list);
        Ok((p, nr))
    }

    fn ty(&mut self, ty: &TypeDesc, depth: usize) -> Result<*const CType, ClassError> {
        if depth > MAX_DEPTH {
            return Err(ClassError::TooDeep);
        }
        let mut c = CType {
            code: ty.code(),
            nr: 0,
            length: 0,
            elem: ptr::null(),
            maps: ptr::null(),
            fields: ptr::null(),
        };
        match ty {
            TypeDesc::Array { len, element } => {
                c.length = *len;
                c.elem = self.ty(element, depth + 1)?;
            }
            TypeDesc::Sequence { element } => c.elem = self.ty(element, depth + 1)?,
            TypeDesc::Enum { repr, mappings } => {
                c.elem = self.ty(&TypeDesc::Int(*repr), depth + 1)?;
                (c.maps, c.nr) = self.maps(mappings)?;
            }
            TypeDesc::Struct(fields) => (c.fields, c.nr) = self.fields(fields, depth + 1)?,
            _ => {}
        }
        let boxed = Box::new(c);
        let p: *const CType = &*boxed;
        self.types.push(boxed);
        Ok(p)
    }
}

impl CClass {
    /// A field-list class (`fields`) or a marker class (`format`).
    pub(crate) fn new(
        id: u32,
        stream_class_id: u32,
        log_level: u8,
        name: &str,
        fields: Option<&[Field]>,
        format: Option<&str>,
    ) -> Result<CClass, ClassError> {
        let mut arena =
            Arena { strings: Vec::new(), types: Vec::new(), fields: Vec::new(), maps: Vec::new() };
        let name = arena.string(name)?;
        let mut ec = CEventClass {
            id,
            stream_class_id,
            log_level,
            layout_kind: 0,
            name,
            fields: ptr::null(),
            nr_fields: 0,
            format: ptr::null(),
        };
        let mut marker_codes = Vec::new();
        if let Some(fields) = fields {
            (ec.fields, ec.nr_fields) = arena.fields(fields, 0)?;
        }
        if let Some(format) = format {
            let c = CString::new(format).map_err(|_| ClassError::Nul)?;
            marker_codes = format_codes(&c).ok_or(ClassError::BadFormat)?;
            ec.layout_kind = 1;
            ec.format = c.as_ptr();
            arena.strings.push(c);
        }
        Ok(CClass {
            ec: Box::new(ec),
            _strings: arena.strings,
            _types: arena.types,
            _fields: arena.fields,
            _maps: arena.maps,
            marker_codes,
        })
    }

    fn as_ptr(&self) -> *const CEventClass {
        &*self.ec
    }

    pub(crate) fn is_marker(&self) -> bool {
        self.ec.layout_kind == 1
    }
}

/// One marker argument for [`RawWriter::marker`]: integer bits (also `f64` bits and pointers,
/// which C only stores), or a string, the one kind C dereferences.
pub(crate) enum RawArg<'a> {
    Bits(u64),
    Str(&'a CStr),
}

/// Owner of one C writer handle.
///
/// Invariant: `ptr` came from `tmk_ffi_new`, is freed only in `Drop`, and is only used through
/// `&mut self` (the C handle holds the one open reservation and is not thread-safe).
pub(crate) struct RawWriter {
    ptr: NonNull<CWriter>,
}

static CLOCK: Once = Once::new();

impl RawWriter {
    /// Creates the handle; `Err` carries the core's negative errno.
    pub(crate) fn new(cfg: &RawConfig) -> Result<RawWriter, c_int> {
        // The shim's clock is a process-wide function pointer: install ours exactly once, so
        // no two threads ever store it concurrently.
        // SAFETY: tmk_ffi_install_clock only stores a function pointer.
        CLOCK.call_once(|| unsafe { tmk_ffi_install_clock() });
        let c = CConfig {
            subbuf_size: cfg.subbuf_size,
            nr_subbufs: cfg.nr_subbufs,
            nr_cpus: cfg.nr_cpus,
            stream_class_id: cfg.stream_class_id,
            meta_pkt_size: cfg.meta_pkt_size,
            meta_max_pkts: cfg.meta_max_pkts,
            crc: cfg.crc as u8,
            overwrite: cfg.overwrite as u8,
            uuid: cfg.uuid,
            os_name: cfg.strings[0].as_ptr(),
            os_release: cfg.strings[1].as_ptr(),
            architecture: cfg.strings[2].as_ptr(),
            hostname: cfg.strings[3].as_ptr(),
            tracer_name: cfg.strings[4].as_ptr(),
            tracer_version: cfg.strings[5].as_ptr(),
        };
        let mut err: c_int = 0;
        // SAFETY: `c` is a valid config whose strings live in `cfg` for the call (the C side
        // copies what it keeps into the metadata buffer); `err` is a valid out-pointer. The
        // caller validated the geometry (powers of two, bounds) so the allocations are sane.
        let p = unsafe { tmk_ffi_new(&c, &mut err) };
        NonNull::new(p).map(|ptr| RawWriter { ptr }).ok_or(if err < 0 { err } else { -12 })
    }

    fn w(&mut self) -> *mut CWriter {
        self.ptr.as_ptr()
    }

    pub(crate) fn meta_clock(
        &mut self,
        id: u32,
        frequency: u64,
        offset_ns: i64,
        precision: u64,
        name: &CStr,
        description: &CStr,
    ) -> c_int {
        let c = CClockDesc {
            clock_id: id,
            frequency,
            offset_ns,
            precision,
            name: name.as_ptr(),
            description: description.as_ptr(),
        };
        // SAFETY: valid handle (type invariant); `c` and its strings live across the call,
        // which encodes them into the metadata buffer and keeps no pointer.
        unsafe { tmk_ffi_meta_clock(self.w(), &c) }
    }

    pub(crate) fn meta_stream_class(&mut self, id: u32, clock_id: u32, name: &CStr) -> c_int {
        // SAFETY: valid handle; `name` is NUL-terminated and only read during the call.
        unsafe { tmk_ffi_meta_stream_class(self.w(), id, clock_id, name.as_ptr()) }
    }

    pub(crate) fn meta_env_str(&mut self, key: &CStr, value: &CStr) -> c_int {
        // SAFETY: valid handle; both strings NUL-terminated and only read during the call.
        unsafe { tmk_ffi_meta_env_str(self.w(), key.as_ptr(), value.as_ptr()) }
    }

    pub(crate) fn meta_env_i64(&mut self, key: &CStr, value: i64) -> c_int {
        // SAFETY: valid handle; `key` NUL-terminated and only read during the call.
        unsafe { tmk_ffi_meta_env_i64(self.w(), key.as_ptr(), value) }
    }

    pub(crate) fn meta_event_class(&mut self, class: &CClass) -> c_int {
        // SAFETY: valid handle; `class` satisfies the CClass invariant (every pointer valid,
        // counts equal to slice lengths, depth bounded by MAX_DEPTH), read during the call.
        unsafe { tmk_ffi_meta_event_class(self.w(), class.as_ptr()) }
    }

    /// A copy of the metadata stream: whole packets, each sealed.
    pub(crate) fn metadata(&mut self) -> Vec<u8> {
        let mut len = 0usize;
        // SAFETY: valid handle; the returned pointer is the handle's metadata buffer, of which
        // the first `len` bytes are written packets; we copy them before any other call.
        unsafe {
            let p = tmk_ffi_meta_mem(self.w(), &mut len);
            if p.is_null() || len == 0 {
                return Vec::new();
            }
            std::slice::from_raw_parts(p, len).to_vec()
        }
    }

    /// Reserves a record; 0 or the core's negative errno (the event is then counted as
    /// discarded). The C side refuses a second open reservation and a bad CPU.
    pub(crate) fn reserve(&mut self, cpu: u32, id: u32, payload_len: u32) -> c_int {
        // SAFETY: valid handle; scalars only.
        unsafe { tmk_ffi_reserve(self.w(), cpu, id, payload_len) }
    }

    /// Commits the open reservation; non-zero if the payload written differed from its size.
    pub(crate) fn commit(&mut self) -> c_int {
        // SAFETY: valid handle; the C side checks that a reservation is open.
        unsafe { tmk_ffi_commit(self.w()) }
    }

    pub(crate) fn marker(&mut self, cpu: u32, class: &CClass, args: &[RawArg<'_>]) -> c_int {
        // The C side dereferences exactly the arguments of `%s` pairs: they must be strings.
        // Anything else is only stored, so any bits are fine there.
        if args.len() != class.marker_codes.len()
            || args
                .iter()
                .zip(&class.marker_codes)
                .any(|(arg, &code)| matches!(arg, RawArg::Str(_)) != (code == code::STRING))
        {
            return -22;
        }
        let raw: Vec<CMarkerArg> = args
            .iter()
            .map(|arg| match arg {
                RawArg::Bits(u) => CMarkerArg { u: *u },
                RawArg::Str(s) => CMarkerArg { s: s.as_ptr() },
            })
            .collect();
        let Ok(nargs) = u32::try_from(raw.len()) else { return -22 };
        // SAFETY: valid handle; `class` satisfies its invariant and is a marker class whose
        // pairs C re-parses with the parser that produced `marker_codes`; `raw` has exactly
        // one element per pair (checked above, and again by C), each `%s` one a NUL-terminated
        // string borrowed for the call.
        unsafe { tmk_ffi_marker(self.w(), cpu, class.as_ptr(), raw.as_ptr(), nargs) }
    }

    pub(crate) fn flush(&mut self, cpu: u32) {
        // SAFETY: valid handle; the C side checks the CPU.
        unsafe { tmk_ffi_flush(self.w(), cpu) }
    }

    /// Takes the next complete packet of `cpu` (consuming it), copied out of the ring.
    pub(crate) fn take_packet(&mut self, cpu: u32) -> Option<Vec<u8>> {
        let mut p: *const u8 = ptr::null();
        let mut len = 0u32;
        // SAFETY: valid handle, valid out-pointers; on success `p` points at `len` bytes of
        // the ring that no writer touches until the put below (we hold the packet), and no
        // other call is made in between.
        unsafe {
            if tmk_ffi_get_packet(self.w(), cpu, &mut p, &mut len) != 0 || p.is_null() {
                return None;
            }
            let packet = std::slice::from_raw_parts(p, len as usize).to_vec();
            tmk_ffi_put_packet(self.w(), cpu);
            Some(packet)
        }
    }

    /// Copies up to `max` complete packets of `subbuf_size` bytes, oldest first.
    pub(crate) fn snapshot(&mut self, cpu: u32, max: u32, subbuf_size: u32) -> Vec<Vec<u8>> {
        let size = subbuf_size as usize;
        let mut buf = vec![0u8; size * max as usize];
        // SAFETY: valid handle; `buf` holds `max` packets of the handle's sub-buffer size
        // (the caller passes the configured size), which bounds what C copies.
        let n = unsafe { tmk_ffi_snapshot(self.w(), cpu, buf.as_mut_ptr(), max) };
        buf.chunks_exact(size).take(n as usize).map(<[u8]>::to_vec).collect()
    }

    pub(crate) fn discarded(&mut self, cpu: u32) -> u64 {
        // SAFETY: valid handle; the C side checks the CPU.
        unsafe { tmk_ffi_discarded(self.w(), cpu) }
    }

    pub(crate) fn overwritten(&mut self, cpu: u32) -> u64 {
        // SAFETY: valid handle; the C side checks the CPU.
        unsafe { tmk_ffi_overwritten(self.w(), cpu) }
    }
}

/// Payload puts into the open reservation. The C side refuses any put that does not fit (or
/// with no reservation open) and `commit` then reports it, so none of these can write out of
/// bounds whatever the caller does.
macro_rules! puts {
    ($($method:ident $cfn:ident $ty:ty;)*) => {
        impl RawWriter {
            $(
                pub(crate) fn $method(&mut self, v: $ty) {
                    // SAFETY: valid handle; a scalar; bounds checked by the C side.
                    unsafe { $cfn(self.w(), v) }
                }
            )*
        }
    };
}

puts! {
    put_bool tmk_ffi_put_bool bool;
    put_u8 tmk_ffi_put_u8 u8;
    put_u16 tmk_ffi_put_u16 u16;
    put_u32 tmk_ffi_put_u32 u32;
    put_u64 tmk_ffi_put_u64 u64;
    put_i8 tmk_ffi_put_i8 i8;
    put_i16 tmk_ffi_put_i16 i16;
    put_i32 tmk_ffi_put_i32 i32;
    put_i64 tmk_ffi_put_i64 i64;
    put_f32 tmk_ffi_put_f32 f32;
    put_f64 tmk_ffi_put_f64 f64;
    put_short tmk_ffi_put_short c_short;
    put_ushort tmk_ffi_put_ushort c_ushort;
    put_int tmk_ffi_put_int c_int;
    put_uint tmk_ffi_put_uint c_uint;
    put_long tmk_ffi_put_long c_long;
    put_ulong tmk_ffi_put_ulong c_ulong;
    put_llong tmk_ffi_put_llong c_longlong;
    put_ullong tmk_ffi_put_ullong c_ulonglong;
    put_size tmk_ffi_put_size usize;
    put_ssize tmk_ffi_put_ssize c_longlong;
    put_ptr tmk_ffi_put_ptr usize;
    put_seq_count tmk_ffi_put_seq_count u32;
}

impl RawWriter {
    /// A string field of exactly `len + 1` bytes.
    pub(crate) fn put_string(&mut self, s: &CStr) {
        let size = u32::try_from(s.count_bytes() + 1).unwrap_or(0);
        // SAFETY: valid handle; `s` is NUL-terminated, C reads at most `size - 1` bytes of it
        // (stopping at its NUL) and a size of 0 is refused by the C side.
        unsafe { tmk_ffi_put_string(self.w(), s.as_ptr(), size) }
    }

    pub(crate) fn put_blob(&mut self, data: &[u8]) {
        let Ok(len) = u32::try_from(data.len()) else {
            // Cannot be expressed: make the C side refuse the record.
            // SAFETY: valid handle; a 0-byte string put is always refused, never written.
            unsafe { tmk_ffi_put_string(self.w(), ptr::null(), 0) };
            return;
        };
        // SAFETY: valid handle; C reads exactly `len` bytes from `data`, which has them.
        unsafe { tmk_ffi_put_blob(self.w(), data.as_ptr(), len) }
    }
}

impl Drop for RawWriter {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from tmk_ffi_new and is freed exactly once, here.
        unsafe { tmk_ffi_free(self.ptr.as_ptr()) }
    }
}
