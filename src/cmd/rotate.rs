//! `keyage rotate-self`: preflight, plan, confirmation, then the journaled steps
//! (`rotation::run`). `--resume` continues an interrupted rotation from its journal.

use crate::aws::{self, Target};
use crate::cli::RotateArgs;
use crate::env::Env;
use crate::error::{Error, Kind, Result};
use crate::keys::iam::{ApiFailure, KeyService, SessionCreds};
use crate::profiles::Inventory;
use crate::rotation::edges::{self, Connect, InventoryFiles, SdkConnect};
use crate::rotation::journal::{self, Journal};
use crate::rotation::plan::{self, Refusal, Request};
use crate::rotation::run::{self, retry_safe, Ctx};
use crate::rotation::{lock, ui};
use crate::secret::SecretKey;

pub fn run(env: &Env, args: RotateArgs) -> Result<u8> {
    let rt = aws::runtime()?;
    rt.block_on(rotate(env, args))
}

/// The SDK target (endpoint/region settings) of a profile, best effort.
pub(crate) fn target_for(inv: Option<&Inventory>, profile: &str) -> Target {
    Target {
        profile: Some(profile.to_string()),
        profile_region: inv
            .and_then(|i| i.profile(profile))
            .and_then(|p| p.region.clone()),
    }
}

/// Gets an MFA session with the first candidate key IAM accepts.
pub(crate) async fn mfa_session<C: Connect>(
    connect: &C,
    serial: &str,
    code: Option<&str>,
    candidates: &[(String, SecretKey)],
) -> Result<SessionCreds> {
    let code = match code {
        Some(c) => c.to_string(),
        None => ui::mfa_code(serial)?,
    };
    let mut last = None;
    for (id, s) in candidates {
        let svc = connect.connect(id, s, None).await;
        match svc.session_token(serial, &code).await {
            Ok(c) => return Ok(c),
            Err(e) if e.failure == ApiFailure::InvalidKey => last = Some(e),
            Err(e) => {
                return Err(Error::from(e).hint(format!(
                    "check the MFA code and the device {serial} (--mfa-serial, or mfa_serial in the profile)"
                )))
            }
        }
    }
    Err(last
        .map(Error::from)
        .unwrap_or_else(|| Error::new(Kind::Aws, "no key to get an MFA session with")))
}

async fn rotate(env: &Env, args: RotateArgs) -> Result<u8> {
    let dir = env.state_dir();
    let _lock = if args.dry_run {
        None
    } else {
        Some(lock::acquire(&dir, lock::wait_from(env))?)
    };
    let existing = Journal::load(&dir)?;
    if args.resume {
        let Some(j) = existing else {
            return Err(Error::new(
                Kind::Refused,
                "there is no interrupted rotation to resume",
            ));
        };
        return resume(env, args, j).await;
    }
    if let Some(j) = existing {
        return Err(Error::new(
            Kind::Conflict,
            "a rotation is unfinished; finish or undo it before starting another",
        )
        .hint(journal::unfinished_notice(&j)));
    }

    let profile = args
        .profile
        .clone()
        .unwrap_or_else(|| env.current_profile());
    let inv = Inventory::load(env)?;
    let mut req = Request {
        profile,
        old_key: args.old_key,
        grace_days: args.grace_days,
        mfa_serial: args.mfa_serial.clone(),
        delete_inactive_spare: args.delete_inactive_spare,
    };
    let mut sel = plan::select(&plan::profile_infos(&inv), &req)?;
    if inv.is_protected(&sel.old_key_id) {
        // `keyage protect`: the key lives in the keyring; no file changes.
        sel.files.clear();
    }

    // No backup, no rotation: the keyring must work before anything touches IAM.
    let store = crate::rotation::open_store(env);
    edges::store_probe(&store).await.map_err(|e| {
        Error::new(
            Kind::Keyring,
            format!(
                "the OS keyring is not usable, so there is nowhere to keep the backout copies; nothing was changed ({})",
                e.message
            ),
        )
        .hint(e.hint.unwrap_or_else(|| {
            "start an unlocked Secret Service (gnome-keyring) on the session bus; `keyage doctor` checks it".into()
        }))
    })?;

    let old_secret = crate::rotation::edges::Files::secret_for(
        &InventoryFiles { env: env.clone() },
        &sel.old_key_id,
    )?
    .ok_or_else(|| Error::internal("the profile's key has no secret"))?;
    let connect = SdkConnect {
        env: env.clone(),
        target: target_for(Some(&inv), &sel.profile),
    };
    let old_svc = connect.connect(&sel.old_key_id, &old_secret, None).await;
    let identity = retry_safe(|| old_svc.whoami()).await?;
    let session = match &sel.mfa_serial {
        Some(serial) => Some(
            mfa_session(
                &connect,
                serial,
                args.token_code.as_deref(),
                &[(sel.old_key_id.clone(), old_secret.clone())],
            )
            .await?,
        ),
        None => None,
    };
    let keys = {
        let admin = match &session {
            Some(s) => connect.connect(&s.key_id, &s.secret, Some(&s.token)).await,
            None => old_svc.clone(),
        };
        let user = identity.user_name.clone();
        retry_safe(|| admin.list_keys(user.as_deref())).await?
    };
    let now = chrono::Utc::now();
    let plan = match plan::plan(sel.clone(), &identity, &keys, &req, now) {
        Err(Refusal::SpareInactive { spare })
            if !args.dry_run && !args.yes && ui::interactive() =>
        {
            eprintln!(
                "You already have two keys; the other one, {spare}, is inactive. IAM allows two."
            );
            if !ui::confirm(
                &format!("Delete the inactive key {spare} (its secret cannot be recovered)?"),
                false,
                "--delete-inactive-spare",
            )? {
                return Err(Refusal::SpareInactive { spare }.into());
            }
            req.delete_inactive_spare = true;
            plan::plan(sel, &identity, &keys, &req, now)?
        }
        r => r?,
    };
    print!("{}", plan.render());
    if args.dry_run {
        println!("Dry run: the key works, IAM lets you rotate it and the keyring is usable; nothing was changed.");
        return Ok(0);
    }
    if !ui::confirm("Rotate now?", args.yes, "--yes")? {
        return Err(Error::new(
            Kind::Refused,
            "not confirmed; nothing was changed",
        ));
    }
    let files = InventoryFiles { env: env.clone() };
    let ctx = Ctx {
        connect: &connect,
        files: &files,
        store,
        dir: dir.clone(),
        verify_timeout: run::verify_timeout_from(env),
        session,
        now: chrono::Utc::now,
    };
    let mut j = run::new_journal(&plan, now);
    j.save(&dir)?;
    let out = ctx.drive(&mut j).await?;
    print!("{}", out.render());
    Ok(0)
}

async fn resume(env: &Env, args: RotateArgs, mut j: Journal) -> Result<u8> {
    if j.backout {
        return Err(Error::new(
            Kind::Refused,
            "the interrupted run is a backout; it cannot be resumed as a rotation",
        )
        .hint("run `keyage backout` to finish it"));
    }
    let inv = Inventory::load(env).ok();
    let connect = SdkConnect {
        env: env.clone(),
        target: target_for(inv.as_ref(), &j.profile),
    };
    let store = crate::rotation::open_store(env);
    edges::store_probe(&store).await?;
    let files = InventoryFiles { env: env.clone() };
    let mut ctx = Ctx {
        connect: &connect,
        files: &files,
        store,
        dir: env.state_dir(),
        verify_timeout: run::verify_timeout_from(env),
        session: None,
        now: chrono::Utc::now,
    };
    if let Some(serial) = j.mfa_serial.clone().or(args.mfa_serial.clone()) {
        let mut cands = Vec::new();
        for id in std::iter::once(j.old_key_id.clone()).chain(j.new_key_id.clone()) {
            if let Some(s) = ctx.secret_of(&id).await? {
                cands.push((id, s));
            }
        }
        ctx.session =
            Some(mfa_session(&connect, &serial, args.token_code.as_deref(), &cands).await?);
    }
    ui::step(&format!(
        "resuming the rotation of profile `{}` from {}",
        j.profile,
        j.state.describe()
    ));
    let out = ctx.drive(&mut j).await?;
    print!("{}", out.render());
    Ok(0)
}
