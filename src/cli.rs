//! Every command-line definition, in one place. Doc comments are the help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Keeps your own AWS access keys young: shows their age, warns before the 90-day limit, and
/// rotates them in the CIS order without ever leaving you without a working key.
#[derive(Debug, Parser)]
#[command(name = "keyage", version, propagate_version = true)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Show every profile's key: age, level, last use (the main job).
    Status(StatusArgs),
    /// Check what this machine's setup can do, each line with its fix.
    Doctor(DoctorArgs),
    /// Rotate your own key in the CIS order (create, back up, switch, verify, retire).
    RotateSelf(RotateArgs),
    /// Delete old keys whose grace period passed and which stayed unused.
    Finalize(FinalizeArgs),
    /// Undo a rotation: the old key back in your files and active, the new one inactive.
    Backout(BackoutArgs),
    /// Move a profile's static key out of the AWS files into the OS keyring; AWS tools then
    /// get it through `credential_process` (keyage credential-process).
    Protect(ProtectArgs),
    /// Put a protected key back into the AWS files (the original bytes, when nothing else
    /// changed them).
    Unprotect(UnprotectArgs),
    /// Print a protected profile's key as credential_process JSON (run by the AWS SDKs and CLI).
    CredentialProcess(CredentialProcessArgs),
    /// Print the prompt segment (nothing when all is well). No network.
    Prompt(PromptArgs),
    /// Print shell code for your rc file: eval "$(keyage init bash)".
    Init(InitArgs),
    /// Git hooks (run by the installed hook scripts).
    Hook(HookArgs),
    /// Look for AWS keys in files and folders.
    Scan(ScanArgs),
    /// Install the git hook, the shell line or the background agent.
    Install(InstallArgs),
    /// Remove what `keyage install` added.
    Uninstall(InstallArgs),
    /// Background reminders on the desktop.
    Agent(AgentArgs),
    /// The account-wide view from the IAM credential report.
    Audit(AuditArgs),
    /// Where the backout copies of secrets are kept: list them, move them between stores.
    Store(StoreArgs),
    /// Print shell completions.
    Completions(CompletionsArgs),
    /// Print the man page (roff).
    Man,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum FailOn {
    Warn,
    Expired,
}

#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// Only these profiles (repeatable).
    #[arg(long = "profile", short = 'p', value_name = "P")]
    pub profiles: Vec<String>,
    /// Print JSON (schema in the README).
    #[arg(long)]
    pub json: bool,
    /// Never touch the network: cached facts only.
    #[arg(long, conflicts_with = "refresh")]
    pub offline: bool,
    /// Ask IAM even when the cache is fresh.
    #[arg(long)]
    pub refresh: bool,
    /// Exit 3 at this level or worse.
    #[arg(long, value_enum, default_value = "expired")]
    pub fail_on: FailOn,
}

#[derive(Debug, Args)]
pub(crate) struct DoctorArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `--old-key`: the command-line face of `rotation::OldKey` (the journal's own type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OldKeyArg {
    /// Make the old key inactive (CIS default), delete it at finalize.
    Inactive,
    /// Delete the old key as soon as the new one works.
    Delete,
    /// Leave the old key active; remind until finalize.
    KeepActive,
}

impl From<OldKeyArg> for crate::rotation::OldKey {
    fn from(a: OldKeyArg) -> Self {
        match a {
            OldKeyArg::Inactive => crate::rotation::OldKey::Inactive,
            OldKeyArg::Delete => crate::rotation::OldKey::Delete,
            OldKeyArg::KeepActive => crate::rotation::OldKey::KeepActive,
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct RotateArgs {
    /// Profile whose key to rotate (default: AWS_PROFILE, else default).
    #[arg(long, short = 'p')]
    pub profile: Option<String>,
    #[command(flatten)]
    pub confirm: Confirm,
    /// What happens to the old key.
    #[arg(long, value_enum, default_value = "inactive")]
    pub old_key: OldKeyArg,
    /// Days the old key stays recoverable before finalize deletes it.
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(0..=crate::rotation::MAX_GRACE_DAYS))]
    pub grace_days: u32,
    /// MFA device ARN (else the profile's mfa_serial).
    #[arg(long)]
    pub mfa_serial: Option<String>,
    /// The MFA code (else prompted).
    #[arg(long)]
    pub token_code: Option<String>,
    /// Delete an inactive spare key to make room for the new one.
    #[arg(long)]
    pub delete_inactive_spare: bool,
    /// Continue an interrupted rotation from its journal.
    #[arg(long)]
    pub resume: bool,
}

#[derive(Debug, Args)]
pub(crate) struct FinalizeArgs {
    #[arg(long, short = 'p')]
    pub profile: Option<String>,
    /// Skip the grace wait (not the last-used check).
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub(crate) struct BackoutArgs {
    #[arg(long, short = 'p')]
    pub profile: Option<String>,
    /// Delete the new key instead of making it inactive.
    #[arg(long)]
    pub delete_new: bool,
    /// Do not ask for confirmation (needed without a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ProtectArgs {
    /// Profile whose key to protect (default: AWS_PROFILE, else default); every profile that
    /// holds the same key is protected with it.
    #[arg(long, short = 'p')]
    pub profile: Option<String>,
    #[command(flatten)]
    pub confirm: Confirm,
}

/// `--yes` and `--dry-run`, for the commands that change keys or files.
#[derive(Debug, Args)]
pub(crate) struct Confirm {
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Print the plan and run the checks; change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub(crate) struct UnprotectArgs {
    /// Profile whose key to put back (default: AWS_PROFILE, else default).
    #[arg(long, short = 'p')]
    pub profile: Option<String>,
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub(crate) struct CredentialProcessArgs {
    /// The protected profile.
    #[arg(long, short = 'p')]
    pub profile: String,
    /// Serve STS GetSessionToken credentials (cached in the keyring until shortly before they
    /// expire) instead of the long-term key. Without MFA the session cannot call IAM.
    #[arg(long)]
    pub session: bool,
    /// How long a session lasts: 15m to 36h (e.g. 1h, 90m, 3600s).
    #[arg(long, default_value = "1h", requires = "session")]
    pub duration: String,
    /// MFA device ARN for the session (else the profile's mfa_serial); the code is asked on
    /// the terminal.
    #[arg(long, requires = "session")]
    pub mfa_serial: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Scope {
    /// The AWS_PROFILE (or default) key only.
    Current,
    /// Every local key.
    All,
}

#[derive(Debug, Args)]
pub(crate) struct PromptArgs {
    /// Which keys count (default: `[prompt] scope` in config.toml, else current).
    #[arg(long, value_enum)]
    pub scope: Option<Scope>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
}

#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    pub shell: Shell,
    /// Only define the function/variable; do not touch the prompt.
    #[arg(long)]
    pub no_prompt: bool,
}

#[derive(Debug, Args)]
pub(crate) struct HookArgs {
    #[command(subcommand)]
    pub hook: HookKind,
}

#[derive(Debug, Subcommand)]
pub(crate) enum HookKind {
    /// Scan the staged changes; exit 1 to block the commit.
    PreCommit,
}

#[derive(Debug, Args)]
pub(crate) struct ScanArgs {
    /// Files or folders (default: the current folder).
    pub paths: Vec<PathBuf>,
    /// Scan the usual places a copied key hides in your home folder.
    #[arg(long)]
    pub home: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Check each key id + secret pair found live with STS GetCallerIdentity (network;
    /// rate-limited; never prints the secret).
    #[arg(long)]
    pub verify: bool,
}

#[derive(Debug, Args)]
pub(crate) struct InstallArgs {
    #[command(subcommand)]
    pub what: InstallWhat,
}

#[derive(Debug, Subcommand)]
pub(crate) enum InstallWhat {
    /// The git pre-commit hook.
    GitHook {
        /// This repository (default: the current one).
        #[arg(long, conflicts_with = "global")]
        repo: Option<PathBuf>,
        /// Every repository, through core.hooksPath.
        #[arg(long)]
        global: bool,
    },
    /// One line in your shell's rc file.
    Shell { shell: Option<Shell> },
    /// The background agent (systemd user unit, LaunchAgent or scheduled task).
    Agent {
        /// Show what would be written instead of writing it.
        #[arg(long)]
        print: bool,
    },
}

#[derive(Debug, Args)]
pub(crate) struct AgentArgs {
    /// One cycle, then exit (for timers and Task Scheduler).
    #[arg(long)]
    pub once: bool,
}

#[derive(Debug, Args)]
pub(crate) struct AuditArgs {
    /// Profile to audit as (credentials from the SDK's chain: SSO, roles, keys); default:
    /// AWS_PROFILE, else default. Needs iam:GenerateCredentialReport and iam:GetCredentialReport.
    #[arg(long, short = 'p')]
    pub profile: Option<String>,
    /// An active key rotated longer ago than this is a finding.
    #[arg(long, default_value_t = 90, value_name = "DAYS")]
    pub max_age_days: u32,
    /// An active key unused (or never used) for longer than this is a finding.
    #[arg(long, default_value_t = 45, value_name = "DAYS")]
    pub unused_days: u32,
    /// Print JSON (schema in the README).
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print the findings as CSV.
    #[arg(long)]
    pub csv: bool,
}

#[derive(Debug, Args)]
pub(crate) struct StoreArgs {
    #[command(subcommand)]
    pub what: StoreWhat,
}

#[derive(Debug, Subcommand)]
pub(crate) enum StoreWhat {
    /// The key ids with a copy in the store in use (never the secrets), and where it is.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Move every copy to the other store: copy, read back, then delete from the source
    /// (safe to run again after an interruption).
    Migrate {
        /// The store to move the copies to.
        #[arg(long, value_enum)]
        to: StoreTarget,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum StoreTarget {
    /// The OS keyring (Secret Service, Keychain, Credential Manager).
    Keyring,
    /// The encrypted file store in keyage's data folder.
    File,
}

#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    pub shell: clap_complete::Shell,
}

/// What every command needs before its own work (see `crate::prepare`): the one list, each
/// command once, so a new command must say where it stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Needs {
    /// Logging to stderr (not on the quiet fast paths; the agent logs to its own file).
    pub logging: bool,
    /// The notice naming the two ways out of an interrupted rotation (not on the fast paths,
    /// not on what only prints, not on the rotation commands, which handle it themselves).
    pub unfinished_notice: bool,
}

impl Command {
    pub(crate) fn needs(&self) -> Needs {
        let (logging, unfinished_notice) = match self {
            Command::Prompt(_) | Command::Hook(_) | Command::Init(_) => (false, false),
            Command::Agent(_) => (false, true),
            Command::Completions(_) | Command::Man => (true, false),
            Command::RotateSelf(_) | Command::Backout(_) => (true, false),
            // Protect finishes an interrupted run itself; credential-process prints only JSON.
            Command::Protect(_) | Command::Unprotect(_) => (true, false),
            Command::CredentialProcess(_) => (false, false),
            Command::Status(_)
            | Command::Doctor(_)
            | Command::Finalize(_)
            | Command::Scan(_)
            | Command::Install(_)
            | Command::Uninstall(_)
            | Command::Audit(_)
            | Command::Store(_) => (true, true),
        };
        Needs {
            logging,
            unfinished_notice,
        }
    }
}
