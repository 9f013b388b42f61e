//! A decoding plan: the field types of every scope of a stream class, with the fields that
//! sequence lengths and variant selectors read resolved to registers, and the fields the
//! decoder itself needs (event ID, timestamp, packet sizes) marked with their role.
//!
//! Paths resolve as CTF 1.8 §7.3.2 says: an absolute path (`event.fields.len`,
//! `stream.event.header.id`) from the root of its scope; a relative one first among the fields
//! before it in its own struct, then in each enclosing struct, then among the top-level fields
//! of the scopes decoded before this one, the latest first. A path may only go through structs,
//! and must end on an integer or an enumeration (an enumeration for a selector).

use std::collections::HashMap;

use crate::model::{
    display_name, EnumType, EventClass, FieldType, FloatType, IntegerType, NamedField, StreamClass,
    StructType, TraceClass,
};

/// The scopes of a packet and an event, in decoding order (CTF 1.8 §7.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ScopeKind {
    /// `trace.packet.header`
    PacketHeader,
    /// `stream.packet.context`
    PacketContext,
    /// `stream.event.header`
    EventHeader,
    /// `stream.event.context`
    StreamEventContext,
    /// `event.context`
    EventContext,
    /// `event.fields`
    EventFields,
}

impl ScopeKind {
    /// The absolute path prefix naming the scope.
    pub fn prefix(self) -> &'static [&'static str] {
        match self {
            ScopeKind::PacketHeader => &["trace", "packet", "header"],
            ScopeKind::PacketContext => &["stream", "packet", "context"],
            ScopeKind::EventHeader => &["stream", "event", "header"],
            ScopeKind::StreamEventContext => &["stream", "event", "context"],
            ScopeKind::EventContext => &["event", "context"],
            ScopeKind::EventFields => &["event", "fields"],
        }
    }

    const ALL: [ScopeKind; 6] = [
        ScopeKind::PacketHeader,
        ScopeKind::PacketContext,
        ScopeKind::EventHeader,
        ScopeKind::StreamEventContext,
        ScopeKind::EventContext,
        ScopeKind::EventFields,
    ];
}

/// What the decoder does with a field's value besides delivering it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// `magic` of the packet header: 0xC1FC1FC1.
    Magic,
    /// `stream_id` of the packet header: the stream class.
    StreamId,
    /// `stream_instance_id` of the packet header.
    StreamInstanceId,
    /// `content_size` of the packet context, in bits.
    ContentSize,
    /// `packet_size` of the packet context, in bits.
    PacketSize,
    /// `timestamp_begin` of the packet context.
    TimestampBegin,
    /// `timestamp_end` of the packet context.
    TimestampEnd,
    /// `events_discarded` of the packet context: events lost in the stream so far.
    EventsDiscarded,
    /// `packet_seq_num` of the packet context.
    PacketSequence,
    /// `cpu_id` of the packet context.
    CpuId,
    /// `id` in the event header: the event class (a later one, as in the extended header's
    /// variant option, replaces an earlier one).
    EventId,
    /// `timestamp` in the event header: the low bits of the clock.
    Timestamp,
}

/// A field type as decoded.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// An integer.
    Integer {
        /// Its type.
        ty: IntegerType,
        /// Register its value is kept in, for a sequence or variant that reads it.
        register: Option<u32>,
        /// What the decoder does with it.
        role: Option<Role>,
    },
    /// An enumeration.
    Enum {
        /// Its type.
        ty: EnumType,
        /// Register its value is kept in.
        register: Option<u32>,
        /// What the decoder does with it (an event header's `id` is often an enumeration).
        role: Option<Role>,
    },
    /// A floating point number.
    Float(FloatType),
    /// A NUL-terminated string.
    String,
    /// A struct.
    Struct {
        /// Its fields.
        fields: Vec<PlannedField>,
        /// Its alignment in bits.
        align: u32,
        /// When every field is a [`Leaf`] (most payloads, and LTTng's event headers): the
        /// fields as leaves, which the decoder reads in a loop instead of walking the nodes.
        /// Made once the plan is complete (registers and roles known).
        leaves: Option<Box<Leaves>>,
    },
    /// A fixed-length array.
    Array {
        /// Element type.
        element: Box<Node>,
        /// Element count.
        length: u64,
        /// Bytes meant as text (8-bit integers with an encoding): delivered as one string.
        text: bool,
    },
    /// A sequence.
    Sequence {
        /// Element type.
        element: Box<Node>,
        /// The register holding the length.
        length: u32,
        /// The length field, as written.
        length_field: Vec<String>,
        /// Bytes meant as text.
        text: bool,
    },
    /// A variant.
    Variant {
        /// Options.
        options: Vec<PlannedField>,
        /// The register holding the selector's value.
        selector: u32,
        /// The selector field, as written.
        selector_field: Vec<String>,
        /// Selector value ranges (inclusive) and the option each chooses, first match wins.
        choices: Vec<(i128, i128, u32)>,
    },
}

/// A field the decoder reads without looking further: an integer or enumeration, a float, a
/// string, or a byte array meant as text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Leaf {
    /// What it is.
    pub kind: LeafKind,
    /// Size in bits (integers and floats).
    pub size: u32,
    /// Alignment in bits.
    pub align: u32,
    /// Two's complement (integers).
    pub signed: bool,
    /// Byte order.
    pub order: crate::model::ByteOrder,
    /// Register its value is kept in, or `u32::MAX`.
    pub register: u32,
    /// What the decoder does with it.
    pub role: Option<Role>,
}

/// The kinds of [`Leaf`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeafKind {
    /// An integer or enumeration.
    Integer,
    /// A float.
    Float,
    /// A NUL-terminated string.
    String,
    /// An array of this many bytes meant as text.
    Text(u64),
    /// A variant whose options are all leaves or structs of leaves: this index in
    /// [`Leaves::variants`].
    Variant(u32),
}

/// A struct's fields as leaves.
#[derive(Debug, Clone, PartialEq)]
pub struct Leaves {
    /// The fields.
    pub list: Box<[Leaf]>,
    /// The variants among them, which [`LeafKind::Variant`] points into.
    pub variants: Box<[FlatVariant]>,
}

/// A variant read as leaves: LTTng's event headers (`compact` or `extended`).
#[derive(Debug, Clone, PartialEq)]
pub struct FlatVariant {
    /// The register holding the selector's value.
    pub selector: u32,
    /// Selector value ranges (inclusive) and the option each chooses, first match wins.
    pub choices: Box<[(i128, i128, u32)]>,
    /// Each option: its alignment in bits and its leaves (one for an option that is a leaf).
    pub options: Box<[(u32, Box<[Leaf]>)]>,
}

impl Leaf {
    fn of(node: &Node) -> Option<Leaf> {
        let int = |ty: &IntegerType, register: &Option<u32>, role: &Option<Role>| Leaf {
            kind: LeafKind::Integer,
            size: ty.size,
            align: ty.align,
            signed: ty.signed,
            order: ty.byte_order,
            register: register.unwrap_or(u32::MAX),
            role: *role,
        };
        let plain = |kind, size, align, order| Leaf {
            kind,
            size,
            align,
            signed: false,
            order,
            register: u32::MAX,
            role: None,
        };
        Some(match node {
            Node::Integer { ty, register, role } => int(ty, register, role),
            Node::Enum { ty, register, role } => int(&ty.container, register, role),
            Node::Float(float) => plain(LeafKind::Float, float.size(), float.align, float.byte_order),
            Node::String => plain(LeafKind::String, 8, 8, crate::model::ByteOrder::Little),
            Node::Array { element, length, text: true } => {
                plain(LeafKind::Text(*length), 8, element.align(), crate::model::ByteOrder::Little)
            }
            _ => return None,
        })
    }
}

/// Makes the [`Leaves`] of every struct in `node`: call once its registers and roles are
/// final.
fn make_leaves(node: &mut Node) {
    match node {
        Node::Struct { fields, leaves, .. } => {
            fields.iter_mut().for_each(|field| make_leaves(&mut field.node));
            let mut variants = Vec::new();
            let list = fields
                .iter()
                .map(|field| match &field.node {
                    Node::Variant { options, selector, choices, .. } => {
                        let options = options
                            .iter()
                            .map(|option| flat_option(&option.node))
                            .collect::<Option<Vec<_>>>()?;
                        variants.push(FlatVariant {
                            selector: *selector,
                            choices: choices.clone().into_boxed_slice(),
                            options: options.into_boxed_slice(),
                        });
                        let kind = LeafKind::Variant(u32::try_from(variants.len() - 1).ok()?);
                        Some(Leaf {
                            kind,
                            size: 0,
                            align: 1,
                            signed: false,
                            order: crate::model::ByteOrder::Little,
                            register: u32::MAX,
                            role: None,
                        })
                    }
                    other => Leaf::of(other),
                })
                .collect::<Option<Vec<_>>>();
            *leaves = list.map(|list| {
                Box::new(Leaves { list: list.into_boxed_slice(), variants: variants.into_boxed_slice() })
            });
        }
        Node::Variant { options, .. } => options.iter_mut().for_each(|option| make_leaves(&mut option.node)),
        Node::Array { element, .. } | Node::Sequence { element, .. } => make_leaves(element),
        _ => {}
    }
}

/// A variant option as (alignment, leaves): a leaf, or a struct of leaves without variants.
fn flat_option(node: &Node) -> Option<(u32, Box<[Leaf]>)> {
    match node {
        Node::Struct { leaves: Some(leaves), align, .. } if leaves.variants.is_empty() => {
            Some((*align, leaves.list.clone()))
        }
        Node::Struct { .. } | Node::Variant { .. } => None,
        leaf => Some((1, Box::new([Leaf::of(leaf)?]))),
    }
}

/// A named field of a planned struct or variant.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedField {
    /// The name as written.
    pub name: String,
    /// The type.
    pub node: Node,
}

impl Node {
    /// Alignment in bits.
    pub fn align(&self) -> u32 {
        match self {
            Node::Integer { ty, .. } => ty.align,
            Node::Enum { ty, .. } => ty.container.align,
            Node::Float(float) => float.align,
            Node::String => 8,
            Node::Struct { align, .. } => *align,
            Node::Array { element, .. } | Node::Sequence { element, .. } => element.align(),
            Node::Variant { .. } => 1,
        }
    }

    /// The fewest bits a value can take (alignment aside).
    pub fn min_bits(&self) -> u64 {
        match self {
            Node::Integer { ty, .. } => u64::from(ty.size),
            Node::Enum { ty, .. } => u64::from(ty.container.size),
            Node::Float(float) => u64::from(float.size()),
            Node::String => 8,
            Node::Struct { fields, .. } => {
                fields.iter().map(|field| field.node.min_bits()).fold(0, u64::saturating_add)
            }
            Node::Array { element, length, .. } => element.min_bits().saturating_mul(*length),
            Node::Sequence { .. } => 0,
            Node::Variant { options, .. } => {
                options.iter().map(|option| option.node.min_bits()).min().unwrap_or(0)
            }
        }
    }
}

/// A type the decoder cannot read: a path that names nothing, an array of elements that may
/// take no bits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{scope}: {reason}")]
pub struct PlanError {
    /// The scope, e.g. `event sched_switch fields`.
    pub scope: String,
    /// What cannot be read.
    pub reason: String,
}

/// A scope's root struct.
pub type Scope = Node;

/// How to decode the packets and events of one stream class.
#[derive(Debug, Clone)]
pub struct StreamPlan {
    /// The stream class ID.
    pub id: u64,
    /// `stream.packet.context`.
    pub packet_context: Option<Scope>,
    /// `stream.event.header`.
    pub event_header: Option<Scope>,
    /// `stream.event.context`.
    pub event_context: Option<Scope>,
    /// Event classes by ID: their plan, or why they cannot be read.
    pub events: EventPlans,
}

/// How to decode a trace's packets and events: `trace.packet.header` planned once, shared by
/// every stream class (a copy per stream class would multiply a large header by the number of
/// stream classes), and each stream class's plan.
#[derive(Debug, Clone)]
pub struct TracePlan {
    /// `trace.packet.header`.
    pub packet_header: Option<Scope>,
    /// Each stream class's plan, or why it cannot be read.
    pub streams: Vec<Result<StreamPlan, PlanError>>,
    /// Registers the whole plan uses: numbered once for the trace, so no two fields share one.
    pub registers: u32,
}

impl StreamPlan {
    /// The clock its timestamps map to: the event header's `timestamp`'s, else the packet
    /// context's `timestamp_begin`'s.
    pub fn timestamp_clock(&self) -> Option<&str> {
        fn find(node: &Node, role: Role) -> Option<&str> {
            match node {
                Node::Integer { ty, role: Some(found), .. } if *found == role => ty.clock.as_deref(),
                Node::Struct { fields, .. } | Node::Variant { options: fields, .. } => {
                    fields.iter().find_map(|field| find(&field.node, role))
                }
                _ => None,
            }
        }
        self.event_header
            .as_ref()
            .and_then(|header| find(header, Role::Timestamp))
            .or_else(|| self.packet_context.as_ref().and_then(|context| find(context, Role::TimestampBegin)))
    }
}

/// Event class plans by ID: small IDs (all of LTTng's) in a table, looked up once per event
/// without hashing; others in a map.
#[derive(Debug, Clone, Default)]
pub struct EventPlans {
    dense: Vec<Option<Result<EventPlan, PlanError>>>,
    sparse: HashMap<u64, Result<EventPlan, PlanError>>,
}

/// IDs below this are kept in the table.
const DENSE_IDS: u64 = 1 << 12;

impl EventPlans {
    /// The plan of event class `id`.
    #[inline]
    pub fn get(&self, id: u64) -> Option<&Result<EventPlan, PlanError>> {
        if id < DENSE_IDS {
            self.dense.get(id as usize)?.as_ref()
        } else {
            self.sparse.get(&id)
        }
    }

    /// Every plan.
    pub fn values(&self) -> impl Iterator<Item = &Result<EventPlan, PlanError>> {
        self.dense.iter().flatten().chain(self.sparse.values())
    }

    fn insert(&mut self, id: u64, plan: Result<EventPlan, PlanError>) {
        if id < DENSE_IDS {
            let index = id as usize;
            if self.dense.len() <= index {
                self.dense.resize_with(index + 1, || None);
            }
            self.dense[index] = Some(plan);
        } else {
            self.sparse.insert(id, plan);
        }
    }
}

impl std::ops::Index<&u64> for EventPlans {
    type Output = Result<EventPlan, PlanError>;

    fn index(&self, id: &u64) -> &Self::Output {
        self.get(*id).expect("no event class with this ID")
    }
}

/// How to decode the events of one event class.
#[derive(Debug, Clone)]
pub struct EventPlan {
    /// Index of the class in [`TraceClass::events`].
    pub class: usize,
    /// `event.context`.
    pub context: Option<Scope>,
    /// `event.fields`.
    pub fields: Option<Scope>,
}

/// Plans every stream class of `trace`; a stream class that cannot be read is an error of its
/// own, its neighbours still planned (all fail when the packet header cannot be read). A trace
/// without stream blocks has one stream class, 0.
pub fn plan(trace: &TraceClass) -> TracePlan {
    let mut registers = 0u32;
    let mut header = trace.packet_header.as_ref().map(|root| root_node(root, ScopeKind::PacketHeader));
    let header_error = header.as_mut().and_then(|header| {
        let fail = |reason| PlanError { scope: "trace.packet.header".into(), reason };
        resolve_scope(ScopeKind::PacketHeader, header, Vec::new(), &mut registers)
            .and_then(|()| check_arrays(header))
            .map_err(fail)
            .err()
    });
    let implicit = StreamClass { id: 0, packet_context: None, event_header: None, event_context: None };
    let classes: Vec<&StreamClass> =
        if trace.streams.is_empty() { vec![&implicit] } else { trace.streams.iter().collect() };
    let streams = classes
        .into_iter()
        .map(|stream| match &header_error {
            Some(error) => Err(error.clone()),
            None => plan_stream(trace, stream, &mut header, &mut registers),
        })
        .collect();
    if let Some(header) = &mut header {
        make_leaves(header);
    }
    TracePlan { packet_header: header, streams, registers }
}

/// Plans `stream`; the packet header, already planned, lends itself to references (which may
/// give its fields registers) and is given back.
fn plan_stream(
    trace: &TraceClass,
    stream: &StreamClass,
    header: &mut Option<Scope>,
    registers: &mut u32,
) -> Result<StreamPlan, PlanError> {
    let mut scopes: [Option<Scope>; 4] = [
        header.take(),
        stream.packet_context.as_ref().map(|root| root_node(root, ScopeKind::PacketContext)),
        stream.event_header.as_ref().map(|root| root_node(root, ScopeKind::EventHeader)),
        stream.event_context.as_ref().map(|root| root_node(root, ScopeKind::StreamEventContext)),
    ];
    let planned = plan_stream_scopes(trace, stream, &mut scopes, registers);
    *header = scopes[0].take();
    planned
}

fn plan_stream_scopes(
    trace: &TraceClass,
    stream: &StreamClass,
    scopes: &mut [Option<Scope>; 4],
    registers: &mut u32,
) -> Result<StreamPlan, PlanError> {
    let scope_name = |kind: ScopeKind| format!("stream class {} {}", stream.id, kind.prefix().join("."));
    for (index, kind) in ScopeKind::ALL[..4].iter().enumerate().skip(1) {
        let (before, rest) = scopes.split_at_mut(index);
        if let Some(scope) = &mut rest[0] {
            let earlier: Vec<(ScopeKind, &mut Scope)> = ScopeKind::ALL
                .iter()
                .zip(before.iter_mut())
                .filter_map(|(kind, scope)| Some((*kind, scope.as_mut()?)))
                .collect();
            resolve_scope(*kind, scope, earlier, registers)
                .map_err(|reason| PlanError { scope: scope_name(*kind), reason })?;
            check_arrays(scope).map_err(|reason| PlanError { scope: scope_name(*kind), reason })?;
        }
    }
    let mut events = EventPlans::default();
    for (class, event) in trace.events.iter().enumerate().filter(|(_, event)| event.stream_id == stream.id) {
        let planned = plan_event(class, event, scopes, registers);
        events.insert(event.id, planned);
    }
    scopes[1..].iter_mut().flatten().for_each(make_leaves);
    Ok(StreamPlan {
        id: stream.id,
        packet_context: scopes[1].take(),
        event_header: scopes[2].take(),
        event_context: scopes[3].take(),
        events,
    })
}

fn plan_event(
    class: usize,
    event: &EventClass,
    stream_scopes: &mut [Option<Scope>; 4],
    registers: &mut u32,
) -> Result<EventPlan, PlanError> {
    let mut own = [
        event.context.as_ref().map(|root| root_node(root, ScopeKind::EventContext)),
        event.fields.as_ref().map(|root| root_node(root, ScopeKind::EventFields)),
    ];
    // Registers a failed event class took stay taken: harmless, and the stream's other
    // classes keep theirs.
    for (index, kind) in [ScopeKind::EventContext, ScopeKind::EventFields].into_iter().enumerate() {
        let fail = |reason: String| PlanError {
            scope: format!("event `{}` {}", event.name, kind.prefix().join(".")),
            reason,
        };
        let (before, rest) = own.split_at_mut(index);
        let Some(scope) = &mut rest[0] else { continue };
        let mut earlier: Vec<(ScopeKind, &mut Scope)> = ScopeKind::ALL[..4]
            .iter()
            .zip(stream_scopes.iter_mut())
            .filter_map(|(kind, scope)| Some((*kind, scope.as_mut()?)))
            .collect();
        if let Some(context) = before.first_mut().and_then(Option::as_mut) {
            earlier.push((ScopeKind::EventContext, context));
        }
        resolve_scope(kind, scope, earlier, registers).map_err(fail)?;
        check_arrays(scope).map_err(fail)?;
    }
    own.iter_mut().flatten().for_each(make_leaves);
    let [context, fields] = own;
    Ok(EventPlan { class, context, fields })
}

/// The node of a scope's root struct, roles marked.
fn root_node(root: &StructType, kind: ScopeKind) -> Scope {
    let mut node = struct_node(root);
    mark_roles(&mut node, kind, true);
    node
}

fn struct_node(structure: &StructType) -> Node {
    let fields: Vec<PlannedField> = structure.fields.iter().map(planned_field).collect();
    let align = fields.iter().map(|field| field.node.align()).fold(structure.min_align.max(1), u32::max);
    Node::Struct { fields, align, leaves: None }
}

fn planned_field(field: &NamedField) -> PlannedField {
    PlannedField { name: field.name.clone(), node: node(&field.ty) }
}

fn node(ty: &FieldType) -> Node {
    match ty {
        FieldType::Integer(int) => Node::Integer { ty: int.clone(), register: None, role: None },
        FieldType::Enum(enumeration) => Node::Enum { ty: enumeration.clone(), register: None, role: None },
        FieldType::Float(float) => Node::Float(float.clone()),
        FieldType::String(_) => Node::String,
        FieldType::Struct(structure) => struct_node(structure),
        FieldType::Variant(variant) => Node::Variant {
            options: variant.options.iter().map(planned_field).collect(),
            selector: u32::MAX,
            selector_field: variant.selector.clone(),
            choices: Vec::new(),
        },
        FieldType::Array { element, length } => {
            Node::Array { text: is_text(element), element: Box::new(node(element)), length: *length }
        }
        FieldType::Sequence { element, length } => Node::Sequence {
            text: is_text(element),
            element: Box::new(node(element)),
            length: u32::MAX,
            length_field: length.clone(),
        },
    }
}

fn is_text(element: &FieldType) -> bool {
    matches!(element, FieldType::Integer(int) if int.size == 8 && int.align % 8 == 0 && int.encoding != crate::model::Encoding::None)
}

/// Marks the fields whose values the decoder needs; in the event header, `id` and
/// `timestamp` anywhere in its structs and variants.
fn mark_roles(node: &mut Node, kind: ScopeKind, top: bool) {
    let (Node::Struct { fields, .. } | Node::Variant { options: fields, .. }) = node else { return };
    for field in fields {
        let role = match (kind, top, field.name.as_str()) {
            (ScopeKind::PacketHeader, true, "magic") => Some(Role::Magic),
            (ScopeKind::PacketHeader, true, "stream_id") => Some(Role::StreamId),
            (ScopeKind::PacketHeader, true, "stream_instance_id") => Some(Role::StreamInstanceId),
            (ScopeKind::PacketContext, true, "content_size") => Some(Role::ContentSize),
            (ScopeKind::PacketContext, true, "packet_size") => Some(Role::PacketSize),
            (ScopeKind::PacketContext, true, "timestamp_begin") => Some(Role::TimestampBegin),
            (ScopeKind::PacketContext, true, "timestamp_end") => Some(Role::TimestampEnd),
            (ScopeKind::PacketContext, true, "events_discarded") => Some(Role::EventsDiscarded),
            (ScopeKind::PacketContext, true, "packet_seq_num") => Some(Role::PacketSequence),
            (ScopeKind::PacketContext, true, "cpu_id") => Some(Role::CpuId),
            (ScopeKind::EventHeader, _, "id") => Some(Role::EventId),
            (ScopeKind::EventHeader, _, "timestamp") => Some(Role::Timestamp),
            _ => None,
        };
        match &mut field.node {
            Node::Integer { role: slot, .. } | Node::Enum { role: slot, .. } => *slot = role,
            inner @ (Node::Struct { .. } | Node::Variant { .. }) if kind == ScopeKind::EventHeader => {
                mark_roles(inner, kind, false)
            }
            _ => {}
        }
    }
}

/// Where a field is: its scope and the field indices from the scope's root, through structs.
type Location = (ScopeKind, Vec<usize>);

/// Finds every sequence and variant of `scope`, resolves the field each reads, gives that
/// field a register and the reader its number.
fn resolve_scope(
    kind: ScopeKind,
    scope: &mut Scope,
    mut earlier: Vec<(ScopeKind, &mut Scope)>,
    registers: &mut u32,
) -> Result<(), String> {
    // First find the references without changing anything.
    let mut references: Vec<(Vec<usize>, Location)> = Vec::new();
    {
        let earlier_roots: Vec<(ScopeKind, &Scope)> =
            earlier.iter().map(|(kind, scope)| (*kind, &**scope)).collect();
        let mut lexical = Vec::new();
        let context = Context { kind, root: scope, earlier: &earlier_roots };
        find_references(&context, scope, &mut Vec::new(), &mut lexical, &mut references)?;
    }
    // Then give each target a register (once) and each reader its number.
    let mut assigned: HashMap<Location, u32> = HashMap::new();
    for (reader, target) in references {
        let register = match assigned.get(&target) {
            Some(register) => *register,
            None => {
                let root: &mut Scope = if target.0 == kind {
                    &mut *scope
                } else {
                    match earlier.iter_mut().find(|(earlier_kind, _)| *earlier_kind == target.0) {
                        Some((_, root)) => root,
                        None => return Err("a reference to a scope that is not decoded before".into()),
                    }
                };
                let register = match field_at_mut(root, &target.1) {
                    Some(Node::Integer { register, .. } | Node::Enum { register, .. }) => *register
                        .get_or_insert_with(|| {
                            *registers += 1;
                            *registers - 1
                        }),
                    _ => return Err("a reference to a field that is not an integer".into()),
                };
                assigned.insert(target.clone(), register);
                register
            }
        };
        // The target may be an enumeration that the variant's choices come from.
        let selector_type = {
            let root: &Scope = if target.0 == kind {
                &*scope
            } else {
                earlier
                    .iter()
                    .find(|(earlier_kind, _)| *earlier_kind == target.0)
                    .map(|(_, root)| &**root)
                    .unwrap_or(&*scope)
            };
            match field_at(root, &target.1) {
                Some(Node::Enum { ty, .. }) => Some(ty.clone()),
                _ => None,
            }
        };
        match field_at_mut(scope, &reader) {
            Some(Node::Sequence { length, .. }) => *length = register,
            Some(Node::Variant { selector, choices, options, .. }) => {
                let Some(selector_type) = selector_type else {
                    return Err("a variant whose selector is not an enumeration".into());
                };
                *selector = register;
                *choices = selector_type
                    .mappings
                    .iter()
                    .filter_map(|mapping| {
                        let option = options.iter().position(|option| {
                            option.name == mapping.label
                                || display_name(&option.name) == display_name(&mapping.label)
                        })?;
                        Some((mapping.lo, mapping.hi, option as u32))
                    })
                    .collect();
            }
            _ => return Err("internal: a reference lost its reader".into()),
        }
    }
    Ok(())
}

/// One level of the struct nesting around a reference: the struct's path and how many of its
/// fields come before.
struct Lexical {
    path: Vec<usize>,
    before: usize,
}

/// The scope being resolved and those decoded before it.
struct Context<'a> {
    kind: ScopeKind,
    root: &'a Scope,
    earlier: &'a [(ScopeKind, &'a Scope)],
}

fn find_references(
    context: &Context<'_>,
    node: &Node,
    path: &mut Vec<usize>,
    lexical: &mut Vec<Lexical>,
    references: &mut Vec<(Vec<usize>, Location)>,
) -> Result<(), String> {
    match node {
        Node::Struct { fields, .. } => {
            lexical.push(Lexical { path: path.clone(), before: 0 });
            for (index, field) in fields.iter().enumerate() {
                if let Some(level) = lexical.last_mut() {
                    level.before = index;
                }
                path.push(index);
                let found = find_references(context, &field.node, path, lexical, references);
                path.pop();
                found.map_err(|reason| format!("field `{}`: {reason}", field.name))?;
            }
            lexical.pop();
        }
        Node::Variant { options, selector_field, .. } => {
            if selector_field.is_empty() {
                return Err("a variant without a selector".into());
            }
            references.push((path.clone(), resolve(context, selector_field, lexical, path)?));
            for (index, option) in options.iter().enumerate() {
                path.push(index);
                let found = find_references(context, &option.node, path, lexical, references);
                path.pop();
                found?;
            }
        }
        Node::Sequence { element, length_field, .. } => {
            references.push((path.clone(), resolve(context, length_field, lexical, path)?));
            path.push(0);
            let found = find_references(context, element, path, lexical, references);
            path.pop();
            found?;
        }
        Node::Array { element, .. } => {
            path.push(0);
            let found = find_references(context, element, path, lexical, references);
            path.pop();
            found?;
        }
        _ => {}
    }
    Ok(())
}

/// The field a sequence length or variant selector path names.
fn resolve(
    context: &Context<'_>,
    path: &[String],
    lexical: &[Lexical],
    reader: &[usize],
) -> Result<Location, String> {
    let written = path.join(".");
    let not_found = || format!("`{written}` names no field decoded before it");
    // Absolute: a scope prefix, then field names from its root.
    for kind in ScopeKind::ALL {
        let prefix = kind.prefix();
        if path.len() > prefix.len() && path.iter().zip(prefix).all(|(part, expected)| part == expected) {
            let root = if kind == context.kind {
                context.root
            } else {
                match context.earlier.iter().find(|(earlier, _)| *earlier == kind) {
                    Some((_, root)) => *root,
                    None => return Err(format!("`{written}`: that scope is not decoded before this one")),
                }
            };
            let indices = descend(root, &[], &path[prefix.len()..]).ok_or_else(not_found)?;
            // In the reader's own scope, the field must come before it (in decoding order).
            if kind == context.kind && (indices.as_slice() >= reader || reader.starts_with(&indices)) {
                return Err(not_found());
            }
            return Ok((kind, indices));
        }
    }
    // Relative: the fields before, in this struct and each enclosing one, innermost first.
    for level in lexical.iter().rev() {
        let Some(Node::Struct { fields, .. }) = field_at(context.root, &level.path) else { continue };
        if let Some(index) =
            fields[..level.before.min(fields.len())].iter().position(|field| field.name == path[0])
        {
            let mut start = level.path.clone();
            start.push(index);
            let indices = descend(context.root, &start, &path[1..]).ok_or_else(not_found)?;
            return Ok((context.kind, indices));
        }
    }
    // Then the top-level fields of the scopes decoded before, the latest first.
    for (kind, root) in context.earlier.iter().rev() {
        let Node::Struct { fields, .. } = root else { continue };
        if let Some(index) = fields.iter().position(|field| field.name == path[0]) {
            let indices = descend(root, &[index], &path[1..]).ok_or_else(not_found)?;
            return Ok((*kind, indices));
        }
    }
    Err(not_found())
}

/// From the field at `start`, through structs by the field names of `rest`.
fn descend(root: &Node, start: &[usize], rest: &[String]) -> Option<Vec<usize>> {
    let mut indices = start.to_vec();
    let mut node = field_at(root, start)?;
    for name in rest {
        let Node::Struct { fields, .. } = node else { return None };
        let index = fields.iter().position(|field| &field.name == name)?;
        indices.push(index);
        node = &fields[index].node;
    }
    Some(indices)
}

/// The node at `path`: a field index in a struct or variant, 0 for an array's element. A
/// register on a field in an array element or a variant option holds the value decoded last,
/// which is what a sibling in the same element or option reads.
fn field_at<'n>(root: &'n Node, path: &[usize]) -> Option<&'n Node> {
    path.iter().try_fold(root, |node, &index| match node {
        Node::Struct { fields, .. } | Node::Variant { options: fields, .. } => {
            fields.get(index).map(|field| &field.node)
        }
        Node::Array { element, .. } | Node::Sequence { element, .. } if index == 0 => Some(&**element),
        _ => None,
    })
}

fn field_at_mut<'n>(root: &'n mut Node, path: &[usize]) -> Option<&'n mut Node> {
    path.iter().try_fold(root, |node, &index| match node {
        Node::Struct { fields, .. } | Node::Variant { options: fields, .. } => {
            fields.get_mut(index).map(|field| &mut field.node)
        }
        Node::Array { element, .. } | Node::Sequence { element, .. } if index == 0 => Some(&mut **element),
        _ => None,
    })
}

/// Arrays and sequences of elements that may take no bits could make a few bytes decode into
/// billions of values: refused.
fn check_arrays(node: &Node) -> Result<(), String> {
    match node {
        Node::Struct { fields, .. } | Node::Variant { options: fields, .. } => {
            fields.iter().try_for_each(|field| {
                check_arrays(&field.node).map_err(|reason| format!("field `{}`: {reason}", field.name))
            })
        }
        Node::Array { element, length, .. } => {
            if element.min_bits() == 0 && *length > 1 {
                return Err("an array of elements that may take no bits".into());
            }
            check_arrays(element)
        }
        Node::Sequence { element, .. } => {
            if element.min_bits() == 0 {
                return Err("a sequence of elements that may take no bits".into());
            }
            check_arrays(element)
        }
        _ => Ok(()),
    }
}
