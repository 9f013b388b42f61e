//! `#[derive(TraceEvent)]`: implements `tracemark_reader::TraceEvent` for a struct with named
//! fields, so that it binds to an event of a trace (`tracemark_reader::Trace::bind`).
//!
//! The event name is the struct's name in snake case (`SchedSwitch` binds `sched_switch`), or
//! `#[trace_event(name = "...")]` on the struct; each field binds the payload field of its
//! name, or `#[trace_event(name = "...")]` on the field. Field types implement
//! `tracemark_reader::FieldType`. The struct may have one lifetime parameter, for fields that
//! borrow from the trace (`&'a str`, `&'a [u8]`), and no type parameter.
//!
//! Use it through `tracemark_reader` (feature `derive`, on by default), which re-exports it.
#![deny(missing_docs)]

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::quote;
use syn::{parse_macro_input, Attribute, Data, DeriveInput, Error, Fields, GenericParam, Lifetime, LitStr};

/// Implements `tracemark_reader::TraceEvent`; see the crate documentation.
#[proc_macro_derive(TraceEvent, attributes(trace_event))]
pub fn derive_trace_event(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand(&input).unwrap_or_else(Error::into_compile_error).into()
}

/// The `name = "..."` of a `#[trace_event(...)]` attribute, if any.
fn name_attribute(attrs: &[Attribute]) -> syn::Result<Option<LitStr>> {
    let mut name = None;
    for attr in attrs.iter().filter(|attr| attr.path().is_ident("trace_event")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("name") {
                name = Some(meta.value()?.parse::<LitStr>()?);
                Ok(())
            } else {
                Err(meta.error("expected `name = \"...\"`"))
            }
        })?;
    }
    Ok(name)
}

/// `SchedSwitch` → `sched_switch`, `HTTPRequest` → `http_request`.
fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (index, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let previous = index.checked_sub(1).and_then(|at| chars.get(at));
            let next = chars.get(index + 1);
            let boundary = match previous {
                Some(p) if p.is_lowercase() || p.is_ascii_digit() => true,
                Some(p) if p.is_uppercase() => next.is_some_and(|n| n.is_lowercase()),
                _ => false,
            };
            if boundary {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn expand(input: &DeriveInput) -> syn::Result<TokenStream2> {
    let name = &input.ident;
    let Data::Struct(data) = &input.data else {
        return Err(Error::new_spanned(
            name,
            "TraceEvent can only be derived for a struct with named fields",
        ));
    };
    let Fields::Named(fields) = &data.fields else {
        return Err(Error::new_spanned(
            name,
            "TraceEvent can only be derived for a struct with named fields",
        ));
    };
    let mut lifetimes = Vec::new();
    for param in &input.generics.params {
        match param {
            GenericParam::Lifetime(lifetime) => lifetimes.push(lifetime.lifetime.clone()),
            other => {
                return Err(Error::new_spanned(other, "TraceEvent types take no type or const parameter"));
            }
        }
    }
    let (impl_lifetime, type_generics) = match lifetimes.as_slice() {
        [] => (Lifetime::new("'__trace", Span::call_site()), quote!()),
        [lifetime] => (lifetime.clone(), quote!(<#lifetime>)),
        [_, extra, ..] => {
            return Err(Error::new_spanned(extra, "TraceEvent types take at most one lifetime parameter"));
        }
    };
    let where_clause = &input.generics.where_clause;
    let event_name = match name_attribute(&input.attrs)? {
        Some(lit) => lit,
        None => LitStr::new(&snake_case(&name.to_string()), name.span()),
    };
    let mut specs = Vec::new();
    let mut reads = Vec::new();
    for (index, field) in fields.named.iter().enumerate() {
        let Some(ident) = &field.ident else { continue };
        let ty = &field.ty;
        let field_name = match name_attribute(&field.attrs)? {
            Some(lit) => lit,
            None => LitStr::new(ident.to_string().trim_start_matches("r#"), ident.span()),
        };
        specs.push(quote! { ::tracemark_reader::FieldSpec::of::<#ty>(#field_name) });
        reads.push(quote! { #ident: fields.get::<#ty>(#index)? });
    }
    Ok(quote! {
        impl<#impl_lifetime> ::tracemark_reader::TraceEvent<#impl_lifetime> for #name #type_generics #where_clause {
            const NAME: &'static str = #event_name;

            fn fields() -> ::std::vec::Vec<::tracemark_reader::FieldSpec> {
                ::std::vec![#(#specs),*]
            }

            #[inline]
            fn decode(
                fields: &::tracemark_reader::BoundFields<#impl_lifetime, '_>,
            ) -> ::core::result::Result<Self, ::tracemark_reader::FieldError> {
                ::core::result::Result::Ok(Self { #(#reads),* })
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::snake_case;

    #[test]
    fn struct_names_become_event_names() {
        assert_eq!(snake_case("SchedSwitch"), "sched_switch");
        assert_eq!(snake_case("HTTPRequest"), "http_request");
        assert_eq!(snake_case("SyscallEntryRead"), "syscall_entry_read");
        assert_eq!(snake_case("Irq9Handler"), "irq9_handler");
        assert_eq!(snake_case("tick"), "tick");
    }
}

#[cfg(test)]
mod expand_tests {
    use super::expand;

    fn error_of(source: &str) -> String {
        let input = syn::parse_str(source).unwrap();
        expand(&input).unwrap_err().to_string()
    }

    #[test]
    fn unsupported_shapes_are_refused_with_a_reason() {
        assert!(error_of("enum E { A }").contains("struct with named fields"));
        assert!(error_of("struct T(u32);").contains("struct with named fields"));
        assert!(error_of("struct G<T> { x: T }").contains("no type or const parameter"));
        assert!(error_of("struct L<'a, 'b> { x: &'a str, y: &'b str }").contains("at most one lifetime"));
        assert!(error_of("#[trace_event(rename = \"x\")] struct A { x: u8 }").contains("expected `name"));
    }

    #[test]
    fn the_expansion_names_the_event_and_the_fields() {
        let input = syn::parse_str("#[trace_event(name = \"sched:switch\")] struct S<'a> { #[trace_event(name = \"prev\")] p: &'a str }").unwrap();
        let out = expand(&input).unwrap().to_string();
        assert!(out.contains("\"sched:switch\""), "{out}");
        assert!(out.contains("\"prev\""), "{out}");
        assert!(out.contains("impl < 'a > :: tracemark_reader :: TraceEvent < 'a > for S < 'a >"), "{out}");
    }
}
