//! What a document of each kind holds, field by field: the contract another Automerge client writes to
//! (`docs/documents.md` is generated from it, and a test keeps the two equal).
//!
//! It serves three readers: a pushed document that does not read as its record is explained by [`check`], naming
//! the first field that is wrong; [`normalize`] finds the values a format 1 document holds in the old form; and the
//! docs. A test builds a record of every kind with every field filled and checks that the schema and the document
//! autosurgeon writes agree both ways, so the schema cannot drift from the model.

use super::form::{self, Coded};
use super::*;
use crate::attachment::AttachmentKind;
use automerge::{ObjId, ObjType, Prop, ReadDoc, ScalarValue, Value};

/// The type of a field as Automerge stores it.
#[derive(Clone, Copy)]
pub enum Type {
    /// A `str` scalar (not a text object).
    Str,
    /// A `str` scalar holding a date, `YYYY-MM-DD`.
    Date,
    /// A `boolean`.
    Bool,
    /// A whole number: `int` (format 1 wrote `uint`, still read).
    Int,
    /// A decimal number: `f64` (an `int` is read too).
    F64,
    /// A `str` holding one of the codes of an enumeration (format 1 wrote the variant name, still read).
    Code(&'static str, fn() -> Vec<(&'static str, &'static str)>),
    /// `null` or the inner type.
    Optional(&'static Type),
    /// A list of the inner type.
    List(&'static Type),
    /// A map from an id to the inner type.
    MapOf(&'static str, &'static Type),
    /// A map with the named fields.
    Record(&'static str, &'static [Field]),
}

/// One field of a record.
#[derive(Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub ty: Type,
    /// Whether a document written before the field existed may lack it (it then reads as empty).
    pub may_be_absent: bool,
}

const fn f(name: &'static str, ty: Type) -> Field {
    Field { name, ty, may_be_absent: false }
}

const fn late(name: &'static str, ty: Type) -> Field {
    Field { name, ty, may_be_absent: true }
}

/// The (code, format 1 name) pairs of an enumeration.
fn codes<T: Coded>() -> Vec<(&'static str, &'static str)> {
    T::all().iter().map(|v| (v.code(), v.legacy_name())).collect()
}

macro_rules! code {
    ($t:ty) => {
        Type::Code(stringify!($t), codes::<$t>)
    };
}

const GPS: Type = Type::Record("Gps", &[f("lat", Type::F64), f("lon", Type::F64)]);
const CHECK: Type = Type::Record("AssuranceCheck", &[f("status", code!(AssuranceStatus)), f("note", Type::Str)]);
const ASSURANCES: Type = Type::Record(
    "Assurances",
    &[
        f("food", CHECK),
        f("clothing", CHECK),
        f("education", CHECK),
        f("medical", CHECK),
        f("housing", CHECK),
        f("water", CHECK),
    ],
);
const ATTACHMENT: Type = Type::Record(
    "AttachmentRef",
    &[
        f("hash", Type::Str),
        f("media_type", Type::Str),
        f("size", Type::Int),
        f("kind", code!(AttachmentKind)),
        f("caption", Type::Str),
    ],
);
const MEMBER: Type = Type::Record(
    "Member",
    &[
        f("id", Type::Str),
        f("name", Type::Str),
        f("sex", code!(Sex)),
        f("birth_date", Type::Date),
        f("relation", code!(Relation)),
        f("national_id", Type::Str),
        f(
            "events",
            Type::List(&Type::Record("MemberEvent", &[f("kind", code!(MemberEventKind)), f("date", Type::Date)])),
        ),
        f("insured", Type::Bool),
        f("chronic_certificate", Type::Bool),
        f(
            "disability",
            Type::Optional(&Type::Record("Disability", &[f("kind", code!(DisabilityKind)), f("grade", Type::Int)])),
        ),
        f("conditions", Type::List(&code!(Condition))),
        f("pregnant", Type::Bool),
        f(
            "contract",
            Type::Optional(&Type::Record(
                "DoctorContract",
                &[f("team", Type::Str), f("signed_date", Type::Date), f("renewal_date", Type::Optional(&Type::Date))],
            )),
        ),
        f("employment", code!(Employment)),
    ],
);

/// A household (`household`).
pub const HOUSEHOLD: &[Field] = &[
    f("id", Type::Str),
    f("number", Type::Str),
    f("township", Type::Str),
    f("village", Type::Str),
    f("hamlet", Type::Str),
    f("address", Type::Str),
    f("head_name", Type::Str),
    f("phone", Type::Str),
    f("gps", Type::Optional(&GPS)),
    f("poverty_status", code!(PovertyStatus)),
    f(
        "status_history",
        Type::List(&Type::Record(
            "StatusTransition",
            &[
                f("date", Type::Date),
                f("event", code!(TransitionEvent)),
                f("to_status", code!(PovertyStatus)),
                f("reason", Type::Str),
            ],
        )),
    ),
    f("risk_causes", Type::List(&code!(RiskCause))),
    f("alert_level", Type::Optional(&code!(AlertLevel))),
    late(
        "alert_history",
        Type::List(&Type::Record(
            "AlertChange",
            &[f("date", Type::Date), f("level", Type::Optional(&code!(AlertLevel))), f("reason", Type::Str)],
        )),
    ),
    f(
        "relocation",
        Type::Optional(&Type::Record(
            "Relocation",
            &[f("kind", code!(RelocationKind)), f("date", Type::Date), f("from_village", Type::Str)],
        )),
    ),
    f("income_per_person", Type::Optional(&Type::F64)),
    f("income_year", Type::Optional(&Type::Int)),
    f("assurances", ASSURANCES),
    f(
        "measures",
        Type::MapOf(
            "measure id",
            &Type::Record(
                "Measure",
                &[
                    f("kind", code!(MeasureKind)),
                    f("start_date", Type::Date),
                    f("status", code!(MeasureStatus)),
                    f("note", Type::Str),
                ],
            ),
        ),
    ),
    f("helper_ids", Type::List(&Type::Str)),
    late("senior_helper", Type::Str),
    f("doctor_team", Type::Str),
    f("members", Type::MapOf("member id", &MEMBER)),
    f("deleted", Type::Bool),
];

/// A visit (`visit`).
pub const VISIT: &[Field] = &[
    f("id", Type::Str),
    f("household_id", Type::Str),
    f("member_id", Type::Optional(&Type::Str)),
    f("visitor", Type::Str),
    f("visitor_role", code!(Role)),
    f("date", Type::Date),
    f("time", Type::Str),
    f("kind", code!(VisitKind)),
    f("findings", ASSURANCES),
    f("income_note", Type::Str),
    f("risk_note", Type::Str),
    f(
        "problems",
        Type::MapOf(
            "problem id",
            &Type::Record(
                "Problem",
                &[
                    f("description", Type::Str),
                    f("assurance", Type::Optional(&code!(AssuranceKind))),
                    f("status", code!(ProblemStatus)),
                    f("resolved_date", Type::Optional(&Type::Date)),
                    f("action", Type::Str),
                ],
            ),
        ),
    ),
    f("measures_delivered", Type::List(&Type::Str)),
    f("policy_explained", Type::Bool),
    f("satisfaction", Type::Optional(&code!(Satisfaction))),
    f("note", Type::Str),
    f("gps", Type::Optional(&GPS)),
    f("signed_by_household", Type::Bool),
    late("attachments", Type::MapOf("blob hash", &ATTACHMENT)),
    f("deleted", Type::Bool),
];

/// A screening result (`screening`).
pub const SCREENING: &[Field] = &[
    f("id", Type::Str),
    f("household_id", Type::Str),
    f("member_id", Type::Str),
    f("date", Type::Date),
    f("screener", Type::Str),
    f("visit_id", Type::Optional(&Type::Str)),
    f("campaign", Type::Optional(&Type::Str)),
    f("systolic", Type::Optional(&Type::F64)),
    f("diastolic", Type::Optional(&Type::F64)),
    f("heart_rate", Type::Optional(&Type::F64)),
    f("glucose", Type::Optional(&Type::F64)),
    f("glucose_kind", code!(GlucoseKind)),
    f("height_cm", Type::Optional(&Type::F64)),
    f("weight_kg", Type::Optional(&Type::F64)),
    f("waist_cm", Type::Optional(&Type::F64)),
    f("findings", Type::Str),
    f("referral", Type::Record("Referral", &[f("level", code!(ReferralLevel)), f("destination", Type::Str)])),
    late("attachments", Type::MapOf("blob hash", &ATTACHMENT)),
    f("deleted", Type::Bool),
];

const RULES: Type = Type::Record(
    "ScheduleRules",
    &[
        f("monthly_visits", Type::Int),
        f("monitored_monthly_visits", Type::Int),
        f("edge_monthly_visits", Type::Int),
        late("monthly_visit_statuses", Type::List(&code!(PovertyStatus))),
        f("hypertension_followup_days", Type::Int),
        f("diabetes_followup_days", Type::Int),
        f("mental_followup_days", Type::Int),
        f("lookahead_days", Type::Int),
    ],
);

/// The schedule rules (`rules`, the one document `schedule-rules`).
pub const RULES_DOC: &[Field] = &[
    f("id", Type::Str),
    f("rules", RULES),
    late("effective_from", Type::Str),
    late("history", Type::List(&Type::Record("RulesVersion", &[f("effective_from", Type::Str), f("rules", RULES)]))),
    f("deleted", Type::Bool),
];

/// The fields of a document of `kind`.
pub fn fields(kind: DocKind) -> &'static [Field] {
    match kind {
        DocKind::Household => HOUSEHOLD,
        DocKind::Visit => VISIT,
        DocKind::Screening => SCREENING,
        DocKind::Rules => RULES_DOC,
    }
}

/// A value that is not what the schema says, at a dotted path (`members.<id>.sex`, `problems.<id>.status`,
/// `status_history.0.event`).
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    pub field: String,
    pub expected: String,
    pub found: String,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: expected {}, found {}", self.field, self.expected, self.found)
    }
}

/// A format 1 value to write in its format 2 form.
pub struct Rewrite {
    pub obj: ObjId,
    pub prop: Prop,
    pub value: ScalarValue,
}

/// A field of a type whose form changed between formats that holds concurrent values: each value with the id of
/// the operation that wrote it.
pub struct Concurrent {
    pub obj: ObjId,
    pub prop: Prop,
    pub values: Vec<(ScalarValue, ObjId)>,
    ty: Type,
}

impl Concurrent {
    /// A value in its current form (a code, an `int`).
    pub fn current_form(&self, value: &ScalarValue) -> ScalarValue {
        current_form(&self.ty, value)
    }
}

fn current_form(ty: &Type, value: &ScalarValue) -> ScalarValue {
    match (ty, value) {
        (Type::Optional(inner), v) => current_form(inner, v),
        (Type::Int, ScalarValue::Uint(u)) => ScalarValue::Int(i64::try_from(*u).unwrap_or(i64::MAX)),
        (Type::Code(_, codes), ScalarValue::Str(s)) => {
            match codes().iter().find(|(code, legacy)| *code == s.as_str() || *legacy == s.as_str()) {
                Some((code, _)) => ScalarValue::Str((*code).into()),
                None => value.clone(),
            }
        }
        _ => value.clone(),
    }
}

/// Whether these changes could hold a value in the form of format 1: a `uint`, or a string that is an enumeration's
/// format 1 name (a Rust variant name, never its code). A pushed change without any leaves a document already at the
/// current format as it is, so the server need not walk the document (`Document::normalize_after`): that walk was a
/// fifth of a push. Free text that happens to equal such a name only costs the walk.
pub fn may_hold_old_forms<'a>(changes: impl IntoIterator<Item = &'a automerge::Change>) -> bool {
    static NAMES: std::sync::OnceLock<std::collections::HashSet<&'static str>> = std::sync::OnceLock::new();
    let names = NAMES.get_or_init(|| {
        let mut out = std::collections::HashSet::new();
        for kind in DocKind::ALL {
            for f in fields(*kind) {
                legacy_names(&f.ty, &mut out);
            }
        }
        out
    });
    changes.into_iter().any(|change| {
        change.decode().operations.iter().any(|op| match &op.action {
            automerge::legacy::OpType::Put(ScalarValue::Uint(_)) => true,
            automerge::legacy::OpType::Put(ScalarValue::Str(s)) => names.contains(s.as_str()),
            _ => false,
        })
    })
}

/// The format 1 names of the enumerations in `ty` (those that differ from their codes), records inside it included.
fn legacy_names(ty: &Type, out: &mut std::collections::HashSet<&'static str>) {
    match ty {
        Type::Code(_, codes) => out.extend(codes().into_iter().filter(|(c, l)| c != l).map(|(_, l)| l)),
        Type::Optional(inner) | Type::List(inner) | Type::MapOf(_, inner) => legacy_names(inner, out),
        Type::Record(_, fields) => {
            for f in fields.iter() {
                legacy_names(&f.ty, out);
            }
        }
        _ => {}
    }
}

/// Every value of a document of `kind` that is not what the schema says (each value of a conflicted field is
/// checked). Fields the schema does not name are not checked: readers ignore them.
pub fn check<D: ReadDoc>(doc: &D, kind: DocKind) -> Vec<Mismatch> {
    walk(doc, kind).mismatches
}

/// The format 1 values of a document of `kind` (variant names, `uint` numbers) with their format 2 form. Fields
/// holding concurrent values are listed apart (`Concurrent`): whether one may be settled depends on who wrote
/// the values (`Document::normalize`).
pub fn normalize<D: ReadDoc>(doc: &D, kind: DocKind) -> (Vec<Rewrite>, Vec<Concurrent>) {
    let w = walk(doc, kind);
    (w.rewrites, w.concurrent)
}

fn walk<D: ReadDoc>(doc: &D, kind: DocKind) -> Walk<'_, D> {
    let mut walk = Walk { doc, mismatches: Vec::new(), rewrites: Vec::new(), concurrent: Vec::new() };
    walk.record(&automerge::ROOT, "", fields(kind));
    walk
}

struct Walk<'a, D> {
    doc: &'a D,
    mismatches: Vec<Mismatch>,
    rewrites: Vec<Rewrite>,
    concurrent: Vec<Concurrent>,
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

impl<D: ReadDoc> Walk<'_, D> {
    fn record(&mut self, obj: &ObjId, path: &str, fields: &[Field]) {
        for field in fields {
            let at = join(path, field.name);
            let values = self.doc.get_all(obj, field.name).unwrap_or_default();
            if values.is_empty() {
                if !field.may_be_absent {
                    self.mismatch(&at, &field.ty, "nothing (the field is missing)".into());
                }
                continue;
            }
            let single = values.len() == 1;
            self.note_concurrent(obj, Prop::Map(field.name.into()), &field.ty, &values);
            for (value, id) in values {
                self.value(obj, Prop::Map(field.name.into()), &at, &field.ty, value, id, single);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn value(&mut self, obj: &ObjId, prop: Prop, path: &str, ty: &Type, value: Value, id: ObjId, single: bool) {
        let rewrite = |value: ScalarValue| Rewrite { obj: obj.clone(), prop: prop.clone(), value };
        match (ty, value) {
            (Type::Optional(_), Value::Scalar(s)) if matches!(s.as_ref(), ScalarValue::Null) => {}
            (Type::Optional(inner), v) => self.value(obj, prop.clone(), path, inner, v, id, single),
            (Type::Str | Type::Date, Value::Scalar(s)) if matches!(s.as_ref(), ScalarValue::Str(_)) => {}
            (Type::Bool, Value::Scalar(s)) if matches!(s.as_ref(), ScalarValue::Boolean(_)) => {}
            (Type::F64, Value::Scalar(s))
                if matches!(s.as_ref(), ScalarValue::F64(_) | ScalarValue::Int(_) | ScalarValue::Uint(_)) => {}
            (Type::Int, Value::Scalar(s)) if matches!(s.as_ref(), ScalarValue::Int(i) if *i >= 0) => {}
            (Type::Int, Value::Scalar(s)) if matches!(s.as_ref(), ScalarValue::Uint(_)) => {
                if let (ScalarValue::Uint(u), true) = (s.as_ref(), single) {
                    self.rewrites.push(rewrite(ScalarValue::Int(i64::try_from(*u).unwrap_or(i64::MAX))));
                }
            }
            (Type::Code(_, codes), Value::Scalar(s)) if matches!(s.as_ref(), ScalarValue::Str(_)) => {
                let ScalarValue::Str(text) = s.as_ref() else { return };
                let codes = codes();
                if codes.iter().any(|(code, _)| *code == text.as_str()) {
                    return;
                }
                match codes.iter().find(|(_, legacy)| *legacy == text.as_str()) {
                    Some((code, _)) if single => self.rewrites.push(rewrite(ScalarValue::Str((*code).into()))),
                    Some(_) => {}
                    None => self.mismatch(path, ty, form::describe(s.as_ref())),
                }
            }
            (Type::List(inner), Value::Object(ObjType::List)) => {
                for i in 0..self.doc.length(&id) {
                    let at = join(path, &i.to_string());
                    let values = self.doc.get_all(&id, i).unwrap_or_default();
                    let single = values.len() == 1;
                    self.note_concurrent(&id, Prop::Seq(i), inner, &values);
                    for (v, vid) in values {
                        self.value(&id, Prop::Seq(i), &at, inner, v, vid, single);
                    }
                }
            }
            (Type::MapOf(_, inner), Value::Object(ObjType::Map)) => {
                let keys: Vec<String> = self.doc.keys(&id).collect();
                for key in keys {
                    let at = join(path, &key);
                    let values = self.doc.get_all(&id, key.as_str()).unwrap_or_default();
                    let single = values.len() == 1;
                    self.note_concurrent(&id, Prop::Map(key.clone()), inner, &values);
                    for (v, vid) in values {
                        self.value(&id, Prop::Map(key.clone()), &at, inner, v, vid, single);
                    }
                }
            }
            (Type::Record(_, fields), Value::Object(ObjType::Map)) => self.record(&id, path, fields),
            (_, Value::Scalar(s)) => self.mismatch(path, ty, form::describe(s.as_ref())),
            (_, Value::Object(t)) => self.mismatch(path, ty, object_name(t).into()),
        }
    }

    /// Keeps a field of a code or whole-number type that holds several scalar values.
    fn note_concurrent(&mut self, obj: &ObjId, prop: Prop, ty: &Type, values: &[(Value, ObjId)]) {
        let changed_form = |t: &Type| matches!(t, Type::Code(..) | Type::Int);
        let of_interest = match ty {
            Type::Optional(inner) => changed_form(inner),
            t => changed_form(t),
        };
        if values.len() < 2 || !of_interest {
            return;
        }
        let scalars: Vec<(ScalarValue, ObjId)> = values
            .iter()
            .filter_map(|(v, id)| match v {
                Value::Scalar(s) => Some((s.clone().into_owned(), id.clone())),
                Value::Object(_) => None,
            })
            .collect();
        if scalars.len() == values.len() {
            self.concurrent.push(Concurrent { obj: obj.clone(), prop, values: scalars, ty: *ty });
        }
    }

    fn mismatch(&mut self, path: &str, ty: &Type, found: String) {
        self.mismatches.push(Mismatch { field: path.to_string(), expected: describe(ty), found });
    }
}

fn object_name(t: ObjType) -> &'static str {
    match t {
        ObjType::Map | ObjType::Table => "a map",
        ObjType::List => "a list",
        ObjType::Text => "a text object (write strings as scalars: ImmutableString in JavaScript)",
    }
}

/// A type as the docs and error messages name it.
pub fn describe(ty: &Type) -> String {
    match ty {
        Type::Str => "str".into(),
        Type::Date => "str (YYYY-MM-DD)".into(),
        Type::Bool => "boolean".into(),
        Type::Int => "int (≥ 0)".into(),
        Type::F64 => "f64".into(),
        Type::Code(name, codes) => {
            let codes: Vec<&str> = codes().iter().map(|(c, _)| *c).collect();
            format!("str, a {name} code ({})", codes.join(", "))
        }
        Type::Optional(inner) => format!("null or {}", describe(inner)),
        Type::List(inner) => format!("list of {}", describe(inner)),
        Type::MapOf(key, inner) => format!("map from {key} to {}", describe(inner)),
        Type::Record(name, _) => format!("map ({name})"),
    }
}

/// The field tables of `docs/documents.md`: every kind, every field (nested records after their parent), its
/// Automerge type and its codes.
pub fn markdown() -> String {
    let mut out = String::new();
    for kind in DocKind::ALL {
        out.push_str(&format!("### `{}`\n\n| field | type | since |\n| --- | --- | --- |\n", kind.code()));
        let mut nested: Vec<(&str, &[Field])> = Vec::new();
        rows(fields(*kind), &mut out, &mut nested);
        let mut seen: Vec<&str> = Vec::new();
        while let Some((name, fields)) = (!nested.is_empty()).then(|| nested.remove(0)) {
            if seen.contains(&name) {
                continue;
            }
            seen.push(name);
            out.push_str(&format!("\n`{name}`:\n\n| field | type | since |\n| --- | --- | --- |\n"));
            rows(fields, &mut out, &mut nested);
        }
        out.push('\n');
    }
    out
}

fn rows<'a>(fields: &'a [Field], out: &mut String, nested: &mut Vec<(&'a str, &'a [Field])>) {
    for field in fields {
        let since = if field.may_be_absent { "later (may be absent)" } else { "first" };
        out.push_str(&format!("| `{}` | {} | {since} |\n", field.name, describe(&field.ty)));
        collect_records(&field.ty, nested);
    }
}

fn collect_records<'a>(ty: &'a Type, nested: &mut Vec<(&'a str, &'a [Field])>) {
    match ty {
        Type::Optional(inner) | Type::List(inner) | Type::MapOf(_, inner) => collect_records(inner, nested),
        Type::Record(name, fields) => nested.push((name, fields)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::{Author, Document};
    use automerge::ActorId;

    fn author() -> Author {
        Author { user: "u".into(), device: "d".into() }
    }

    /// Every field the schema names, as a set of paths with map keys and list indexes replaced by `*`.
    fn schema_paths(fields: &[Field], path: &str, out: &mut Vec<String>) {
        for field in fields {
            type_paths(&field.ty, &join(path, field.name), out);
        }
    }

    fn type_paths(ty: &Type, path: &str, out: &mut Vec<String>) {
        match ty {
            Type::Optional(inner) => type_paths(inner, path, out),
            Type::List(inner) | Type::MapOf(_, inner) => type_paths(inner, &join(path, "*"), out),
            Type::Record(_, fields) => schema_paths(fields, path, out),
            _ => out.push(path.to_string()),
        }
    }

    fn doc_paths<D: ReadDoc>(doc: &D, obj: &ObjId, path: &str, out: &mut Vec<String>) {
        let is_list = matches!(doc.object_type(obj), Ok(ObjType::List));
        let props: Vec<Prop> = if is_list {
            (0..doc.length(obj)).map(Prop::Seq).collect()
        } else {
            doc.keys(obj).map(Prop::Map).collect()
        };
        for prop in props {
            let (key, star) = match &prop {
                Prop::Map(k) => (k.clone(), false),
                Prop::Seq(_) => ("*".to_string(), true),
            };
            // Field names are lowercase words; map keys are ids and hashes.
            let id_key = !star && !key.chars().all(|c| c.is_ascii_lowercase() || c == '_');
            let at = join(path, if id_key { "*" } else { &key });
            match doc.get(obj, prop).unwrap() {
                Some((Value::Object(_), id)) => doc_paths(doc, &id, &at, out),
                Some((Value::Scalar(s), _)) if matches!(s.as_ref(), ScalarValue::Null) => {}
                Some(_) => out.push(at),
                None => {}
            }
        }
    }

    fn agree<R: Record>(record: &R) {
        let (doc, _) = Document::create(record, &ActorId::random(), &author(), 1).unwrap();
        let raw = doc.raw();
        assert_eq!(check(raw, R::KIND), vec![], "{:?}", R::KIND);
        let mut want = Vec::new();
        schema_paths(fields(R::KIND), "", &mut want);
        want.sort();
        want.dedup();
        let mut have = Vec::new();
        doc_paths(raw, &automerge::ROOT, "", &mut have);
        have.retain(|p| p != form::FIELD);
        have.sort();
        have.dedup();
        assert_eq!(have, want, "the schema of {:?} and the document autosurgeon writes differ", R::KIND);
    }

    #[test]
    fn the_schema_matches_what_every_kind_writes() {
        agree(&samples::full_household());
        agree(&samples::full_visit());
        agree(&samples::full_screening());
        let mut rules = RulesDoc::default();
        rules.set(ScheduleRules::default(), "2026-01-01").unwrap();
        rules.set(ScheduleRules::default(), "2026-06-01").unwrap();
        agree(&rules);
    }

    /// `docs/documents.md` holds the tables `markdown` makes; `DOORSTEP_WRITE_DOCS=1` rewrites them.
    #[test]
    fn the_documents_doc_lists_every_field() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/documents.md");
        let text = std::fs::read_to_string(&path).expect("docs/documents.md");
        let (begin, end) = ("<!-- fields: generated from core/src/model/schema.rs -->\n", "<!-- end of fields -->");
        let start = text.find(begin).expect("the begin marker") + begin.len();
        let stop = text.find(end).expect("the end marker");
        let tables = markdown();
        if std::env::var_os("DOORSTEP_WRITE_DOCS").is_some() {
            std::fs::write(&path, format!("{}{tables}{}", &text[..start], &text[stop..])).unwrap();
            return;
        }
        assert!(text[start..stop] == tables, "docs/documents.md is out of date: run DOORSTEP_WRITE_DOCS=1 cargo test");
    }

    #[test]
    fn a_wrong_value_is_named_by_its_path() {
        let h = samples::full_household();
        let member = h.members.keys().next().unwrap().clone();
        let (mut doc, _) = Document::create(&h, &ActorId::random(), &author(), 1).unwrap();
        let raw = doc.raw_mut();
        use automerge::transaction::Transactable;
        let (_, members) = raw.get(automerge::ROOT, "members").unwrap().unwrap();
        let (_, m) = raw.get(&members, member.as_str()).unwrap().unwrap();
        raw.put(&m, "sex", "M").unwrap();
        raw.put(automerge::ROOT, "income_per_person", "lots").unwrap();
        let found = check(&*raw, DocKind::Household);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].field, "income_per_person");
        assert_eq!(found[0].found, "str \"lots\"");
        assert_eq!(found[1].field, format!("members.{member}.sex"));
        assert!(found[1].expected.contains("male, female, unknown"), "{}", found[1].expected);
    }
}
