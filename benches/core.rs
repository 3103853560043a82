//! Criterion benches of core operations (placeholder until the benches land).
fn main() {}
