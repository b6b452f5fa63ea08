//! Random secrets (session ids, API tokens, sign-in links) and the hashes they are stored as.

use sha2::{Digest, Sha256};

use crate::AppError;

/// A new random secret: 32 bytes from the operating system, hex-encoded, after `prefix`.
pub(crate) fn random_secret(prefix: &str) -> Result<String, AppError> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes)
        .map_err(|e| AppError::Internal(format!("the system random source failed: {e}")))?;
    Ok(format!("{prefix}{}", hex::encode(bytes)))
}

/// The hex sha256 a secret is stored and looked up by (the secret itself is never stored).
pub(crate) fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Whether a presented secret has the shape ours have, so garbage is refused without a query.
pub(crate) fn well_formed(secret: &str, prefix: &str) -> bool {
    secret
        .strip_prefix(prefix)
        .is_some_and(|rest| rest.len() == 64 && rest.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_prefixed_and_hash_to_hex() {
        let a = random_secret("aip_").unwrap_or_default();
        let b = random_secret("aip_").unwrap_or_default();
        assert_ne!(a, b);
        assert!(well_formed(&a, "aip_"), "{a}");
        assert!(!well_formed(&a, "other_"));
        assert!(!well_formed("aip_short", "aip_"));
        let h = hash_secret(&a);
        assert_eq!(h.len(), 64);
        assert_ne!(h, a);
    }
}
