//! `keyage`: the small front (see `keyage::front`); other commands run in `keyage-core`.
fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(keyage::front::run())
}
