//! The bindings generator, built from the same uniffi version as the core so that generated code always matches.
fn main() {
    uniffi::uniffi_bindgen_main()
}
