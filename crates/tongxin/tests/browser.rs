//! Browser tests (skeleton while building).
#[test]
fn placeholder() {}
