//! TODO: the keyring backup (`SecretStore`) (issue 2).
