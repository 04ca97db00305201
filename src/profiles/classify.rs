//! TODO: classification of profiles (issue 3).

use super::Inventory;
use crate::env::Env;
use crate::error::{Error, Result};

pub fn load(_env: &Env) -> Result<Inventory> {
    Err(Error::internal("profile loading is not implemented yet"))
}
