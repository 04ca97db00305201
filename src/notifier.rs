//! TODO: desktop notifications with a bounded wait (issue 2).
