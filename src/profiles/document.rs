//! TODO: the lossless document model (issue 3).

/// A parsed file that renders back to its exact bytes.
#[derive(Debug, Clone, Default)]
pub struct Document {}
