//! `keyage-core`: the full program, run by the `keyage` front for every command it does not
//! run itself (see `keyage::front`).
fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(keyage::run())
}
