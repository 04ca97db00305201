//! TODO: the key facts model (issue 4).
