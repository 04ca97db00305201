//! TODO: implemented by the profiles work (issue 3).
