//! The steps a–f, each journaled before its side effect, each idempotent on resume: a step
//! first looks at IAM, the keyring and the files to see whether its effect already happened.

use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::edges::{self, Connect, Files, Store};
use super::failpoint;
use super::journal::{self, Journal, PendingFinalize, State};
use super::plan::Plan;
use super::proof::{self, Written};
use super::ui;
use super::OldKey;
use crate::error::{Error, Kind, Result};
use crate::keys::iam::{ApiError, ApiFailure, Identity, KeyMeta, KeyService, SessionCreds};
use crate::secret::SecretKey;

/// Everything the steps need. `now` is the clock (tests pass a fixed one).
pub struct Ctx<'a, C: Connect, F: Files + ?Sized> {
    pub connect: &'a C,
    pub files: &'a F,
    pub store: Store,
    /// The state folder (journal, pending list).
    pub dir: PathBuf,
    /// How long step d retries STS with the new key (120 s; `KEYAGE_VERIFY_TIMEOUT_SECS`).
    pub verify_timeout: Duration,
    /// An MFA session: when set, IAM calls use it.
    pub session: Option<SessionCreds>,
    pub now: fn() -> DateTime<Utc>,
}

/// The verify bound from `KEYAGE_VERIFY_TIMEOUT_SECS` (default 120 s).
pub fn verify_timeout_from(env: &crate::env::Env) -> Duration {
    Duration::from_secs(
        env.get("KEYAGE_VERIFY_TIMEOUT_SECS")
            .and_then(|v| v.parse().ok())
            .unwrap_or(120),
    )
}

/// A fresh journal for an accepted plan (state Planned).
pub fn new_journal(plan: &Plan, now: DateTime<Utc>) -> Journal {
    Journal {
        version: journal::VERSION,
        id: format!("rot-{}", now.format("%Y%m%dT%H%M%S%.3fZ")),
        profile: plan.sel.profile.clone(),
        account: plan.owner.account.clone(),
        arn: plan.owner.arn.clone(),
        user: plan.owner.user.clone(),
        old_key_id: plan.sel.old_key_id.clone(),
        new_key_id: None,
        keys_before: plan.keys_before.clone(),
        delete_spare: plan.delete_spare.clone(),
        holders: plan.sel.holders.clone(),
        files: plan.sel.files.clone(),
        old_key: plan.retire.old_key,
        grace_days: plan.retire.grace_days,
        mfa_serial: plan.sel.mfa_serial.clone(),
        state: State::Planned,
        backout: false,
        started: now,
        updated: now,
        retired_at: None,
        history: vec![(State::Planned, now)],
    }
}

/// Retries an idempotent call on throttling, 5xx and connection failures (the SDK already
/// retries a few times inside; this rides out a longer blip).
pub async fn retry_safe<T, Fut>(mut call: impl FnMut() -> Fut) -> Result<T, ApiError>
where
    Fut: Future<Output = Result<T, ApiError>>,
{
    let mut delay = Duration::from_millis(500);
    let mut attempt = 0;
    loop {
        match call().await {
            Ok(v) => return Ok(v),
            Err(e)
                if attempt < 3
                    && matches!(
                        e.failure,
                        ApiFailure::Throttled | ApiFailure::Service | ApiFailure::Unreachable
                    ) =>
            {
                tracing::debug!(op = e.op, failure = ?e.failure, "retrying");
                tokio::time::sleep(delay).await;
                delay *= 2;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// How a step failed: `Raw` is the cause (the driver says where the rotation stopped and the
/// two ways on), `Framed` already says where it stopped and what to do (e.g. "stopped at
/// step a and nothing was changed").
#[derive(Debug)]
pub enum StepError {
    Raw(Error),
    Framed(Error),
}

impl From<Error> for StepError {
    fn from(e: Error) -> Self {
        StepError::Raw(e)
    }
}

impl From<ApiError> for StepError {
    fn from(e: ApiError) -> Self {
        StepError::Raw(e.into())
    }
}

type Step<T = ()> = std::result::Result<T, StepError>;

/// An error at a step: says where the rotation stopped and the two ways on.
pub fn at_step(state: State, e: impl Into<Error>) -> Error {
    let e: Error = e.into();
    let next = "then run `keyage rotate-self --resume` to continue, or `keyage backout` to undo";
    let hint = match &e.hint {
        Some(h) => format!("{h}\n  {next}"),
        None => format!("fix the cause, {next}"),
    };
    Error {
        kind: e.kind,
        message: format!(
            "the rotation stopped at {}: {}",
            state.describe(),
            e.message
        ),
        hint: Some(hint),
    }
}

/// What a finished rotation did (printed as the summary).
#[derive(Debug, Clone)]
pub struct Outcome {
    pub old_key_id: String,
    pub new_key_id: String,
    pub profiles: Vec<String>,
    pub files: Vec<PathBuf>,
    pub old_key: OldKey,
    pub deadline: Option<DateTime<Utc>>,
    /// The end of step e.
    pub rotated_at: DateTime<Utc>,
}

impl Outcome {
    pub fn render(&self) -> String {
        let mut s = format!(
            "Rotated: profile{} {} now use{} key {} (proven with STS; secret in the OS keyring).\n",
            if self.profiles.len() == 1 { "" } else { "s" },
            self.profiles.join(", "),
            if self.profiles.len() == 1 { "s" } else { "" },
            self.new_key_id
        );
        for f in &self.files {
            s.push_str(&format!("  changed {}\n", f.display()));
        }
        let when = self
            .deadline
            .map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_default();
        match self.old_key {
            OldKey::Inactive => s.push_str(&format!(
                "Old key {} is inactive; its secret stays in the keyring. `keyage finalize` deletes it from {when} if it stays unused; `keyage backout` undoes the rotation until then.\n",
                self.old_key_id
            )),
            OldKey::KeepActive => s.push_str(&format!(
                "Old key {} is still ACTIVE, as asked; keyage reminds you until `keyage finalize` deletes it (from {when}, if unused).\n",
                self.old_key_id
            )),
            OldKey::Delete => s.push_str(&format!("Old key {} is deleted.\n", self.old_key_id)),
        }
        s
    }
}

impl<C: Connect, F: Files + ?Sized> Ctx<'_, C, F> {
    fn now(&self) -> DateTime<Utc> {
        (self.now)()
    }

    /// A key service acting as `key_id` with the secret the keyring (else the files) holds.
    pub async fn as_key(&self, key_id: &str) -> Result<C::Svc> {
        let secret = self.secret_of(key_id).await?.ok_or_else(|| {
            Error::new(
                Kind::Keyring,
                format!("no copy of the secret of {key_id} in the keyring or the files"),
            )
        })?;
        Ok(self.connect.connect(key_id, &secret, None).await)
    }

    /// Who the journal's keys are, by STS (the old key, else the new one): the journal must
    /// name this identity's own user before keyage acts on it.
    pub async fn caller(&self, j: &Journal) -> Result<Identity> {
        let mut last = None;
        for id in std::iter::once(&j.old_key_id).chain(j.new_key_id.iter()) {
            let Some(secret) = self.secret_of(id).await? else {
                continue;
            };
            let svc = self.connect.connect(id, &secret, None).await;
            match retry_safe(|| svc.whoami()).await {
                Ok(i) => return Ok(i),
                Err(e) if e.failure == ApiFailure::InvalidKey => last = Some(e),
                Err(e) => return Err(e.into()),
            }
        }
        Err(match last {
            Some(e) => Error::from(e).hint(
                "IAM accepts none of the rotation's keys; `keyage status` shows what IAM says about your keys",
            ),
            None => Error::new(
                Kind::Keyring,
                format!(
                    "no secret of the rotation's keys ({}{}) in the keyring or the files; keyage cannot act on this journal",
                    j.old_key_id,
                    j.new_key_id.as_deref().map(|n| format!(", {n}")).unwrap_or_default()
                ),
            ),
        })
    }

    /// Checks a journal before acting on it: its shape, then the caller's identity.
    pub async fn check_journal(&self, j: &Journal, path: &std::path::Path) -> Result<()> {
        j.validate(path, None)?;
        let who = self.caller(j).await?;
        j.validate(path, Some(&who))
    }

    /// The MFA session if there is one, else the given key.
    pub(super) async fn admin(&self, key_id: &str) -> Result<C::Svc> {
        match &self.session {
            Some(s) => Ok(self
                .connect
                .connect(&s.key_id, &s.secret, Some(&s.token))
                .await),
            None => self.as_key(key_id).await,
        }
    }

    /// The secret of a key: the keyring's copy, else the files'.
    pub async fn secret_of(&self, key_id: &str) -> Result<Option<SecretKey>> {
        if let Some(s) = edges::store_get(&self.store, key_id).await? {
            return Ok(Some(s));
        }
        self.files.secret_for(key_id)
    }

    /// Runs the journal to its end from whatever state it is in.
    pub async fn drive(&self, j: &mut Journal) -> Result<Outcome> {
        loop {
            let state = j.state;
            let r = match state {
                State::Planned | State::Creating => self.create(j).await,
                State::Created | State::BackingUp => self.backup(j).await,
                State::BackedUp | State::Writing => self.write(j).await,
                State::Written | State::Verifying => self.verify(j).await,
                State::Verified | State::Retiring => self.retire(j).await,
                State::Retired | State::Recording => match self.record(j).await {
                    Ok(out) => return Ok(out),
                    Err(e) => Err(e),
                },
            };
            r.map_err(|e| match e {
                StepError::Raw(e) => at_step(j.state, e),
                StepError::Framed(e) => e,
            })?;
        }
    }

    /// a. CreateAccessKey; the secret goes to the keyring before anything else.
    ///
    /// Which key is this rotation's (the proof): the one whose id the journal recorded from
    /// this rotation's own CreateAccessKey answer, before its secret went to the store. A
    /// secret in the store alone is no proof (two HOMEs on one desktop share the keyring), nor
    /// is a CreateDate. Any other key not listed before step a was made elsewhere (another
    /// machine, the console, CI; or this rotation, killed in the instant between IAM's answer
    /// and the journal write): it is reported and never touched.
    async fn create(&self, j: &mut Journal) -> Step {
        j.enter(&self.dir, State::Creating, self.now())?;
        let admin = self.admin(&j.old_key_id).await?;
        let user = Some(j.user.as_str());
        let keys = match retry_safe(|| admin.list_keys(user)).await {
            // The old key worked at the plan; rejected now, before any key of ours exists:
            // another rotation retired it.
            Err(e)
                if e.failure == ApiFailure::InvalidKey
                    && self.session.is_none()
                    && j.new_key_id.is_none() =>
            {
                return Err(self.elsewhere(j, &[], "is now rejected by IAM (inactive or deleted)"))
            }
            r => r?,
        };
        if let Some(spare) = j.delete_spare.clone() {
            if keys.iter().any(|k| k.key_id == spare) {
                ui::step(&format!("deleting the inactive spare key {spare}"));
                ignore_not_found(retry_safe(|| admin.delete_key(user, &spare)).await)?;
            }
            self.forget_spare(&spare).await?;
        }
        // Another rotation (another machine holding the same key) may have retired the old
        // key: that one wins, this one stops without touching anything.
        match keys.iter().find(|k| k.key_id == j.old_key_id) {
            None => return Err(self.elsewhere(j, &keys, "was deleted in IAM")),
            Some(k) if !k.active => return Err(self.elsewhere(j, &keys, "is inactive in IAM")),
            Some(_) => {}
        }
        let mut foreign = Vec::new();
        for k in keys.iter().filter(|k| {
            k.key_id != j.old_key_id
                && !j.keys_before.contains(&k.key_id)
                && Some(&k.key_id) != j.delete_spare.as_ref()
        }) {
            if j.new_key_id.as_ref() == Some(&k.key_id) {
                if edges::store_get(&self.store, &k.key_id).await?.is_some() {
                    ui::step(&format!(
                        "step a: key {} from the interrupted run has its secret in the keyring; using it",
                        k.key_id
                    ));
                    return Ok(j.enter(&self.dir, State::Created, self.now())?);
                }
                ui::step(&format!(
                    "step a: deleting key {} that this rotation created before it was interrupted (its secret was never saved)",
                    k.key_id
                ));
                ignore_not_found(retry_safe(|| admin.delete_key(user, &k.key_id)).await)?;
                j.new_key_id = None;
                j.save(&self.dir)?;
                continue;
            }
            foreign.push(k.key_id.clone());
        }
        if !foreign.is_empty() {
            return Err(self.elsewhere(j, &keys, ""));
        }
        if j.new_key_id.take().is_some() {
            // Recorded, but IAM no longer lists it (deleted meanwhile): make another.
            j.save(&self.dir)?;
        }
        failpoint::hit("before-create");
        // Never retried: a retry behind a lost answer would make a second key whose secret
        // nobody saw.
        let nk = match admin.create_key(user).await {
            Ok(k) => k,
            Err(e) => {
                let now_keys = retry_safe(|| admin.list_keys(user)).await.ok();
                if e.failure == ApiFailure::LimitExceeded {
                    if let Some(now_keys) = &now_keys {
                        return Err(self.elsewhere(j, now_keys, ""));
                    }
                }
                let appeared = now_keys
                    .as_deref()
                    .map(|ks| self.unexplained(j, ks))
                    .unwrap_or_default();
                Journal::remove(&self.dir)?;
                let e = Error::from(e);
                let mut out = Error {
                    message: format!(
                        "the rotation stopped at step a and nothing was changed{}: {}",
                        if j.delete_spare.is_some() {
                            " (except the deletion of the inactive spare)"
                        } else {
                            ""
                        },
                        e.message
                    ),
                    ..e
                };
                if !appeared.is_empty() {
                    out.message.push_str(&format!(
                        "; IAM now lists key {} that keyage cannot prove it made, so it is left alone",
                        appeared.join(", ")
                    ));
                    out.hint = Some(unexplained_hint(&j.user, &appeared));
                }
                return Err(StepError::Framed(out));
            }
        };
        // The proof that the key is this rotation's: its id, in the journal, before anything
        // else (then the secret goes to the store).
        j.new_key_id = Some(nk.key_id.clone());
        j.save(&self.dir)?;
        failpoint::hit("after-create");
        if let Err(e) = edges::store_put_checked(&self.store, &nk.key_id, &nk.secret).await {
            // Never an orphan key whose secret is known nowhere.
            let undo = retry_safe(|| admin.delete_key(user, &nk.key_id)).await;
            if undo.is_ok() {
                j.new_key_id = None;
            }
            j.enter(&self.dir, State::Planned, self.now())?;
            return Err(StepError::Raw(match undo {
                Ok(()) => Error::new(
                    e.kind,
                    format!(
                        "{}; the new key {} was deleted again, nothing else changed",
                        e.message, nk.key_id
                    ),
                )
                .hint(e.hint.unwrap_or_else(|| "run `keyage doctor` to check the keyring".into())),
                Err(d) => Error::new(
                    e.kind,
                    format!(
                        "{}; deleting the new key {} failed too ({d}); its secret is lost",
                        e.message, nk.key_id
                    ),
                )
                .hint(format!(
                    "delete {} yourself (aws iam delete-access-key --access-key-id {}), then run `keyage backout`",
                    nk.key_id, nk.key_id
                )),
            }));
        }
        failpoint::hit("after-keyring-new");
        ui::step(&format!(
            "a. created key {} (secret saved in the keyring)",
            nk.key_id
        ));
        Ok(j.enter(&self.dir, State::Created, self.now())?)
    }

    /// The keys IAM lists that neither were there before step a nor are this rotation's.
    fn unexplained(&self, j: &Journal, keys: &[KeyMeta]) -> Vec<String> {
        keys.iter()
            .filter(|k| {
                k.key_id != j.old_key_id
                    && !j.keys_before.contains(&k.key_id)
                    && Some(&k.key_id) != j.delete_spare.as_ref()
                    && Some(&k.key_id) != j.new_key_id.as_ref()
            })
            .map(|k| k.key_id.clone())
            .collect()
    }

    /// Step a found the world moved: the old key retired or deleted, or a key keyage did not
    /// make. Nothing of this rotation exists in IAM (step a runs before any key of ours), so
    /// the journal goes and the other rotation is left to finish; the note for `status`, the
    /// prompt and the agent says the key was rotated elsewhere.
    fn elsewhere(&self, j: &Journal, keys: &[KeyMeta], old_state: &str) -> StepError {
        let others = self.unexplained(j, keys);
        let active: Vec<String> = keys
            .iter()
            .filter(|k| k.active && k.key_id != j.old_key_id)
            .map(|k| k.key_id.clone())
            .collect();
        if let Err(e) = Journal::remove(&self.dir) {
            return StepError::Raw(e);
        }
        let _ = journal::note_elsewhere(&self.dir, &j.old_key_id, &active, self.now());
        let what = if old_state.is_empty() {
            format!(
                "key {} of user {} appeared in IAM during this rotation and keyage did not make it (another machine rotating the same key, the console, CI)",
                others.join(", "),
                j.user
            )
        } else {
            format!(
                "the old key {} {old_state}, and this rotation did not do that: it was rotated elsewhere (another machine holding the same key) or changed by hand",
                j.old_key_id
            )
        };
        StepError::Framed(
            Error::new(
                Kind::Conflict,
                format!(
                    "the rotation stopped at step a and nothing was changed{}: {what}; keyage leaves {} alone",
                    if j.delete_spare.is_some() {
                        " (except the deletion of the inactive spare)"
                    } else {
                        ""
                    },
                    if others.is_empty() { "it" } else { "them" }
                ),
            )
            .hint(elsewhere_hint(&j.user, &j.old_key_id, &others)),
        )
    }

    /// b. The old secret into the keyring (the backout copy).
    async fn backup(&self, j: &mut Journal) -> Step {
        j.enter(&self.dir, State::BackingUp, self.now())?;
        let old = match self.files.secret_for(&j.old_key_id)? {
            Some(s) => s,
            None => edges::store_get(&self.store, &j.old_key_id)
                .await?
                .ok_or_else(|| {
                    Error::new(
                        Kind::Conflict,
                        format!(
                            "the secret of the old key {} is in neither the files nor the keyring",
                            j.old_key_id
                        ),
                    )
                })?,
        };
        edges::store_put_checked(&self.store, &j.old_key_id, &old).await?;
        failpoint::hit("after-backup");
        ui::step(&format!(
            "b. saved the old key {}'s secret in the keyring",
            j.old_key_id
        ));
        Ok(j.enter(&self.dir, State::BackedUp, self.now())?)
    }

    fn new_id(j: &Journal) -> Result<String> {
        j.new_key_id
            .clone()
            .ok_or_else(|| Error::internal("the journal has no new key at this step"))
    }

    /// c. Every profile holding the old key switches to the new one.
    async fn write(&self, j: &mut Journal) -> Step {
        j.enter(&self.dir, State::Writing, self.now())?;
        let new_id = Self::new_id(j)?;
        let secret = edges::store_get(&self.store, &new_id)
            .await?
            .ok_or_else(|| {
                Error::new(
                    Kind::Keyring,
                    format!("the keyring lost the secret of the new key {new_id}"),
                )
                .hint("run `keyage backout`: the old key is still active and in your files")
            })?;
        failpoint::hit("before-write");
        if !self.files.holders(&j.old_key_id)?.is_empty() {
            let changed = self.files.replace(&j.old_key_id, &new_id, &secret)?;
            for f in &changed {
                ui::step(&format!("c. switched {} to key {new_id}", f.display()));
            }
        }
        failpoint::hit("after-write");
        self.prove_files(j, &new_id, &secret, "after step c")?;
        Ok(j.enter(&self.dir, State::Written, self.now())?)
    }

    /// Re-reads the files: they must hold the new key (`proof`). If not, the journal goes back
    /// to step c, so `--resume` writes the new key again and proves it.
    async fn prove_files_now(&self, j: &mut Journal, new_id: &str, at: &str) -> Step<Written> {
        let secret = edges::store_get(&self.store, new_id)
            .await?
            .ok_or_else(|| {
                Error::new(
                    Kind::Keyring,
                    format!("the keyring lost the secret of the new key {new_id}"),
                )
            })?;
        self.prove_files(j, new_id, &secret, at)
    }

    fn prove_files(
        &self,
        j: &mut Journal,
        new_id: &str,
        secret: &SecretKey,
        at: &str,
    ) -> Step<Written> {
        let expected = if j.files.is_empty() {
            &[][..]
        } else {
            &j.holders[..]
        };
        match proof::prove_written(self.files, &j.old_key_id, new_id, secret, expected, at) {
            Ok(w) => Ok(w),
            Err(e) => {
                if j.state != State::Writing {
                    j.enter(&self.dir, State::Writing, self.now())?;
                }
                Err(StepError::Raw(e))
            }
        }
    }

    /// d. Prove the new key with STS; if it never works, put everything back.
    async fn verify(&self, j: &mut Journal) -> Step {
        j.enter(&self.dir, State::Verifying, self.now())?;
        let new_id = Self::new_id(j)?;
        let svc = self.as_key(&new_id).await?;
        let pb = ui::spinner("waiting for IAM to accept the new key");
        let r = prove(&svc, self.verify_timeout).await;
        pb.finish_and_clear();
        match r {
            Ok(id) if id.arn == j.arn => {}
            other => {
                let why = match other {
                    Ok(id) => format!("it belongs to {}, not {}", id.arn, j.arn),
                    Err(e) => e.to_string(),
                };
                return Err(self.undo_unproven(j, &new_id, &why).await.into());
            }
        }
        failpoint::hit("after-verify");
        ui::step(&format!("d. key {new_id} works (STS GetCallerIdentity)"));
        Ok(j.enter(&self.dir, State::Verified, self.now())?)
    }

    async fn undo_unproven(&self, j: &mut Journal, new_id: &str, why: &str) -> Error {
        let r: Result<()> = async {
            let old = edges::store_get(&self.store, &j.old_key_id)
                .await?
                .ok_or_else(|| Error::new(Kind::Keyring, "the old secret is not in the keyring"))?;
            if !self.files.holders(new_id)?.is_empty() {
                self.files.replace(new_id, &j.old_key_id, &old)?;
            }
            let admin = self.admin(&j.old_key_id).await?;
            ignore_not_found(retry_safe(|| admin.delete_key(Some(&j.user), new_id)).await)?;
            edges::store_delete(&self.store, new_id).await?;
            Journal::remove(&self.dir)
        }
        .await;
        match r {
            Ok(()) => Error::new(
                Kind::Aws,
                format!(
                    "the new key {new_id} never worked within {} s ({why}); your files hold the old key {} again and the new key was deleted",
                    self.verify_timeout.as_secs(), j.old_key_id
                ),
            )
            .hint("try `keyage rotate-self` again later; if it keeps failing, check the endpoint and IAM with `keyage doctor`"),
            Err(e) => Error::new(
                Kind::Aws,
                format!(
                    "the new key {new_id} never worked ({why}), and putting the old key back failed: {}",
                    e.message
                ),
            )
            .hint("run `keyage backout`: both secrets are in the keyring"),
        }
    }

    /// e. The old key: inactive, deleted, or left active.
    async fn retire(&self, j: &mut Journal) -> Step {
        j.enter(&self.dir, State::Retiring, self.now())?;
        let new_id = Self::new_id(j)?;
        let admin = self.admin(&new_id).await?;
        let user_name = j.user.clone();
        let user = Some(user_name.as_str());
        let keys = retry_safe(|| admin.list_keys(user)).await?;
        let old = keys.iter().find(|k| k.key_id == j.old_key_id);
        failpoint::hit("before-retire");
        self.prove_files_now(j, &new_id, "right before step e")
            .await?;
        let mut deactivated = false;
        match (j.old_key, old) {
            (OldKey::Inactive, Some(k)) if k.active => {
                retry_safe(|| admin.set_active(user, &j.old_key_id, false)).await?;
                deactivated = true;
            }
            (OldKey::Delete, Some(_)) => {
                ignore_not_found(retry_safe(|| admin.delete_key(user, &j.old_key_id)).await)?;
            }
            _ => {}
        }
        failpoint::hit("after-retire");
        // A writer racing the retirement itself: the old key goes back to work, step c again.
        if let Err(e) = self.prove_files_now(j, &new_id, "right after step e").await {
            if deactivated {
                retry_safe(|| admin.set_active(user, &j.old_key_id, true)).await?;
                ui::step(&format!(
                    "made the old key {} active again: the files hold it",
                    j.old_key_id
                ));
            }
            return Err(e);
        }
        let done = match j.old_key {
            OldKey::Inactive => "made the old key inactive",
            OldKey::Delete => "deleted the old key",
            OldKey::KeepActive => "left the old key active, as asked",
        };
        ui::step(&format!("e. {done} ({})", j.old_key_id));
        if j.retired_at.is_none() {
            j.retired_at = Some(self.now());
        }
        Ok(j.enter(&self.dir, State::Retired, self.now())?)
    }

    /// The deleted spare has nothing left to finalize: its pending entry (a backed-out key
    /// waiting for finalize) and its keyring copy go (#14.1). Idempotent.
    async fn forget_spare(&self, spare: &str) -> Result<()> {
        if journal::forget_key(&self.dir, spare)? > 0 {
            ui::step(&format!(
                "the deleted spare {spare} no longer waits for finalize"
            ));
        }
        edges::store_delete(&self.store, spare).await
    }

    /// f. The pending finalize; then the journal goes.
    async fn record(&self, j: &mut Journal) -> Step<Outcome> {
        j.enter(&self.dir, State::Recording, self.now())?;
        let new_id = Self::new_id(j)?;
        // The summary says what the files hold now, read again, not what was planned.
        let written = self.prove_files_now(j, &new_id, "at step f").await?;
        if let Some(spare) = j.delete_spare.clone() {
            self.forget_spare(&spare).await?;
        }
        let rotated_at = j.retired_at.unwrap_or(j.updated);
        let deadline = super::after_days(rotated_at, j.grace_days);
        if j.old_key == OldKey::Delete {
            edges::store_delete(&self.store, &j.old_key_id).await?;
        } else {
            journal::add_pending(
                &self.dir,
                self.pending_entry(j, &new_id, rotated_at, deadline),
            )?;
        }
        failpoint::hit("after-record");
        Journal::remove(&self.dir)?;
        Ok(Outcome {
            old_key_id: j.old_key_id.clone(),
            new_key_id: new_id,
            profiles: if written.holders.is_empty() {
                j.holders.iter().map(|h| h.profile.clone()).collect()
            } else {
                written.holders.iter().map(|h| h.profile.clone()).collect()
            },
            files: written.files(),
            old_key: j.old_key,
            deadline: (j.old_key != OldKey::Delete).then_some(deadline),
            rotated_at,
        })
    }

    fn pending_entry(
        &self,
        j: &Journal,
        new_id: &str,
        rotated_at: DateTime<Utc>,
        deadline: DateTime<Utc>,
    ) -> PendingFinalize {
        PendingFinalize {
            rotation_id: j.id.clone(),
            profile: j.profile.clone(),
            profiles: j.holders.iter().map(|h| h.profile.clone()).collect(),
            account: j.account.clone(),
            user: j.user.clone(),
            old_key_id: j.old_key_id.clone(),
            new_key_id: new_id.to_string(),
            old_key: j.old_key,
            rotated_at,
            deadline,
            backout: false,
        }
    }
}

/// What to do about keys keyage cannot prove it made (it never removes them unasked).
pub fn unexplained_hint(user: &str, keys: &[String]) -> String {
    format!(
        "if you (or another machine, CI) made {} keep {}; if it is unused and nobody made it, \
         it is the one this rotation created as the answer was lost: delete it yourself \
         (aws iam delete-access-key --user-name {user} --access-key-id {}), then rotate again",
        keys.join(", "),
        if keys.len() == 1 { "it" } else { "them" },
        keys.first().map(String::as_str).unwrap_or("KEY")
    )
}

/// What to do when the key was rotated by someone else.
pub fn elsewhere_hint(user: &str, old: &str, others: &[String]) -> String {
    if others.is_empty() {
        return format!(
            "if another machine rotated {old}, copy its new key from there (or run `keyage backout` there to undo it); `keyage status` shows what IAM says"
        );
    }
    format!(
        "let the other rotation finish, then copy its new key from that machine (or run `keyage backout` there); {}",
        unexplained_hint(user, others)
    )
}

/// NoSuchEntity counts as done for deletes.
pub fn ignore_not_found(r: Result<(), ApiError>) -> Result<(), ApiError> {
    match r {
        Err(e) if e.failure == ApiFailure::NotFound => Ok(()),
        other => other,
    }
}

/// STS GetCallerIdentity with one key, retried with backoff until `timeout` (IAM propagation
/// takes seconds to minutes).
pub async fn prove<S: KeyService>(svc: &S, timeout: Duration) -> Result<Identity, ApiError> {
    let start = Instant::now();
    let mut delay = Duration::from_millis(500);
    loop {
        match svc.whoami().await {
            Ok(id) => return Ok(id),
            Err(e) => {
                let left = timeout.saturating_sub(start.elapsed());
                if left.is_zero() {
                    return Err(e);
                }
                tracing::debug!(failure = ?e.failure, "the key is not accepted yet; retrying");
                tokio::time::sleep(delay.min(left)).await;
                delay = (delay * 2).min(Duration::from_secs(10));
            }
        }
    }
}
