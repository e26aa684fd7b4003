//! The fuzz targets' bodies live in `bodies.rs`, which the normal test suite also compiles
//! (`tests/tests/hostile_decoder.rs`) to replay the committed corpus and regressions without nightly.

pub mod bodies;
