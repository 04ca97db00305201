//! `keyage unprotect`: the protected key back into the AWS files (`crate::protect`).

use crate::cli::UnprotectArgs;
use crate::env::Env;
use crate::error::{Error, Kind, Result};
use crate::rotation::ui;

pub(crate) fn run(env: &Env, args: UnprotectArgs) -> Result<u8> {
    let profile = args.profile.unwrap_or_else(|| env.current_profile());
    let store = crate::protect::store();
    let plan = crate::protect::plan_unprotect(env, &profile, &store)?;
    crate::sys::out::print(&plan.render())?;
    if !ui::confirm("Put the key back into your files?", args.yes, "--yes")? {
        return Err(Error::new(
            Kind::Refused,
            "not confirmed; nothing was changed",
        ));
    }
    let files = crate::protect::execute_unprotect(env, &plan, &store)?;
    for f in &files {
        crate::say!("  changed {}", f.display());
    }
    crate::say!(
        "Unprotected: key {} is back in your AWS files; its keyring entry is removed.",
        plan.key_id
    );
    Ok(0)
}
