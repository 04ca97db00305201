//! Keys: what we know about each (`facts`), how we learn it (`iam`, behind `KeyService`), and
//! what it means (`policy`, pure).

pub mod facts;
pub mod gather;
pub mod iam;
pub mod policy;
