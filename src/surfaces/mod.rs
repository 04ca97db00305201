//! Where warnings reach the developer: prompt segment, shell templates, git hook, scanner.
//! TODO (issue 6).
