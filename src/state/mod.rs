//! State under `$XDG_STATE_HOME/keyage` (0700 folder, 0600 files, atomic writes, no secrets).
//! TODO: cache (issue 4), journal (issue 5), notification memory (issue 7).
