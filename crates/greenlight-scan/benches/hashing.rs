//! Hashing throughput (filled in below).
fn main() {}
