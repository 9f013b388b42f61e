//! Statically typed events: the [`EventType`] and [`EnumValue`] traits and the declarative
//! macros [`event!`](crate::event), [`struct_type!`](crate::struct_type) and
//! [`enum_type!`](crate::enum_type) that implement them.

use alloc::vec::Vec;

use tracemark_format::{EnumMapping, Field, TypeDesc};

use crate::payload::PayloadWriter;
use crate::value::{FieldValue, IntValue};
use crate::Abi;

/// An event class known at compile time. Usually implemented by [`event!`](crate::event).
pub trait EventType {
    /// The event name in the EVENT_CLASS record (§7.6).
    const NAME: &'static str;
    /// Syslog severity 0–7, or 255 for unspecified (§7.6).
    const LOG_LEVEL: u8 = tracemark_format::metadata::LOG_LEVEL_UNSPECIFIED;

    /// The field list (§7.7). Called once, at registration.
    fn fields() -> Vec<Field>;

    /// Payload size under `abi`. Per-event path: must not allocate.
    fn encoded_size(&self, abi: &Abi) -> usize;

    /// Writes the payload: exactly `encoded_size` bytes. Per-event path: must not allocate.
    fn encode(&self, out: &mut PayloadWriter<'_>);
}

/// An enumeration (§6.6): an integer with labelled ranges. Implemented by
/// [`enum_type!`](crate::enum_type); a hand-written implementation becomes a field through
/// [`Enum`].
pub trait EnumValue {
    /// The underlying integer type.
    type Repr: IntValue;
    /// Labelled inclusive ranges, first match wins. Called once, at registration.
    fn mappings() -> Vec<EnumMapping>;
    /// The value to encode.
    fn to_repr(&self) -> Self::Repr;
}

/// The type descriptor of an enumeration.
pub fn enum_type_desc<E: EnumValue + ?Sized>() -> TypeDesc {
    TypeDesc::Enum { repr: <E::Repr as IntValue>::INT_TYPE, mappings: E::mappings() }
}

/// Makes any [`EnumValue`] a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Enum<E>(pub E);

impl<E: EnumValue> FieldValue for Enum<E> {
    fn type_desc() -> TypeDesc {
        enum_type_desc::<E>()
    }
    #[inline(always)]
    fn fixed_size(abi: &Abi) -> Option<usize> {
        E::Repr::fixed_size(abi)
    }
    #[inline(always)]
    fn encoded_size(&self, abi: &Abi) -> usize {
        self.0.to_repr().encoded_size(abi)
    }
    #[inline(always)]
    fn encode(&self, out: &mut PayloadWriter<'_>) {
        self.0.to_repr().encode(out);
    }
}

/// Declares event structs and implements [`EventType`] for them.
///
/// Field types are any [`FieldValue`]: `bool`, `u8`–`u64`, `i8`–`i64`, `f32`, `f64`, the
/// ABI-sized wrappers ([`CLong`](crate::CLong), [`Pointer`](crate::Pointer), …), `&str`,
/// [`ByteStr`](crate::ByteStr), [`Blob`](crate::Blob), arrays `[T; N]`, sequences `&[T]`,
/// enumerations from [`enum_type!`](crate::enum_type) and structs from
/// [`struct_type!`](crate::struct_type). Structs may take lifetime parameters; the event name
/// is a string literal, optionally followed by `log_level = <u8>`.
///
/// ```
/// use tracemark_writer::{event, CLong, EventType, Abi, ByteOrder};
///
/// event! {
///     /// A context switch.
///     pub struct SchedSwitch<'a> ("sched_switch", log_level = 6) {
///         pub prev_comm: &'a str,
///         pub prev_pid: i32,
///         pub prev_state: CLong,
///         pub next_pid: i32,
///     }
/// }
///
/// let event = SchedSwitch { prev_comm: "bash", prev_pid: 1, prev_state: CLong(0), next_pid: 2 };
/// assert_eq!(SchedSwitch::NAME, "sched_switch");
/// assert_eq!(event.encoded_size(&Abi::ilp32(ByteOrder::Big)), 5 + 4 + 4 + 4);
/// ```
#[macro_export]
macro_rules! event {
    ($(
        $(#[$attr:meta])*
        $vis:vis struct $name:ident $(< $($lt:lifetime),+ $(,)? >)?
            ($event_name:literal $(, log_level = $level:expr)? $(,)?)
        {
            $($(#[$field_attr:meta])* $field_vis:vis $field:ident : $field_ty:ty),* $(,)?
        }
    )*) => {$(
        $(#[$attr])*
        $vis struct $name $(< $($lt),+ >)? {
            $($(#[$field_attr])* $field_vis $field: $field_ty,)*
        }

        impl $(< $($lt),+ >)? $crate::EventType for $name $(< $($lt),+ >)? {
            const NAME: &'static str = $event_name;
            const LOG_LEVEL: u8 = $crate::__or_default!(255u8 $(, $level)?);

            fn fields() -> $crate::__private::Vec<$crate::Field> {
                $crate::__private::vec![
                    $($crate::Field::new(
                        stringify!($field),
                        <$field_ty as $crate::FieldValue>::type_desc(),
                    )),*
                ]
            }

            #[inline]
            fn encoded_size(&self, abi: &$crate::Abi) -> usize {
                let _ = abi;
                0usize $(.saturating_add($crate::FieldValue::encoded_size(&self.$field, abi)))*
            }

            #[inline]
            fn encode(&self, out: &mut $crate::PayloadWriter<'_>) {
                let _ = &out;
                $($crate::FieldValue::encode(&self.$field, out);)*
            }
        }
    )*};
}

/// Declares structs usable as nested struct fields (§6.4 code 0x25): same field syntax as
/// [`event!`](crate::event), without an event name.
///
/// ```
/// tracemark_writer::struct_type! {
///     /// A point.
///     #[derive(Clone, Copy)]
///     pub struct Point { pub x: i32, pub y: i32 }
/// }
/// ```
#[macro_export]
macro_rules! struct_type {
    ($(
        $(#[$attr:meta])*
        $vis:vis struct $name:ident $(< $($lt:lifetime),+ $(,)? >)? {
            $($(#[$field_attr:meta])* $field_vis:vis $field:ident : $field_ty:ty),* $(,)?
        }
    )*) => {$(
        $(#[$attr])*
        $vis struct $name $(< $($lt),+ >)? {
            $($(#[$field_attr])* $field_vis $field: $field_ty,)*
        }

        impl $(< $($lt),+ >)? $crate::FieldValue for $name $(< $($lt),+ >)? {
            fn type_desc() -> $crate::TypeDesc {
                $crate::TypeDesc::Struct($crate::__private::vec![
                    $($crate::Field::new(
                        stringify!($field),
                        <$field_ty as $crate::FieldValue>::type_desc(),
                    )),*
                ])
            }

            #[inline]
            fn fixed_size(abi: &$crate::Abi) -> Option<usize> {
                let _ = abi;
                Some(0usize) $(.and_then(|sum| sum.checked_add(<$field_ty as $crate::FieldValue>::fixed_size(abi)?)))*
            }

            #[inline]
            fn encoded_size(&self, abi: &$crate::Abi) -> usize {
                let _ = abi;
                0usize $(.saturating_add($crate::FieldValue::encoded_size(&self.$field, abi)))*
            }

            #[inline]
            fn encode(&self, out: &mut $crate::PayloadWriter<'_>) {
                let _ = &out;
                $($crate::FieldValue::encode(&self.$field, out);)*
            }
        }
    )*};
}

/// Declares an enumeration field type (§6.6) and implements [`EnumValue`] and [`FieldValue`].
///
/// Two forms. A Rust enum, each variant a label for one value:
///
/// ```
/// tracemark_writer::enum_type! {
///     /// Task state.
///     pub enum TaskState: tracemark_writer::CLong { Running = 0, Interruptible = 1, Stopped = 4 }
/// }
/// ```
///
/// A newtype over the underlying integer's raw value, with labelled inclusive ranges; a value
/// outside every range is still written (it has no label):
///
/// ```
/// tracemark_writer::enum_type! {
///     /// Scheduling priority.
///     pub struct Prio(i32) { "rt" = -100..=-1, "normal" = 0..=39 }
/// }
/// let p = Prio(-5);
/// ```
#[macro_export]
macro_rules! enum_type {
    (
        $(#[$attr:meta])*
        $vis:vis enum $name:ident : $repr:ty {
            $($(#[$variant_attr:meta])* $variant:ident = $value:expr),+ $(,)?
        }
    ) => {
        $(#[$attr])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name {
            $($(#[$variant_attr])* $variant = $value,)+
        }

        impl $crate::EnumValue for $name {
            type Repr = $repr;

            fn mappings() -> $crate::__private::Vec<$crate::EnumMapping> {
                $crate::__private::vec![$({
                    let bits = <$repr as $crate::IntValue>::bits(
                        $name::$variant as <$repr as $crate::IntValue>::Raw,
                    );
                    $crate::EnumMapping { label: stringify!($variant).into(), lo: bits, hi: bits }
                }),+]
            }

            #[inline(always)]
            fn to_repr(&self) -> $repr {
                <$repr as $crate::IntValue>::from_raw(*self as <$repr as $crate::IntValue>::Raw)
            }
        }

        $crate::__enum_field_value!($name);
    };
    (
        $(#[$attr:meta])*
        $vis:vis struct $name:ident ($repr:ty) {
            $($label:literal = $lo:literal ..= $hi:literal),* $(,)?
        }
    ) => {
        $(#[$attr])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis struct $name(pub <$repr as $crate::IntValue>::Raw);

        impl $crate::EnumValue for $name {
            type Repr = $repr;

            fn mappings() -> $crate::__private::Vec<$crate::EnumMapping> {
                $crate::__private::vec![$(
                    $crate::EnumMapping {
                        label: $label.into(),
                        lo: <$repr as $crate::IntValue>::bits($lo),
                        hi: <$repr as $crate::IntValue>::bits($hi),
                    }
                ),*]
            }

            #[inline(always)]
            fn to_repr(&self) -> $repr {
                <$repr as $crate::IntValue>::from_raw(self.0)
            }
        }

        $crate::__enum_field_value!($name);
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __enum_field_value {
    ($name:ident) => {
        impl $crate::FieldValue for $name {
            fn type_desc() -> $crate::TypeDesc {
                $crate::enum_type_desc::<$name>()
            }
            #[inline(always)]
            fn fixed_size(abi: &$crate::Abi) -> Option<usize> {
                <<$name as $crate::EnumValue>::Repr as $crate::FieldValue>::fixed_size(abi)
            }
            #[inline(always)]
            fn encoded_size(&self, abi: &$crate::Abi) -> usize {
                $crate::FieldValue::encoded_size(&$crate::EnumValue::to_repr(self), abi)
            }
            #[inline(always)]
            fn encode(&self, out: &mut $crate::PayloadWriter<'_>) {
                $crate::FieldValue::encode(&$crate::EnumValue::to_repr(self), out)
            }
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __or_default {
    ($default:expr) => {
        $default
    };
    ($default:expr, $value:expr) => {
        $value
    };
}
