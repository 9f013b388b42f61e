// Dump events with tracemark-reader in probe/tools/tmkdecode.py's JSON conventions;
// diagnostics go to stderr, and the exit status is 1 if there was any besides §10.1 discards.
use serde_json::{json, Map, Value as J};
use tracemark_reader::{Integer, Item, Trace, Value};
fn int(i: &Integer) -> J { match i { Integer::Unsigned(u) => json!(u), Integer::Signed(s) => json!(s) } }
fn conv(v: &Value) -> J {
    match v {
        Value::Bool(b) => json!(b),
        Value::Unsigned(u) => json!(u),
        Value::Signed(s) => json!(s),
        Value::F32(f) => json!(*f as f64),
        Value::F64(f) => json!(f),
        Value::Str(b) => json!(String::from_utf8_lossy(b)),
        Value::Blob(b) => json!(b.iter().map(|x| format!("{x:02x}")).collect::<String>()),
        Value::Array(a) | Value::Sequence(a) => J::Array(a.iter().map(conv).collect()),
        Value::Enum { value, label } => json!({"value": int(value), "label": label}),
        Value::Struct(f) => { let mut m = Map::new(); for (k, v) in f { m.insert(k.to_string(), conv(v)); } J::Object(m) }
    }
}
fn main() {
    let path = std::env::args().nth(1).expect("usage: tmk-reader-json TRACE");
    let trace = Trace::open(&path).expect("open");
    let mut bad = 0;
    let mut report = |d: String| {
        if !d.contains("§10.1") { bad += 1; }
        eprintln!("diag: {d}");
    };
    for d in trace.diagnostics() { report(format!("{d}")); }
    for item in trace.events() {
        match item {
            Item::Event(ev) => {
                let mut m = Map::new();
                for (k, v) in ev.fields() { m.insert(k.to_string(), conv(v)); }
                println!("{}", json!({"name": ev.name(), "cpu": ev.stream().instance, "ts": ev.timestamp(), "fields": J::Object(m)}));
            }
            Item::Diagnostic(d) => report(format!("{d}")),
        }
    }
    std::process::exit(if bad > 0 { 1 } else { 0 });
}
