//! The scenarios of BENCHMARKS.md, one module each; every one returns its rows of figures.

pub mod attachments;
pub mod bootstrap;
pub mod county;
pub mod open;
pub mod province;
pub mod record;
pub mod storm;
pub mod sync;

/// Scenario names for `--only`, in the order `all` runs them, with what each measures.
pub const ALL: &[(&str, &str)] = &[
    ("record", "record one visit through the public API, p50 and p99"),
    ("sync", "sync 1,000 offline visits; then one concurrent edit per visit on each of two phones"),
    ("helper-bootstrap", "a fresh helper phone's first sync; disk per household"),
    ("open-store", "open a store with 10,000 documents and list households; peak RSS; memory per household"),
    (
        "county",
        "server ingest from 100 devices (SQLite, and PostgreSQL when given); overview page; supervisor bootstrap",
    ),
    (
        "storm",
        "month end: 2,000 phones push 30 visits each within one minute (SQLite, and PostgreSQL when given); p99 sync",
    ),
    ("attachments", "documents syncing while a photo backlog is pending"),
    (
        "province",
        "the pages over 100,000 households: 200,000 visits on SQLite, 1,000,000 on PostgreSQL (when given); as of a \
         year ago; server memory",
    ),
];
