//! `keyage credential-process --profile P --session`: serve STS GetSessionToken credentials
//! instead of the long-term key, so that the long-term secret never reaches any other process.
//! The session is cached in the OS keyring (service `keyage-session`, user = the profile) and
//! renewed when less than [`RENEW_BEFORE`] is left. With an MFA device (`--mfa-serial`, else the
//! profile's `mfa_serial`) the code is asked on the terminal (`/dev/tty`: the AWS tools capture
//! stdout and stderr of credential_process); without a terminal the command says how to fill the
//! cache from one.
//!
//! A session made without MFA cannot call any IAM API, and no STS API but AssumeRole and
//! GetCallerIdentity (AWS's rule for GetSessionToken credentials); with MFA it can call IAM.

use chrono::{DateTime, Duration as Span, Utc};
use zeroize::Zeroizing;

use crate::env::Env;
use crate::error::{Error, Kind, Result};
use crate::secret::{secret, ExposeSecret, SecretKey};
use crate::vault::{Keyring, SecretStore};

/// The keyring service of cached sessions.
pub(crate) const SESSION_SERVICE: &str = "keyage-session";
/// A cached session is renewed when less than this is left.
pub(crate) const RENEW_BEFORE: Span = Span::minutes(5);

/// The cache of sessions.
pub(crate) fn cache() -> Keyring {
    Keyring {
        service: SESSION_SERVICE,
        ..Keyring::default()
    }
}

/// `1h`, `90m`, `3600s` or `3600` → seconds, within STS's 900 s – 36 h for IAM users.
pub(crate) fn parse_duration(s: &str) -> Result<i64, String> {
    let s = s.trim();
    let (n, unit) = match s.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let n: i64 = n
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (e.g. 1h, 90m, 3600s)"))?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return Err(format!("`{s}`: use s, m or h (e.g. 1h, 90m, 3600s)")),
    };
    if !(900..=129_600).contains(&secs) {
        return Err(format!(
            "`{s}`: STS gives IAM users sessions of 15 min to 36 h"
        ));
    }
    Ok(secs)
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Cached {
    expiration: DateTime<Utc>,
}

/// A cached session for `profile` with more than `RENEW_BEFORE` left, as JSON.
fn cached(
    store: &dyn SecretStore,
    profile: &str,
    key_id: &str,
    now: DateTime<Utc>,
) -> Result<Option<SecretKey>> {
    let Some(v) = store.get(&user(profile, key_id))? else {
        return Ok(None);
    };
    let fresh = serde_json::from_str::<Cached>(v.expose_secret())
        .map(|c| c.expiration - now > RENEW_BEFORE)
        .unwrap_or(false);
    Ok(fresh.then_some(v))
}

/// The cache entry: per profile and key (a rotated key never serves an old session).
fn user(profile: &str, key_id: &str) -> String {
    format!("{profile}/{key_id}")
}

/// Reads an MFA code from the terminal.
fn ask_code(serial: &str, profile: &str) -> Result<String> {
    use std::io::{BufRead, Write};
    let no_tty = || {
        Error::new(
            Kind::Refused,
            format!("profile `{profile}`: the MFA device {serial} needs a code and there is no terminal to ask on"),
        )
        .hint(format!("run `keyage credential-process --profile {profile} --session` once in a terminal: the session is cached in the keyring"))
    };
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .map_err(|_| no_tty())?;
    let mut w = &tty;
    let _ = write!(w, "keyage: MFA code for {serial}: ");
    let _ = w.flush();
    let mut line = String::new();
    std::io::BufReader::new(&tty)
        .read_line(&mut line)
        .map_err(|_| no_tty())?;
    let code = line.trim().to_string();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(
            Error::new(Kind::Refused, "an MFA code is six digits").hint("run the command again")
        );
    }
    Ok(code)
}

/// The session credentials JSON for `profile` (cached, else new from STS).
pub(crate) fn serve(
    env: &Env,
    profile: &str,
    duration_secs: i64,
    mfa_serial: Option<&str>,
    long_term: &dyn SecretStore,
    cache: &dyn SecretStore,
) -> Result<Zeroizing<String>> {
    let ix = super::index::Index::load(&env.state_dir())?;
    let rec = ix.for_profile(profile).ok_or_else(|| {
        Error::new(
            Kind::Refused,
            format!("profile `{profile}` is not protected by keyage"),
        )
        .hint(format!("run `keyage protect --profile {profile}` first"))
    })?;
    let now = Utc::now();
    if let Some(v) = cached(cache, profile, &rec.key_id, now)? {
        return Ok(Zeroizing::new(v.expose_secret().to_string()));
    }
    let key_secret = long_term.get(&rec.key_id)?.ok_or_else(|| {
        Error::new(
            Kind::Keyring,
            format!(
                "the keyring has no entry for key {} of profile `{profile}`",
                rec.key_id
            ),
        )
        .hint("unlock the keyring that holds it")
    })?;
    let inv = crate::profiles::Inventory::load(env).ok();
    let serial = mfa_serial.map(str::to_string).or_else(|| {
        inv.as_ref()
            .and_then(|i| i.profile(profile))
            .and_then(|p| p.mfa_serial.clone())
    });
    let code = match &serial {
        Some(s) => Some(ask_code(s, profile)?),
        None => None,
    };
    let target = crate::aws::Target {
        profile: Some(profile.to_string()),
        profile_region: inv
            .as_ref()
            .and_then(|i| i.profile(profile))
            .and_then(|p| p.region.clone()),
    };
    let rt = crate::aws::runtime()?;
    let key_id = rec.key_id.clone();
    let out = rt.block_on(async {
        let cfg = crate::aws::config_for_key(env, &target, &key_id, &key_secret, None).await;
        let sts = aws_sdk_sts::Client::new(&cfg);
        let mut req = sts
            .get_session_token()
            .duration_seconds(duration_secs as i32);
        if let (Some(s), Some(c)) = (&serial, &code) {
            req = req.serial_number(s).token_code(c);
        }
        req.send().await
    });
    let out = out.map_err(|e| {
        let code = aws_smithy_types::error::metadata::ProvideErrorMetadata::code(&e)
            .unwrap_or("no answer")
            .to_string();
        Error::new(
            Kind::Aws,
            format!("STS GetSessionToken for profile `{profile}` failed ({code})"),
        )
        .hint("check the network and the MFA code; `keyage doctor` checks the endpoint")
    })?;
    let c = out
        .credentials()
        .ok_or_else(|| Error::new(Kind::Aws, "STS GetSessionToken returned no credentials"))?;
    let exp = crate::keys::iam::to_utc(c.expiration()).unwrap_or(now);
    let json = super::json_v1(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token()),
        Some(&exp.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
    );
    // Cache failures are not fatal: the session still works this once.
    if let Err(e) = cache.put(&user(profile, &rec.key_id), &secret(json.as_str())) {
        tracing::warn!("cannot cache the session: {}", e.message);
    }
    Ok(json)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn durations() {
        assert_eq!(parse_duration("1h"), Ok(3600));
        assert_eq!(parse_duration("90m"), Ok(5400));
        assert_eq!(parse_duration("3600"), Ok(3600));
        assert!(parse_duration("10s").is_err());
        assert!(parse_duration("37h").is_err());
        assert!(parse_duration("1d").is_err());
        assert!(parse_duration("h").is_err());
    }
}
