//! The rotation's use cases, in one place: `Session::open` builds the context once (the SDK
//! connection for a profile, the store from `rotation::open_store`, the credentials `Files`),
//! and `start`, `resume`, `backout` and `finalize` are the use cases. `cmd/` maps arguments to
//! a request and prints; the agent calls the same API with the `Unattended` prompter.

use std::path::PathBuf;
use std::time::Duration;

use super::backout::{journal_from_pending, Undone};
use super::edges::{self, Connect, Files, InventoryFiles, SdkConnect, Store};
use super::finalize::Verdict;
use super::journal::{self, Journal, PendingFinalize};
use super::plan::{self, Plan, Refusal, Request};
use super::run::{self, retry_safe, Ctx, Outcome};
use super::{lock, ui};
use crate::aws::Target;
use crate::env::Env;
use crate::error::{Error, Kind, Result};
use crate::keys::iam::{ApiFailure, KeyService, SessionCreds};
use crate::profiles::Inventory;
use crate::secret::SecretKey;

/// A `.keyage-*.tmp` file this old is a killed writer's (a live one renames it at once).
const STALE_TEMP: Duration = Duration::from_secs(60);

/// The person (or the lack of one) the rotation talks to between planning and acting.
pub trait Prompter {
    /// The plan, before it is confirmed.
    fn show_plan(&self, plan: &Plan);
    /// May the plan run? Err = refused with a reason (no terminal, no `--yes`).
    fn confirm_plan(&self) -> Result<bool>;
    /// Two keys, the other inactive: may keyage delete it? false = refuse the rotation.
    fn confirm_spare_deletion(&self, spare: &str) -> Result<bool>;
    /// The MFA code for `serial`.
    fn mfa_code(&self, serial: &str) -> Result<String>;
}

/// The terminal: asks on stderr, reads stdin; `yes` answers the confirmations.
pub struct Terminal {
    pub yes: bool,
}

impl Prompter for Terminal {
    fn show_plan(&self, plan: &Plan) {
        print!("{}", plan.render());
    }
    fn confirm_plan(&self) -> Result<bool> {
        ui::confirm("Rotate now?", self.yes, "--yes")
    }
    fn confirm_spare_deletion(&self, spare: &str) -> Result<bool> {
        if self.yes || !ui::interactive() {
            return Ok(false);
        }
        eprintln!(
            "You already have two keys; the other one, {spare}, is inactive. IAM allows two."
        );
        ui::confirm(
            &format!("Delete the inactive key {spare} (its secret cannot be recovered)?"),
            false,
            "--delete-inactive-spare",
        )
    }
    fn mfa_code(&self, serial: &str) -> Result<String> {
        ui::mfa_code(serial)
    }
}

/// Nobody to ask (the agent's `auto_rotate`): the plan runs (the config's consent), a spare
/// is never deleted, an MFA code cannot be had.
pub struct Unattended;

impl Prompter for Unattended {
    fn show_plan(&self, plan: &Plan) {
        tracing::info!(
            profile = %plan.sel.profile,
            key = %plan.sel.old_key_id,
            "rotating without a terminal"
        );
    }
    fn confirm_plan(&self) -> Result<bool> {
        Ok(true)
    }
    fn confirm_spare_deletion(&self, _spare: &str) -> Result<bool> {
        Ok(false)
    }
    fn mfa_code(&self, serial: &str) -> Result<String> {
        Err(Error::new(
            Kind::Refused,
            format!("MFA device {serial} needs a code, and there is no terminal to ask on"),
        )
        .hint("rotate by hand: keyage rotate-self --token-code CODE"))
    }
}

/// A new rotation.
#[derive(Debug, Clone)]
pub struct StartRequest {
    pub plan: Request,
    pub dry_run: bool,
    pub token_code: Option<String>,
}

/// What `start` did.
#[derive(Debug)]
pub enum Started {
    /// `--dry-run`: the plan and the preflight passed; nothing changed.
    DryRun,
    Rotated(Outcome),
}

/// Continue the interrupted rotation.
#[derive(Debug, Clone, Default)]
pub struct ResumeRequest {
    pub mfa_serial: Option<String>,
    pub token_code: Option<String>,
}

/// Undo the unfinished rotation, else `profile`'s last finished one.
#[derive(Debug, Clone)]
pub struct BackoutRequest {
    pub profile: String,
    pub delete_new: bool,
}

/// Delete the pending old keys (of `profile`, or all) that are due.
#[derive(Debug, Clone, Default)]
pub struct FinalizeRequest {
    pub profile: Option<String>,
    pub force: bool,
}

/// Every pending entry finalize looked at, with what happened to it.
pub type Finalized = Vec<(PendingFinalize, Result<Verdict>)>;

/// The context of every rotation use case, built once.
pub struct Session {
    env: Env,
    dir: PathBuf,
    store: Store,
    files: Box<dyn Files + Send + Sync>,
    verify_timeout: Duration,
}

impl Session {
    pub fn open(env: &Env) -> Session {
        Session {
            env: env.clone(),
            dir: env.state_dir(),
            store: super::open_store(env),
            files: Box::new(InventoryFiles { env: env.clone() }),
            verify_timeout: run::verify_timeout_from(env),
        }
    }

    fn connect_for(&self, inv: Option<&Inventory>, profile: &str) -> SdkConnect {
        SdkConnect {
            env: self.env.clone(),
            target: target_for(inv, profile),
        }
    }

    fn ctx<'a>(
        &'a self,
        connect: &'a SdkConnect,
        session: Option<SessionCreds>,
    ) -> Ctx<'a, SdkConnect, dyn Files + Send + Sync> {
        Ctx {
            connect,
            files: self.files.as_ref(),
            store: self.store.clone(),
            dir: self.dir.clone(),
            verify_timeout: self.verify_timeout,
            session,
            now: chrono::Utc::now,
        }
    }

    /// The rotation lock; under it, the temp files a killed keyage left in the state folder go.
    fn lock(&self) -> Result<lock::RotationLock> {
        let l = lock::acquire(&self.dir, lock::wait_from(&self.env))?;
        crate::sys::fs::remove_stale_temps(&self.dir, STALE_TEMP);
        Ok(l)
    }

    /// `rotate-self`: preflight, plan, confirmation, then the journaled steps.
    pub async fn start(&self, req: StartRequest, prompter: &dyn Prompter) -> Result<Started> {
        let _lock = if req.dry_run {
            None
        } else {
            Some(self.lock()?)
        };
        if let Some(j) = Journal::load(&self.dir)? {
            return Err(Error::new(
                Kind::Conflict,
                "a rotation is unfinished; finish or undo it before starting another",
            )
            .hint(journal::unfinished_notice(&j)));
        }
        let mut req_plan = req.plan.clone();
        let inv = Inventory::load(&self.env)?;
        let mut sel = plan::select(&plan::profile_infos(&inv), &req_plan)?;
        if inv.is_protected(&sel.old_key_id) {
            // `keyage protect`: the key lives in the keyring; no file changes.
            sel.files.clear();
        }
        // What this machine can tell before IAM changes anything (a dry run too).
        let local = super::preflight::check(&inv, &sel, &self.dir)?;

        // No backup, no rotation: the store must work before anything touches IAM.
        edges::store_probe(&self.store).await.map_err(|e| {
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

        // A protected key's secret comes from the keyring (`Files` knows where).
        let old_secret = self
            .files
            .secret_for(&sel.old_key_id)?
            .ok_or_else(|| Error::internal("the profile's key has no secret"))?;
        let connect = self.connect_for(Some(&inv), &sel.profile);
        let old_svc = connect.connect(&sel.old_key_id, &old_secret, None).await;
        let identity = retry_safe(|| old_svc.whoami()).await?;
        let session = match &sel.mfa_serial {
            Some(serial) => Some(
                mfa_session(
                    &connect,
                    serial,
                    req.token_code.as_deref(),
                    &[(sel.old_key_id.clone(), old_secret.clone())],
                    prompter,
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
        let plan = match plan::plan(sel.clone(), &identity, &keys, &req_plan, now) {
            Err(Refusal::SpareInactive { spare }) if !req.dry_run => {
                if !prompter.confirm_spare_deletion(&spare)? {
                    return Err(Refusal::SpareInactive { spare }.into());
                }
                req_plan.delete_inactive_spare = true;
                plan::plan(sel, &identity, &keys, &req_plan, now)?
            }
            r => r?,
        };
        prompter.show_plan(&plan);
        if req.dry_run {
            for w in local.would() {
                ui::step(&w);
            }
            return Ok(Started::DryRun);
        }
        if !prompter.confirm_plan()? {
            return Err(Error::new(
                Kind::Refused,
                "not confirmed; nothing was changed",
            ));
        }
        for said in local.fix()? {
            ui::step(&said);
        }
        for f in &plan.sel.files {
            if let Some(d) = f.parent() {
                crate::sys::fs::remove_stale_temps(d, STALE_TEMP);
            }
        }
        let ctx = self.ctx(&connect, session);
        let mut j = run::new_journal(&plan, now);
        j.save(&self.dir)?;
        let out = ctx.drive(&mut j).await?;
        Ok(Started::Rotated(out))
    }

    /// `rotate-self --resume`: continues the interrupted rotation from its journal.
    pub async fn resume(&self, req: ResumeRequest, prompter: &dyn Prompter) -> Result<Outcome> {
        let _lock = self.lock()?;
        let Some(mut j) = Journal::load(&self.dir)? else {
            return Err(Error::new(
                Kind::Refused,
                "there is no interrupted rotation to resume",
            ));
        };
        if j.backout {
            return Err(Error::new(
                Kind::Refused,
                "the interrupted run is a backout; it cannot be resumed as a rotation",
            )
            .hint("run `keyage backout` to finish it"));
        }
        // Step f writes the pending list: an unreadable one stops the resume before any step.
        journal::load_pending(&self.dir).map_err(|e| Error {
            message: format!("{}; the resume changed nothing", e.message),
            ..e
        })?;
        let inv = Inventory::load(&self.env).ok();
        let connect = self.connect_for(inv.as_ref(), &j.profile);
        edges::store_probe(&self.store).await?;
        let mut ctx = self.ctx(&connect, None);
        ctx.check_journal(&j, &Journal::path(&self.dir)).await?;
        if let Some(serial) = j.mfa_serial.clone().or(req.mfa_serial.clone()) {
            let mut cands = Vec::new();
            for id in std::iter::once(j.old_key_id.clone()).chain(j.new_key_id.clone()) {
                if let Some(s) = ctx.secret_of(&id).await? {
                    cands.push((id, s));
                }
            }
            ctx.session = Some(
                mfa_session(
                    &connect,
                    &serial,
                    req.token_code.as_deref(),
                    &cands,
                    prompter,
                )
                .await?,
            );
        }
        ui::step(&format!(
            "resuming the rotation of profile `{}` from {}",
            j.profile,
            j.state.describe()
        ));
        ctx.drive(&mut j).await
    }

    /// `backout`: undoes the unfinished rotation, else the profile's last finished one.
    pub async fn backout(&self, req: BackoutRequest) -> Result<Undone> {
        let _lock = self.lock()?;
        let now = chrono::Utc::now();
        let (mut j, path) = match Journal::load(&self.dir)? {
            Some(j) => (j, Journal::path(&self.dir)),
            None => {
                let pending = journal::load_pending(&self.dir)?;
                let last = pending
                    .iter()
                    .filter(|p| !p.is_backout())
                    .filter(|p| p.profile == req.profile || p.profiles.contains(&req.profile))
                    .max_by_key(|p| p.rotated_at)
                    .ok_or_else(|| {
                        let waiting: Vec<&str> = pending
                            .iter()
                            .filter(|p| p.is_backout())
                            .filter(|p| p.profile == req.profile || p.profiles.contains(&req.profile))
                            .map(|p| p.old_key_id.as_str())
                            .collect();
                        Error::new(
                            Kind::Refused,
                            format!(
                                "there is no rotation of profile `{}` to back out{}",
                                req.profile,
                                if waiting.is_empty() {
                                    String::new()
                                } else {
                                    format!(
                                        " (its pending finalize of {} is a key an earlier backout retired; `keyage finalize` deletes it)",
                                        waiting.join(", ")
                                    )
                                }
                            ),
                        )
                        .hint("`keyage status` lists pending finalizes; pick one with --profile")
                    })?;
                (
                    journal_from_pending(last, now),
                    self.dir.join(journal::PENDING_FILE),
                )
            }
        };
        let inv = Inventory::load(&self.env).ok();
        let connect = self.connect_for(inv.as_ref(), &j.profile);
        edges::store_probe(&self.store).await?;
        let ctx = self.ctx(&connect, None);
        ctx.check_journal(&j, &path).await?;
        ctx.backout(&mut j, req.delete_new).await
    }

    /// `finalize`: each pending old key (of the profile, or all) that is due and unused.
    pub async fn finalize(&self, req: FinalizeRequest) -> Result<Finalized> {
        let _lock = self.lock()?;
        let all = journal::load_pending(&self.dir)?;
        let inv = Inventory::load(&self.env).ok();
        if let Some(name) = &req.profile {
            known_profile(inv.as_ref(), &all, name)?;
        }
        let pending: Vec<_> = all
            .iter()
            .filter(|p| match &req.profile {
                Some(pr) => &p.profile == pr || p.profiles.contains(pr),
                None => true,
            })
            .cloned()
            .collect();
        if pending.is_empty() {
            return Ok(Vec::new());
        }
        edges::store_probe(&self.store).await?;
        let mut out = Vec::new();
        for p in pending {
            let connect = self.connect_for(inv.as_ref(), &p.profile);
            let ctx = self.ctx(&connect, None);
            let acting = journal::acting_keys(&p, &all);
            let r = ctx.finalize_acting(&p, req.force, &acting).await;
            out.push((p, r));
        }
        Ok(out)
    }
}

/// `backout` changes IAM and the files like a rotation does: on a terminal it asks, without
/// one it refuses unless `yes` (`--yes`), like `rotate-self`.
pub fn confirm_backout(profile: &str, yes: bool) -> Result<()> {
    if ui::confirm(
        &format!("Back out the last rotation of profile `{profile}` (the old key goes back into your files)?"),
        yes,
        "--yes",
    )? {
        Ok(())
    } else {
        Err(Error::new(Kind::Refused, "not confirmed; nothing was changed"))
    }
}

/// A `--profile` that names no profile in the files and no pending finalize is a usage error
/// (exit 2), as in `status`.
fn known_profile(inv: Option<&Inventory>, pending: &[PendingFinalize], name: &str) -> Result<()> {
    let in_files = inv.is_some_and(|i| i.profile(name).is_some());
    let in_pending = pending
        .iter()
        .any(|p| p.profile == name || p.profiles.iter().any(|q| q == name));
    if in_files || in_pending {
        return Ok(());
    }
    let known: Vec<&str> = inv
        .map(|i| i.profiles.iter().map(|p| p.name.as_str()).collect())
        .unwrap_or_default();
    Err(Error::usage(format!(
        "no profile named `{name}` in your AWS files, and no pending finalize for it"
    ))
    .hint(if known.is_empty() {
        "there are no profiles at all".to_string()
    } else {
        format!("known profiles: {}", known.join(", "))
    }))
}

/// Runs a use case to its end on a runtime of its own (for callers without one).
pub fn block_on<T>(f: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    crate::aws::runtime()?.block_on(f)
}

/// The SDK target (endpoint/region settings) of a profile, best effort.
pub fn target_for(inv: Option<&Inventory>, profile: &str) -> Target {
    Target {
        profile: Some(profile.to_string()),
        profile_region: inv
            .and_then(|i| i.profile(profile))
            .and_then(|p| p.region.clone()),
    }
}

/// Gets an MFA session with the first candidate key IAM accepts.
async fn mfa_session<C: Connect>(
    connect: &C,
    serial: &str,
    code: Option<&str>,
    candidates: &[(String, SecretKey)],
    prompter: &dyn Prompter,
) -> Result<SessionCreds> {
    let code = match code {
        Some(c) => c.to_string(),
        None => prompter.mfa_code(serial)?,
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
