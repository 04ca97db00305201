//! TODO: the policy file `config.toml` (issue 4).
