//! The fuzz targets' bodies live in their own crate (`tests/fuzz-bodies`), which the normal test suite also uses
//! (`tests/tests/hostile_decoder.rs`, `hostile_ingest.rs`) to replay the committed corpus and regressions without
//! nightly.

pub use doorstep_fuzz_bodies as bodies;
