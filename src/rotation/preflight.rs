//! The local preflight of `rotate-self` (#13.3, #13.7): what keyage can see on this machine is
//! checked before IAM changes anything, in a dry run too. The state folder is a private folder
//! of the user's own, the pending-finalize list reads, the files to edit are two files (not
//! one file through a link), writable, and their modes are private before a new secret goes
//! in. (The store is probed by `Session::start`.)

use std::path::{Path, PathBuf};

use super::journal;
use super::plan::Selected;
use crate::error::{Error, Kind, Result};
use crate::profiles::Inventory;
use crate::sys::fs;

/// What the preflight found that the rotation fixes once it is confirmed.
#[derive(Debug, Default)]
pub struct Local {
    /// Files readable or writable by group or others, with their mode: narrowed to 0600
    /// before the new secret goes in.
    pub to_narrow: Vec<(PathBuf, u32)>,
}

/// Refuses (with the file and the fix) what would stop the rotation half way.
pub fn check(inv: &Inventory, sel: &Selected, dir: &Path) -> Result<Local> {
    fs::check_private_dir(dir)?;
    journal::load_pending(dir).map_err(|e| Error {
        message: format!("{}; nothing was changed", e.message),
        ..e
    })?;
    let mut local = Local::default();
    if sel.files.is_empty() {
        return Ok(local);
    }
    let (c, f) = (&inv.credentials.path, &inv.config.path);
    if fs::same_file(c, f) == Some(true) {
        return Err(Error::new(
            Kind::Conflict,
            format!(
                "the credentials file {} and the config file {} are one file (a symbolic or hard link); keyage will not edit one file as two, and nothing was changed",
                c.display(),
                f.display()
            ),
        )
        .hint(format!(
            "give each its own file: keep the keys in {} and replace {} with a file of its own (its `[profile …]` settings), or point AWS_CONFIG_FILE elsewhere",
            c.display(),
            f.display()
        )));
    }
    for file in &sel.files {
        fs::check_replaceable(file).map_err(|e| Error {
            message: format!("{}; nothing was changed", e.message),
            ..e
        })?;
        if let Some(mode) = fs::open_to_others(file) {
            local.to_narrow.push((file.clone(), mode));
        }
    }
    Ok(local)
}

impl Local {
    /// One line per file to narrow, for the dry run.
    pub fn would(&self) -> Vec<String> {
        self.to_narrow
            .iter()
            .map(|(f, m)| {
                format!(
                    "{} is readable by group or others ({m:04o}); the rotation narrows it to 0600 before the new secret goes in",
                    f.display()
                )
            })
            .collect()
    }

    /// Narrows the files (after the plan is confirmed, before step a); says so for each.
    pub fn fix(&self) -> Result<Vec<String>> {
        let mut said = Vec::new();
        for (f, m) in &self.to_narrow {
            fs::make_private(f)?;
            said.push(format!(
                "{} was readable by group or others ({m:04o}); it is now 0600, before the new secret goes in",
                f.display()
            ));
        }
        Ok(said)
    }
}
