//! The development issuer: a token issuer inside the service, for local development and demos only.
//!
//! ID-porten, Entra ID and Maskinporten cannot be reached from a laptop, so in development mode the service
//! trusts one more issuer (`iss` = `digisos-dev`, `aud` = `digisos`) whose ES256 key is generated once into
//! `<data dir>/dev-issuer-key.pem` (mode 0600) and whose public key the service serves at
//! `GET /dev-issuer/jwks.json`. `digisos token --role …` mints tokens with the same key, shaped like the real
//! ones (citizen: `pid` + `acr`; staff: `NAVident` + `groups`; systems: `consumer` + `scope`), so the same
//! rules check them. Without development mode none of this exists in the verifier.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::SecretKey;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{Fnr, NAV_ORGNR, NavIdent, Orgnr};

/// The development issuer's name in logs.
pub const DEV_ISSUER_NAME: &str = "digisos-dev";
/// The `iss` of development tokens.
pub const DEV_ISS: &str = "digisos-dev";
/// The `aud` of development tokens.
pub const DEV_AUDIENCE: &str = "digisos";
/// The group that grants Nav staff access in development tokens.
pub const DEV_STAFF_GROUP: &str = "digisos-dev-nav-staff";
/// The scope of development system tokens.
pub const DEV_SCOPE: &str = "ks:fiks";
/// The admin role in development tokens.
pub const DEV_ADMIN_ROLE: &str = "digisos-admin";
/// The key file's name inside the data folder.
pub const KEY_FILE: &str = "dev-issuer-key.pem";
/// Where the service serves the development issuer's keys.
pub const JWKS_PATH: &str = "/dev-issuer/jwks.json";
/// The longest lifetime of a development token.
pub const MAX_TTL: Duration = Duration::from_secs(24 * 3600);

/// A role to mint a development token for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DevRole {
    /// A citizen with this personal number.
    Citizen(Fnr),
    /// A Nav employee with this NAVident.
    NavStaff(NavIdent),
    /// A Nav system (Nav's organisation number).
    NavSystem,
    /// A kommune's fagsystem with this organisation number.
    Fagsystem(Orgnr),
    /// An administrator.
    Admin,
}

/// Why the development issuer could not load its key or mint a token.
#[derive(Debug, thiserror::Error)]
pub enum DevIssuerError {
    /// Reading or writing the key file failed.
    #[error("development issuer key {path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The key file is not a PKCS#8 P-256 private key.
    #[error("development issuer key {path} is not a PKCS#8 P-256 private key ({detail}); delete it to make a new one")]
    BadKey {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        detail: String,
    },
    /// Signing failed.
    #[error("signing the development token failed: {0}")]
    Sign(String),
    /// A lifetime of zero or beyond [`MAX_TTL`].
    #[error("a development token lives between 1 second and 24 hours")]
    Ttl,
}

/// The development issuer: its key, key id and public JWKS.
pub struct DevIssuer {
    encoding: EncodingKey,
    kid: String,
    jwks: Value,
    key_path: PathBuf,
}

impl std::fmt::Debug for DevIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevIssuer").field("kid", &self.kid).field("key_path", &self.key_path).finish()
    }
}

impl DevIssuer {
    /// Loads the key from `<data_dir>/dev-issuer-key.pem`, creating the folder and the key (mode 0600) if absent.
    /// Two processes starting at once end up with the same key: the file is linked into place only if absent.
    pub fn load_or_create(data_dir: &Path) -> Result<Self, DevIssuerError> {
        let path = data_dir.join(KEY_FILE);
        match fs::read_to_string(&path) {
            Ok(pem) => Self::from_pem(&pem, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Self::create(data_dir, path),
            Err(source) => Err(DevIssuerError::Io { path, source }),
        }
    }

    fn create(data_dir: &Path, path: PathBuf) -> Result<Self, DevIssuerError> {
        let io = |p: &Path| {
            let p = p.to_path_buf();
            move |source| DevIssuerError::Io { path: p, source }
        };
        fs::create_dir_all(data_dir).map_err(io(data_dir))?;
        let key = SecretKey::random(&mut rand::rngs::OsRng);
        let pem = key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| DevIssuerError::BadKey { path: path.clone(), detail: e.to_string() })?;
        let tmp = data_dir.join(format!(".{KEY_FILE}.{}.tmp", Uuid::new_v4().simple()));
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let written = options.open(&tmp).and_then(|mut f| {
            f.write_all(pem.as_bytes())?;
            f.sync_all()
        });
        if let Err(source) = written {
            let _ = fs::remove_file(&tmp);
            return Err(DevIssuerError::Io { path: tmp, source });
        }
        let placed = fs::hard_link(&tmp, &path);
        let _ = fs::remove_file(&tmp);
        match placed {
            Ok(()) => {
                tracing::info!(target: "auth", key = %path.display(), "created the development issuer's key");
                Self::from_pem(&pem, path)
            }
            // Another process created it first: use theirs, so both accept the same tokens.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let pem = fs::read_to_string(&path).map_err(io(&path))?;
                Self::from_pem(&pem, path)
            }
            Err(source) => Err(DevIssuerError::Io { path, source }),
        }
    }

    fn from_pem(pem: &str, path: PathBuf) -> Result<Self, DevIssuerError> {
        warn_if_readable_by_others(&path);
        let bad = |detail: String| DevIssuerError::BadKey { path: path.clone(), detail };
        let key = SecretKey::from_pkcs8_pem(pem).map_err(|e| bad(e.to_string()))?;
        let encoding = EncodingKey::from_ec_pem(pem.as_bytes()).map_err(|e| bad(e.to_string()))?;
        let point = key.public_key().to_encoded_point(false);
        let (Some(x), Some(y)) = (point.x(), point.y()) else {
            return Err(bad("the public key has no affine coordinates".into()));
        };
        let (x, y) = (URL_SAFE_NO_PAD.encode(x), URL_SAFE_NO_PAD.encode(y));
        // RFC 7638 thumbprint: stable across restarts, changes with the key.
        let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
        let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()));
        let jwks = json!({"keys": [{
            "kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": kid, "use": "sig", "alg": "ES256"
        }]});
        Ok(Self { encoding, kid, jwks, key_path: path })
    }

    /// Where the key file is.
    pub fn key_path(&self) -> &Path {
        &self.key_path
    }

    /// The key id in the tokens' header.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public keys as a JWKS document (what `GET /dev-issuer/jwks.json` answers).
    pub fn jwks(&self) -> Value {
        self.jwks.clone()
    }

    /// The claims a token for `role` carries, valid from now for `ttl`.
    pub fn claims(&self, role: &DevRole, ttl: Duration) -> Value {
        let now = chrono::Utc::now().timestamp();
        let exp = now.saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX));
        let mut claims = json!({
            "iss": DEV_ISS, "aud": DEV_AUDIENCE, "iat": now, "nbf": now, "exp": exp,
            "jti": Uuid::new_v4().to_string(), "client_id": "digisos-dev",
        });
        let consumer = |orgnr: &str| json!({"authority": "iso6523-actorid-upis", "ID": format!("0192:{orgnr}")});
        let extra = match role {
            DevRole::Citizen(fnr) => json!({
                "sub": Uuid::new_v4().to_string(), "pid": fnr.expose(), "acr": "idporten-loa-high", "amr": ["TestID"]
            }),
            DevRole::NavStaff(ident) => json!({
                "sub": Uuid::new_v4().to_string(), "oid": Uuid::new_v4().to_string(),
                "NAVident": ident.as_str(), "groups": [DEV_STAFF_GROUP]
            }),
            DevRole::NavSystem => json!({"consumer": consumer(NAV_ORGNR), "scope": DEV_SCOPE}),
            DevRole::Fagsystem(orgnr) => json!({"consumer": consumer(orgnr.as_str()), "scope": DEV_SCOPE}),
            DevRole::Admin => json!({"sub": "dev-admin", "roles": [DEV_ADMIN_ROLE]}),
        };
        if let (Value::Object(c), Value::Object(e)) = (&mut claims, extra) {
            c.extend(e);
        }
        claims
    }

    /// A signed token for `role`, valid from now for `ttl` (at most 24 hours).
    pub fn mint(&self, role: &DevRole, ttl: Duration) -> Result<String, DevIssuerError> {
        if ttl.is_zero() || ttl > MAX_TTL {
            return Err(DevIssuerError::Ttl);
        }
        self.sign(&self.claims(role, ttl))
    }

    /// Signs arbitrary claims with the development key (tests use it for malformed tokens).
    pub fn sign(&self, claims: &Value) -> Result<String, DevIssuerError> {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).map_err(|e| DevIssuerError::Sign(e.to_string()))
    }
}

fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(target: "auth", key = %path.display(), "the development issuer's key is readable by other users; chmod 600 it");
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_created_once_with_mode_0600_and_reloaded_with_the_same_kid() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("nested/data");
        let first = DevIssuer::load_or_create(&data).unwrap();
        let second = DevIssuer::load_or_create(&data).unwrap();
        assert_eq!(first.kid(), second.kid());
        assert_eq!(first.jwks(), second.jwks());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(data.join(KEY_FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let leftovers: Vec<_> = fs::read_dir(&data).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(leftovers, [std::ffi::OsString::from(KEY_FILE)], "no temporary files left behind");
    }

    #[test]
    fn a_corrupt_key_file_is_a_clear_error_not_a_new_key() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(KEY_FILE), "not a key").unwrap();
        let err = DevIssuer::load_or_create(dir.path()).unwrap_err();
        assert!(matches!(err, DevIssuerError::BadKey { .. }), "{err}");
        assert_eq!(fs::read_to_string(dir.path().join(KEY_FILE)).unwrap(), "not a key");
    }

    #[test]
    fn the_jwks_holds_only_the_public_part() {
        let dir = tempfile::tempdir().unwrap();
        let dev = DevIssuer::load_or_create(dir.path()).unwrap();
        let key = &dev.jwks()["keys"][0];
        assert_eq!(key["kid"], dev.kid());
        assert!(key.get("d").is_none(), "private scalar must never be published");
    }

    #[test]
    fn lifetimes_beyond_a_day_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let dev = DevIssuer::load_or_create(dir.path()).unwrap();
        assert!(matches!(dev.mint(&DevRole::Admin, MAX_TTL + Duration::from_secs(1)), Err(DevIssuerError::Ttl)));
        assert!(matches!(dev.mint(&DevRole::Admin, Duration::ZERO), Err(DevIssuerError::Ttl)));
        assert!(dev.mint(&DevRole::Admin, MAX_TTL).is_ok());
    }
}
