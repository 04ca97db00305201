//! `keyage doctor`: runs every check (AWS ones in parallel with the keyring and notification
//! probes), prints the report, exits 0 when nothing failed and 1 otherwise.

use crate::cli::DoctorArgs;
use crate::doctor::{self, Check, Report};
use crate::env::Env;
use crate::error::Result;

pub(crate) fn run(env: &Env, args: DoctorArgs) -> Result<u8> {
    // The slow probes run on their own threads while the files and AWS are checked.
    let stores = {
        let env = env.clone();
        std::thread::spawn(move || doctor::local::stores(&env))
    };
    let notes = std::thread::spawn(doctor::local::notifications);

    let (inv, mut checks) = doctor::files::check(env);
    if let Some(inv) = &inv {
        checks.extend(doctor::aws::check(env, inv));
    }
    checks.extend(doctor::protect::check(env, inv.as_ref()));
    let joined = |h: std::thread::JoinHandle<Check>, id: &'static str| {
        h.join()
            .unwrap_or_else(|_| Check::fail(id, id, "the check crashed"))
    };
    checks.extend(
        stores
            .join()
            .unwrap_or_else(|_| vec![Check::fail("store", "store", "the check crashed")]),
    );
    checks.push(joined(notes, "notifications"));

    let (git_ok, git) = doctor::local::git_present();
    checks.push(git);
    let cwd = std::env::current_dir().ok();
    checks.push(doctor::local::git_hook(env, git_ok, cwd.as_deref()));
    checks.push(doctor::local::shell_init(env));
    checks.push(doctor::local::agent(env));

    let report = Report::new(checks);
    if args.json {
        crate::sys::out::print(&(report.to_json() + "\n"))?;
    } else {
        crate::sys::out::print(&report.to_text())?;
    }
    Ok(report.exit_code())
}
