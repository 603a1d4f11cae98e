//! Fiks IO integrations' passwords: issued at random, kept only as an Argon2id hash (PHC string).

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::sync::{LazyLock, Mutex};

/// A new integration password: 32 random bytes, base64url (43 characters, no space: the broker password is
/// `"<password> <token>"`, split at the first space).
pub fn new_password() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The Argon2id hash of `password` with a fresh salt.
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default().hash_password(password.as_bytes(), &salt)?.to_string())
}

/// Whether `password` matches `hash` (false for a hash that does not parse).
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// Pairs of (hash, SHA-256 of the password) [`verify`] has already seen match. An issued password is 256 random
/// bits: a fast hash of it cannot be guessed back, while Argon2id (tens of milliseconds of a core) guards the
/// stored hash. Paying Argon2 for every receipt and download would cap a fagsystem at a few dozen requests a
/// second per core, so a pair that verified once is remembered for the process's life. A replaced integration
/// has a new hash, so its old password finds nothing here.
static VERIFIED: LazyLock<Mutex<HashSet<Verified>>> = LazyLock::new(|| Mutex::new(HashSet::new()));

/// A stored hash and the SHA-256 of a password that matched it.
type Verified = (String, [u8; 32]);

/// The most pairs remembered; beyond it the set starts again (one integration per kommune: a few hundred).
const VERIFIED_MAX: usize = 4096;

/// Whether `password` matches `hash`, as [`verify_password`], remembering a match (on a blocking thread when it
/// must hash).
pub async fn verify(password: &str, hash: &str) -> bool {
    let key = (hash.to_owned(), <[u8; 32]>::from(Sha256::digest(password.as_bytes())));
    if VERIFIED.lock().is_ok_and(|set| set.contains(&key)) {
        return true;
    }
    let (password, phc) = (password.to_owned(), hash.to_owned());
    let matches = tokio::task::spawn_blocking(move || verify_password(&password, &phc)).await.unwrap_or(false);
    if matches && let Ok(mut set) = VERIFIED.lock() {
        if set.len() >= VERIFIED_MAX {
            set.clear();
        }
        set.insert(key);
    }
    matches
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_issued_password_matches_its_hash_and_nothing_else_does() {
        let password = new_password();
        assert_eq!(password.len(), 43);
        assert!(!password.contains(' '));
        let hash = hash_password(&password).expect("hash");
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password(&password, &hash));
        assert!(!verify_password(&new_password(), &hash));
        assert!(!verify_password(&password, "not a hash"));
    }

    #[tokio::test]
    async fn a_remembered_match_is_for_its_own_hash_and_password_only() {
        let password = new_password();
        let hash = hash_password(&password).expect("hash");
        assert!(!verify(&new_password(), &hash).await, "a wrong password");
        assert!(verify(&password, &hash).await);
        assert!(verify(&password, &hash).await, "again, from memory");
        assert!(!verify(&format!("{password}x"), &hash).await, "another password after a match");
        let replaced = hash_password(&new_password()).expect("hash");
        assert!(!verify(&password, &replaced).await, "the same password against a replaced integration");
    }
}
