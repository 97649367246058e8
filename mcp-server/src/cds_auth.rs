//! Trusting CDS clients (CDS Hooks 2.0, "Trusting CDS Clients"): an EHR calls
//! `/cds-services/{id}` with a JWT it signed with its own private key; rxgate checks it
//! against the public keys (a JWKS) of the issuers it was told to trust.
//!
//! What is checked, and why each matters:
//! - `iss` names a configured client, and the header's `kid` one of that client's keys (no
//!   key is fetched from a URL the token itself names: `jku` is ignored, so a forger cannot
//!   point us at their own keys);
//! - the algorithm is one the spec asks services to support (ES384, RS384) and matches
//!   the key;
//! - `aud` is the URL of the service being called (a token minted for another service or
//!   another server is refused);
//! - `exp` is in the future and at most five minutes after `iat`, and `jti` is unseen: a
//!   captured token cannot be replayed. The caller claims the id in the database
//!   ([`VerifiedClient::jti`]), so a token used at one instance is refused at every other.
//!
//! Configuration: `RXGATE_CDS_CLIENTS` names a JSON file
//! `{"clients": [{"iss": "...", "jwks": {"keys": [...]}}]}` (or `"jwks_file": "path"`
//! instead of `jwks`). A bad file stops the server at start. Without it only rxgate's own
//! bearer tokens reach the CDS services.

use std::path::Path;

use anyhow::Context;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use crate::auth::{Principal, Role, TokenError};

/// The longest life the spec allows a client's token.
const MAX_LIFETIME_SECS: i64 = 300;

/// Clock skew tolerated on `exp` and `iat`.
const LEEWAY_SECS: u64 = 5;

/// The algorithms CDS Hooks 2.0 asks services to support.
const ALGORITHMS: [Algorithm; 2] = [Algorithm::ES384, Algorithm::RS384];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientsFile {
    clients: Vec<ClientEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientEntry {
    iss: String,
    #[serde(default)]
    jwks: Option<JwkSet>,
    #[serde(default)]
    jwks_file: Option<String>,
}

struct Client {
    iss: String,
    jwks: JwkSet,
}

#[derive(Debug, Deserialize)]
struct Claims {
    iss: String,
    #[serde(default)]
    sub: Option<String>,
    exp: i64,
    iat: i64,
    jti: String,
}

/// The trusted CDS clients.
#[derive(Default)]
pub(crate) struct CdsClients {
    clients: Vec<Client>,
}

/// A client token whose signature, issuer, audience and lifetime hold. It is good only
/// once: the caller must claim `(issuer, jti)` before trusting `principal`.
#[derive(Debug)]
pub(crate) struct VerifiedClient {
    pub(crate) principal: Principal,
    pub(crate) issuer: String,
    pub(crate) jti: String,
    /// The last moment the token is accepted.
    pub(crate) expires_at: chrono::DateTime<chrono::Utc>,
}

impl CdsClients {
    /// Reads `RXGATE_CDS_CLIENTS`, if set.
    pub(crate) fn from_env() -> anyhow::Result<CdsClients> {
        match std::env::var_os("RXGATE_CDS_CLIENTS") {
            Some(path) if !path.is_empty() => CdsClients::load(Path::new(&path)),
            _ => Ok(CdsClients::default()),
        }
    }

    fn load(path: &Path) -> anyhow::Result<CdsClients> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading CDS clients {}", path.display()))?;
        let file: ClientsFile =
            serde_json::from_str(&text).with_context(|| format!("{}: not a CDS clients file", path.display()))?;
        let mut clients = Vec::new();
        for entry in file.clients {
            let jwks = match (entry.jwks, entry.jwks_file) {
                (Some(jwks), None) => jwks,
                (None, Some(file)) => {
                    let file = path.parent().unwrap_or(Path::new(".")).join(file);
                    let text =
                        std::fs::read_to_string(&file).with_context(|| format!("reading JWKS {}", file.display()))?;
                    serde_json::from_str(&text).with_context(|| format!("{}: not a JWKS", file.display()))?
                }
                _ => anyhow::bail!(
                    "{}: client {} needs exactly one of `jwks` and `jwks_file`",
                    path.display(),
                    entry.iss
                ),
            };
            if entry.iss.trim().is_empty() {
                anyhow::bail!("{}: a client has an empty `iss`", path.display());
            }
            for key in &jwks.keys {
                if key.common.key_id.as_deref().is_none_or(str::is_empty) {
                    anyhow::bail!("{}: every key of {} needs a `kid`", path.display(), entry.iss);
                }
                DecodingKey::from_jwk(key)
                    .with_context(|| format!("{}: a key of {} is unusable", path.display(), entry.iss))?;
            }
            clients.push(Client { iss: entry.iss, jwks });
        }
        Ok(CdsClients { clients })
    }

    /// A client's token for the service at one of `audiences` (full URLs). The principal is
    /// a physician: the client asks on behalf of whoever is ordering.
    pub(crate) fn verify(&self, token: &str, audiences: &[String]) -> Result<VerifiedClient, TokenError> {
        let invalid = |why: &str| TokenError::Invalid(why.to_string());
        let header = jsonwebtoken::decode_header(token).map_err(|_| invalid("not a well-formed JWT"))?;
        if !ALGORITHMS.contains(&header.alg) {
            return Err(invalid("a CDS client signs with ES384 or RS384"));
        }
        let kid = header.kid.as_deref().ok_or_else(|| invalid("the header names no `kid`"))?;
        // Read unverified only to pick the issuer's keys; everything is checked against them below.
        let unverified: Claims = jsonwebtoken::dangerous::insecure_decode_claims(token)
            .map_err(|_| invalid("claims iss, exp, iat and jti are required"))?;
        let client = self
            .clients
            .iter()
            .find(|c| c.iss == unverified.iss)
            .ok_or_else(|| invalid("the issuer is not trusted"))?;
        let jwk = client.jwks.find(kid).ok_or_else(|| invalid("the issuer has no key with that `kid`"))?;
        let key = DecodingKey::from_jwk(jwk).map_err(|_| invalid("the issuer's key is unusable"))?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[client.iss.as_str()]);
        validation.set_audience(audiences);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud"]);
        validation.leeway = LEEWAY_SECS;
        let claims = jsonwebtoken::decode::<Claims>(token, &key, &validation)
            .map_err(|e| {
                use jsonwebtoken::errors::ErrorKind;
                match e.kind() {
                    ErrorKind::ExpiredSignature => TokenError::Expired,
                    ErrorKind::InvalidAudience => invalid("the token is for another service (`aud`)"),
                    ErrorKind::InvalidAlgorithm => invalid("the algorithm does not match the key"),
                    ErrorKind::InvalidSignature => invalid("bad signature"),
                    _ => invalid("not a valid CDS client token"),
                }
            })?
            .claims;
        if claims.exp - claims.iat > MAX_LIFETIME_SECS {
            return Err(invalid("a CDS client token may live at most five minutes"));
        }
        if claims.jti.trim().is_empty() {
            return Err(invalid("claim `jti` is empty"));
        }
        // The id must be remembered for as long as the token is accepted, leeway included.
        let expires_at = chrono::DateTime::from_timestamp(claims.exp.saturating_add(LEEWAY_SECS as i64), 0)
            .ok_or_else(|| invalid("claim `exp` is out of range"))?;
        let subject = match claims.sub.as_deref().filter(|s| !s.trim().is_empty()) {
            Some(sub) => format!("cds:{}:{sub}", client.iss),
            None => format!("cds:{}", client.iss),
        };
        Ok(VerifiedClient {
            principal: Principal::new(subject, Role::Physician),
            issuer: client.iss.clone(),
            jti: claims.jti,
            expires_at,
        })
    }
}

/// Whether a bearer token is a CDS client's (asymmetric) rather than one of rxgate's
/// own (HS256).
pub(crate) fn is_client_token(token: &str) -> bool {
    jsonwebtoken::decode_header(token).is_ok_and(|h| h.alg != Algorithm::HS256)
}
