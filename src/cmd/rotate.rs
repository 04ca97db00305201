//! `keyage rotate-self`: maps the arguments to a `rotation::Session` request and prints.
//! `--resume` continues an interrupted rotation from its journal.

use crate::cli::RotateArgs;
use crate::env::Env;
use crate::error::Result;
use crate::rotation::plan::Request;
use crate::rotation::session::{self, ResumeRequest, StartRequest, Started};
use crate::rotation::{Retire, Session, Terminal};

pub fn run(env: &Env, args: RotateArgs) -> Result<u8> {
    let session = Session::open(env);
    let prompter = Terminal {
        yes: args.confirm.yes,
    };
    if args.resume {
        let req = ResumeRequest {
            mfa_serial: args.mfa_serial,
            token_code: args.token_code,
        };
        let out = session::block_on(session.resume(req, &prompter))?;
        print!("{}", out.render());
        crate::keys::after_change(env, &rotated(&out), chrono::Utc::now());
        copies_line(env);
        aftercare(env, &out);
        return Ok(0);
    }
    let req = StartRequest {
        plan: Request {
            profile: args.profile.unwrap_or_else(|| env.current_profile()),
            retire: Retire {
                old_key: args.old_key.into(),
                grace_days: args.grace_days,
            },
            mfa_serial: args.mfa_serial,
            delete_inactive_spare: args.delete_inactive_spare,
        },
        dry_run: args.confirm.dry_run,
        token_code: args.token_code,
    };
    match session::block_on(session.start(req, &prompter))? {
        Started::DryRun => println!(
            "Dry run: the key works, IAM lets you rotate it and the keyring is usable; nothing was changed."
        ),
        Started::Rotated(out) => {
            print!("{}", out.render());
            crate::keys::after_change(env, &rotated(&out), chrono::Utc::now());
            copies_line(env);
            aftercare(env, &out);
        }
    }
    Ok(0)
}

/// What a finished rotation changed in IAM, for the fact cache.
fn rotated(out: &crate::rotation::run::Outcome) -> Vec<(String, crate::state::cache::Change)> {
    use crate::rotation::OldKey;
    use crate::state::cache::Change;
    let mut v = vec![(
        out.new_key_id.clone(),
        Change::Created {
            sibling: out.old_key_id.clone(),
            created: None,
        },
    )];
    match out.old_key {
        OldKey::Inactive => v.push((out.old_key_id.clone(), Change::Active(false))),
        OldKey::Delete => v.push((out.old_key_id.clone(), Change::Deleted)),
        OldKey::KeepActive => {}
    }
    v
}

/// The rotation summary's last line: where the backout copies are.
fn copies_line(env: &Env) {
    println!(
        "Backout copies: in {}.",
        crate::rotation::open_store(env).location()
    );
}

/// What else to do: other copies, cached sessions of the old key, the org-side checks.
fn aftercare(env: &Env, out: &crate::rotation::run::Outcome) {
    print!(
        "{}",
        crate::rotation::after::after_rotation(env, &out.profiles, out.rotated_at).render()
    );
}
