//! Checks an event class against what a reader accepts (§6.6, §6.7, §7.2, §7.7) before it is
//! registered, so the writer never declares a class a reader must reject.

use alloc::{collections::BTreeSet, format, string::String};

use tracemark_format::{
    types::{is_identifier, MAX_NESTING_DEPTH},
    Abi, ByteOrder, Field, TypeDesc,
};

/// The ABI with every size 1: the smallest element any ABI can give (§6.7).
const SMALLEST: Abi =
    Abi { byte_order: ByteOrder::Little, short: 1, int: 1, long: 1, long_long: 1, pointer: 1, size_t: 1 };

/// Why a field list is invalid, with the section it breaks.
pub(crate) fn check_fields(fields: &[Field]) -> Result<(), String> {
    check_list(fields, 0)
}

/// Why an event, stream class or clock name is invalid.
pub(crate) fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("names must not be empty (§7.2)".into());
    }
    if name.len() > usize::from(u16::MAX) {
        return Err("names are at most 65535 bytes (§6.7)".into());
    }
    Ok(())
}

fn check_list(fields: &[Field], depth: usize) -> Result<(), String> {
    if fields.len() > usize::from(u16::MAX) {
        return Err("a field list has at most 65535 fields (§7.7)".into());
    }
    let mut names = BTreeSet::new();
    for field in fields {
        if !is_identifier(&field.name) {
            return Err(format!("field name {:?} is not an identifier (§7.2)", field.name));
        }
        if !names.insert(field.name.as_str()) {
            return Err(format!("duplicate field name {:?} (§7.7)", field.name));
        }
        check_type(&field.ty, depth).map_err(|reason| format!("field `{}`: {reason}", field.name))?;
    }
    Ok(())
}

fn check_type(ty: &TypeDesc, depth: usize) -> Result<(), String> {
    let compound = matches!(
        ty,
        TypeDesc::Array { .. } | TypeDesc::Sequence { .. } | TypeDesc::Enum { .. } | TypeDesc::Struct(_)
    );
    if compound && depth >= MAX_NESTING_DEPTH {
        return Err(format!("types nested deeper than {MAX_NESTING_DEPTH} levels (§6.7)"));
    }
    match ty {
        TypeDesc::Array { element, .. } | TypeDesc::Sequence { element } => {
            if element.has_empty_part(&SMALLEST) {
                return Err(
                    "array or sequence element type that is, or holds, a type of zero minimum size (§6.7)"
                        .into(),
                );
            }
            check_type(element, depth + 1)
        }
        TypeDesc::Enum { mappings, .. } => {
            if mappings.len() > usize::from(u16::MAX) {
                return Err("an enumeration has at most 65535 mappings (§7.7)".into());
            }
            Ok(())
        }
        TypeDesc::Struct(fields) => check_list(fields, depth + 1),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use tracemark_format::IntType;

    #[test]
    fn rejects_what_a_reader_rejects() {
        let int = TypeDesc::Int(IntType::U8);
        assert!(check_fields(&[Field::new("a", int.clone())]).is_ok());
        assert!(check_fields(&[Field::new("1a", int.clone())]).is_err());
        assert!(check_fields(&[Field::new("a", int.clone()), Field::new("a", int.clone())]).is_err());
        assert!(check_fields(&[Field::new("a", TypeDesc::sequence(TypeDesc::Struct(vec![])))]).is_err());
        assert!(check_fields(&[Field::new("a", TypeDesc::array(0, int.clone()))]).is_ok());
        let hollow = TypeDesc::Struct(vec![
            Field::new("none", TypeDesc::array(0, int.clone())),
            Field::new("x", int.clone()),
        ]);
        assert!(check_fields(&[Field::new("a", hollow.clone())]).is_ok(), "a field may hold an empty part");
        assert!(check_fields(&[Field::new("a", TypeDesc::array(2, hollow))]).is_err(), "an element may not");
        let deep = (0..40).fold(int, |inner, _| TypeDesc::sequence(inner));
        assert!(check_fields(&[Field::new("a", deep)]).is_err());
        assert!(check_name("").is_err() && check_name("x").is_ok());
    }
}
