//! A rotation rig shared by the rotation test files: moto in authentication mode (an inactive
//! key is refused) and a real gnome-keyring, one user with its key in `[default]` and `[work]`.

use std::process::Command;

use super::{Desktop, DesktopOpts, KeyageCommand, Moto, Sandbox, TestKey};

pub struct Rig {
    pub moto: Moto,
    pub desk: Desktop,
}

pub fn start() -> Rig {
    let moto = Moto::start();
    let desk = Desktop::start(DesktopOpts::keyring());
    moto.enable_auth();
    Rig { moto, desk }
}

pub struct User {
    pub sb: Sandbox,
    pub key: TestKey,
    /// The credentials file as written.
    pub before: String,
}

impl Rig {
    /// A moto user whose key is in `[default]` and `[work]` of a fresh sandbox.
    pub fn user(&self, name: &str) -> User {
        self.user_for(self.moto.create_user(name))
    }

    /// Like [`Rig::user`], for a key made by the caller (another policy).
    pub fn user_for(&self, key: TestKey) -> User {
        let sb = Sandbox::new();
        let before = format!(
            "# keep me\n{}\n{}region = us-east-1\n",
            key.credentials_section("default"),
            key.credentials_section("work")
        );
        sb.write_credentials(&before);
        sb.write_config("[default]\nregion = us-east-1\n");
        User { sb, key, before }
    }

    /// keyage for `u`, on moto and the keyring, with short verify and lock waits.
    pub fn kg(&self, u: &User) -> Command {
        let mut c = u.sb.keyage();
        c.moto(&self.moto)
            .desktop(&self.desk)
            .env("KEYAGE_VERIFY_TIMEOUT_SECS", "6")
            .env("KEYAGE_LOCK_WAIT_SECS", "1");
        c
    }

    /// Whether IAM lists `id` as an active key of `u`.
    pub fn active(&self, u: &User, id: &str) -> bool {
        self.moto
            .admin_keys(&u.key.user)
            .iter()
            .any(|k| k.key_id == id && k.active)
    }
}

impl User {
    /// The key id in `[default]` of the credentials file now.
    pub fn files_key(&self) -> String {
        super::profile_key(&self.sb.read(".aws/credentials"), "default").0
    }

    /// A state file's text ("" when missing).
    pub fn state(&self, name: &str) -> String {
        self.sb.read(&format!(".local/state/keyage/{name}"))
    }
}
