//! `keyage credential-process --profile P`: the credential_process JSON on stdout, nothing
//! else; errors are one or two short lines on stderr (the AWS tools show them).

use std::io::Write;

use crate::cli::CredentialProcessArgs;
use crate::env::Env;
use crate::error::{Error, Kind, Result};

pub(crate) fn run(env: &Env, args: CredentialProcessArgs) -> Result<u8> {
    let store = crate::protect::store();
    let json = if args.session {
        let secs = crate::protect::session::parse_duration(&args.duration)
            .map_err(|m| Error::usage(format!("--duration {m}")))?;
        crate::protect::session::serve(
            env,
            &args.profile,
            secs,
            args.mfa_serial.as_deref(),
            &store,
            &crate::protect::session::cache(),
        )?
    } else {
        crate::protect::serve(env, &args.profile, &store)?
    };
    let mut out = std::io::stdout().lock();
    out.write_all(json.as_bytes())
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush())
        .map_err(|e| Error::new(Kind::Io, format!("cannot write the credentials: {e}")))?;
    Ok(0)
}
