//! `keyage protect`: the plan, the confirmation, the run (`crate::protect`).

use crate::cli::ProtectArgs;
use crate::env::Env;
use crate::error::{Error, Kind, Result};
use crate::rotation::ui;

pub(crate) fn run(env: &Env, args: ProtectArgs) -> Result<u8> {
    let profile = args.profile.unwrap_or_else(|| env.current_profile());
    let exe = crate::sys::paths::user_facing_exe().map_err(|e| {
        Error::new(
            Kind::Internal,
            format!("cannot find keyage's own path: {e}"),
        )
    })?;
    let store = crate::protect::store();
    let Some(plan) = crate::protect::plan(env, &profile, &exe)? else {
        let key = crate::protect::finish_only(env, &profile, &store)?;
        crate::say!("Key {key} of profile `{profile}` is protected: it is in the OS keyring and in none of your AWS files.");
        return Ok(0);
    };
    crate::sys::out::print(&plan.render())?;
    if args.confirm.dry_run {
        crate::say!("Dry run: nothing was changed.");
        return Ok(0);
    }
    if !ui::confirm("Protect it now?", args.confirm.yes, "--yes")? {
        return Err(Error::new(
            Kind::Refused,
            "not confirmed; nothing was changed",
        ));
    }
    let done = crate::protect::execute(env, &plan, &store)?;
    for f in &done.files {
        crate::say!("  changed {}", f.display());
    }
    crate::say!(
        "Protected: key {} is in the OS keyring (read back) and in none of your AWS files; {} get{} it through `keyage credential-process`. `keyage unprotect --profile {profile}` puts it back.",
        done.key_id,
        done.profiles.join(", "),
        if done.profiles.len() == 1 { "s" } else { "" },
    );
    Ok(0)
}
