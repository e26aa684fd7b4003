//! How values are written into documents: the document format, a contract with every other Automerge client
//! (`docs/documents.md`).
//!
//! Format 1 (documents written before format 2 existed) stores an enumeration as its Rust variant name (`Lifted`)
//! and a count as an Automerge `uint`. Format 2 stores the stable snake_case code that JSON, CSV and the CLI use
//! (`lifted`) and every whole number as an `int` (JavaScript reads a `uint` as a BigInt). A document says which it
//! is in its root field `format` (absent: 1).
//!
//! Reading accepts both forms everywhere. Writing keeps the form of the document being written, so that an edit of
//! one field never rewrites the others: a rewrite of an unchanged value would conflict with a teammate's real edit
//! of that field. Documents move from format 1 to 2 in one server-authored change (`Document::normalize`).

use autosurgeon::{HydrateError, ReadDoc, Reconciler};
use std::cell::Cell;

/// The format of documents written before the format had a number.
pub const LEGACY: i64 = 1;
/// The format this code writes into new documents, unless the deployment is still at `LEGACY`.
pub const CURRENT: i64 = 2;
/// Root field holding a document's format.
pub const FIELD: &str = "format";

thread_local! {
    static WRITING: Cell<i64> = const { Cell::new(CURRENT) };
}

/// The format values are written in on this thread now (set by `writing_in`).
pub fn writing() -> i64 {
    WRITING.with(Cell::get)
}

/// Runs `f` with values written in `format`, then restores the format written before (also on a panic, which the
/// FFI guard turns into an error).
pub fn writing_in<T>(format: i64, f: impl FnOnce() -> T) -> T {
    struct Restore(i64);
    impl Drop for Restore {
        fn drop(&mut self) {
            WRITING.with(|w| w.set(self.0));
        }
    }
    let _restore = Restore(WRITING.with(|w| w.replace(format)));
    f()
}

/// An enumeration stored in documents: its code in format 2, its variant name in format 1.
pub trait Coded: Copy + 'static {
    /// Every value, in display order.
    fn all() -> &'static [Self];
    /// The stable code (format 2, JSON, CSV, CLI).
    fn code(self) -> &'static str;
    /// The Rust variant name format 1 documents hold.
    fn legacy_name(self) -> &'static str;
    /// The value a stored string stands for, in either form.
    fn from_stored(s: &str) -> Option<Self> {
        Self::all().iter().copied().find(|v| v.code() == s || v.legacy_name() == s)
    }
    /// The codes, comma-separated, for error messages and docs.
    fn codes() -> String {
        Self::all().iter().map(|v| v.code()).collect::<Vec<_>>().join(", ")
    }
}

/// Implements autosurgeon's `Reconcile` and `Hydrate` for a `Coded` type.
#[macro_export]
macro_rules! coded_in_documents {
    ($name:ty) => {
        impl autosurgeon::Reconcile for $name {
            type Key<'a> = autosurgeon::reconcile::NoKey;
            fn reconcile<R: autosurgeon::Reconciler>(&self, mut r: R) -> Result<(), R::Error> {
                use $crate::model::form::Coded;
                if $crate::model::form::writing() >= $crate::model::form::CURRENT {
                    r.str(self.code())
                } else {
                    r.str(self.legacy_name())
                }
            }
        }
        impl autosurgeon::Hydrate for $name {
            fn hydrate_string(s: &str) -> Result<Self, autosurgeon::HydrateError> {
                use $crate::model::form::Coded;
                <$name>::from_stored(s).ok_or_else(|| {
                    autosurgeon::HydrateError::unexpected(format!("one of {}", <$name>::codes()), format!("{s:?}"))
                })
            }
        }
    };
}

/// A whole number (`u8`, `u32`, `u64`) in documents: `int` in format 2, `uint` in format 1; read from either, and
/// from an `f64` holding a whole number. Use with `#[autosurgeon(with = "crate::model::form::count")]`.
pub mod count {
    use super::*;

    pub fn reconcile<T: Copy + Into<u64>, R: Reconciler>(value: &T, mut r: R) -> Result<(), R::Error> {
        let v: u64 = (*value).into();
        if writing() >= CURRENT {
            r.i64(i64::try_from(v).unwrap_or(i64::MAX))
        } else {
            r.u64(v)
        }
    }

    pub fn hydrate<D: ReadDoc, T: TryFrom<u64>>(
        doc: &D,
        obj: &automerge::ObjId,
        prop: autosurgeon::Prop<'_>,
    ) -> Result<T, HydrateError> {
        let found = super::scalar(doc, obj, prop)?;
        let n = match &found {
            automerge::ScalarValue::Int(i) => u64::try_from(*i).ok(),
            automerge::ScalarValue::Uint(u) => Some(*u),
            automerge::ScalarValue::F64(f) if f.fract() == 0.0 && *f >= 0.0 && *f < 2f64.powi(53) => Some(*f as u64),
            _ => None,
        };
        n.and_then(|n| T::try_from(n).ok())
            .ok_or_else(|| HydrateError::unexpected("a whole number in range (int)", super::describe(&found)))
    }
}

/// A decimal number (`f64`) in documents: always `f64`; read also from an `int` or `uint` (JavaScript writes a whole
/// number as an `int`). Use with `#[autosurgeon(with = "crate::model::form::number")]`.
pub mod number {
    use super::*;

    pub fn reconcile<R: Reconciler>(value: &f64, mut r: R) -> Result<(), R::Error> {
        r.f64(*value)
    }

    pub fn hydrate<D: ReadDoc>(
        doc: &D,
        obj: &automerge::ObjId,
        prop: autosurgeon::Prop<'_>,
    ) -> Result<f64, HydrateError> {
        let found = super::scalar(doc, obj, prop)?;
        super::as_f64(&found).ok_or_else(|| HydrateError::unexpected("a number (f64)", super::describe(&found)))
    }
}

/// An optional decimal number: `null` or a number as in [`number`]. Use with
/// `#[autosurgeon(with = "crate::model::form::optional_number")]`.
pub mod optional_number {
    use super::*;

    pub fn reconcile<R: Reconciler>(value: &Option<f64>, mut r: R) -> Result<(), R::Error> {
        match value {
            Some(v) => r.f64(*v),
            None => r.none(),
        }
    }

    pub fn hydrate<D: ReadDoc>(
        doc: &D,
        obj: &automerge::ObjId,
        prop: autosurgeon::Prop<'_>,
    ) -> Result<Option<f64>, HydrateError> {
        let found = super::scalar(doc, obj, prop)?;
        if matches!(found, automerge::ScalarValue::Null) {
            return Ok(None);
        }
        super::as_f64(&found)
            .map(Some)
            .ok_or_else(|| HydrateError::unexpected("a number (f64) or null", super::describe(&found)))
    }
}

fn as_f64(v: &automerge::ScalarValue) -> Option<f64> {
    match v {
        automerge::ScalarValue::F64(f) => Some(*f),
        automerge::ScalarValue::Int(i) => Some(*i as f64),
        automerge::ScalarValue::Uint(u) => Some(*u as f64),
        _ => None,
    }
}

/// The scalar at a property; an absent property reads as `null`, an object is an error.
fn scalar<D: ReadDoc>(
    doc: &D,
    obj: &automerge::ObjId,
    prop: autosurgeon::Prop<'_>,
) -> Result<automerge::ScalarValue, HydrateError> {
    let prop: automerge::Prop = match prop {
        autosurgeon::Prop::Key(k) => automerge::Prop::Map(k.into_owned()),
        autosurgeon::Prop::Index(i) => automerge::Prop::Seq(i as usize),
    };
    match doc.get(obj, prop)? {
        None => Ok(automerge::ScalarValue::Null),
        Some((automerge::Value::Scalar(s), _)) => Ok(s.into_owned()),
        Some((automerge::Value::Object(t), _)) => {
            Err(HydrateError::unexpected("a scalar value", format!("a {}", describe_object(t))))
        }
    }
}

fn describe_object(t: automerge::ObjType) -> &'static str {
    match t {
        automerge::ObjType::Map | automerge::ObjType::Table => "map",
        automerge::ObjType::List => "list",
        automerge::ObjType::Text => "text object",
    }
}

/// A stored scalar as an error message names it: its Automerge type and value.
pub fn describe(v: &automerge::ScalarValue) -> String {
    use automerge::ScalarValue as S;
    match v {
        S::Str(s) => format!("str {:?}", s.as_str()),
        S::Int(i) => format!("int {i}"),
        S::Uint(u) => format!("uint {u}"),
        S::F64(f) => format!("f64 {f}"),
        S::Boolean(b) => format!("boolean {b}"),
        S::Null => "null".into(),
        S::Bytes(_) => "bytes".into(),
        S::Counter(_) => "counter".into(),
        S::Timestamp(t) => format!("timestamp {t}"),
        S::Unknown { type_code, .. } => format!("unknown type {type_code}"),
    }
}

/// A change's time in milliseconds. Changes written in format 2 carry seconds, Automerge's convention (as every
/// JavaScript client writes them); earlier ones carry milliseconds. 10^11 seconds is the year 5138 and 10^11
/// milliseconds is March 1973, so the size tells them apart.
pub fn change_time_ms(t: i64) -> i64 {
    if t.abs() >= 100_000_000_000 {
        t
    } else {
        t.saturating_mul(1000)
    }
}

/// The time to write into a change made at `time_ms`: seconds.
pub fn change_time(time_ms: i64) -> i64 {
    time_ms.div_euclid(1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_times_in_either_unit_read_as_milliseconds() {
        assert_eq!(change_time_ms(1_780_000_000), 1_780_000_000_000);
        assert_eq!(change_time_ms(1_780_000_000_123), 1_780_000_000_123);
        assert_eq!(change_time_ms(change_time(1_780_000_000_999)), 1_780_000_000_000);
        assert_eq!(change_time_ms(0), 0);
    }

    #[test]
    fn the_format_written_is_restored_after_a_scope() {
        assert_eq!(writing(), CURRENT);
        let inner = writing_in(LEGACY, || writing_in(CURRENT, writing) * 10 + writing());
        assert_eq!(inner, CURRENT * 10 + LEGACY);
        assert_eq!(writing(), CURRENT);
    }
}
