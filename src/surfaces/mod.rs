//! Where warnings reach the developer: prompt segment, shell templates, git hook, scanner.

pub mod segment;
