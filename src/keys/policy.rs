//! TODO: pure policy (issue 4).
