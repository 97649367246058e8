//! Who is calling: HS256 bearer tokens, the five roles of the contract, and the secret that
//! signs them.
//!
//! A token carries `sub` (a surrogate id, never a person's name: it ends up in logs and the
//! audit chain), `role`, `iat`, `exp`, and `iss` = `aud` = `rxgate`. Anything else about a
//! token — a role outside the five, a missing claim, a wrong issuer — makes it invalid; it is
//! never read as some default role.

use std::fmt;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// The issuer and audience of every token: tokens are made by and for this gateway.
const ISSUER: &str = "rxgate";

/// Name of the generated secret inside the data directory.
pub(crate) const SECRET_FILE: &str = "jwt-secret";

/// HS256 needs at least 256 bits of key (RFC 7518 §3.2).
const MIN_SECRET_BYTES: usize = 32;

pub(crate) use rxgate_guardrails::{Principal, Role};

/// `rxgate mcp` on stdio: a local assistant, always the `agent` role.
pub(crate) fn local_agent() -> Principal {
    Principal::new("stdio", Role::Agent)
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    role: String,
    iss: String,
    aud: String,
    iat: i64,
    exp: i64,
}

/// A token lifetime as typed on the command line: a whole number with a unit, `s`, `m`,
/// `h` or `d` (`90s`, `15m`, `1h`, `7d`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ttl(Duration);

impl Ttl {
    pub(crate) fn parse(text: &str) -> Result<Ttl, String> {
        let text = text.trim();
        let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let n: u64 = number.parse().map_err(|_| format!("{text:?}: expected a number with a unit, like 1h"))?;
        let seconds = match unit {
            "s" => Some(n),
            "m" => n.checked_mul(60),
            "h" => n.checked_mul(3600),
            "d" => n.checked_mul(86_400),
            _ => return Err(format!("{text:?}: the unit must be s, m, h or d")),
        };
        match seconds {
            Some(0) => Err("a token lifetime must be longer than zero".to_string()),
            Some(s) if s <= 366 * 86_400 => Ok(Ttl(Duration::from_secs(s))),
            _ => Err(format!("{text:?}: a token may live at most 366 days")),
        }
    }

    pub(crate) fn seconds(self) -> i64 {
        // Bounded by `parse` to 366 days.
        i64::try_from(self.0.as_secs()).unwrap_or(i64::MAX)
    }
}

/// Why a bearer token was refused. Each becomes a 401; the message is safe to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TokenError {
    Missing,
    Malformed,
    Expired,
    Invalid(String),
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenError::Missing => f.write_str("a bearer token is required (Authorization: Bearer <token>)"),
            TokenError::Malformed => f.write_str("the Authorization header must be `Bearer <token>`"),
            TokenError::Expired => f.write_str("the bearer token has expired"),
            TokenError::Invalid(why) => write!(f, "the bearer token is not valid: {why}"),
        }
    }
}

/// Signs and checks tokens with one HS256 secret.
#[derive(Clone)]
pub(crate) struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl JwtKeys {
    pub(crate) fn new(secret: &JwtSecret) -> JwtKeys {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        // Clocks on one site agree to within seconds; a minute of slack would extend
        // every token's life for nothing.
        validation.leeway = 5;
        JwtKeys {
            encoding: EncodingKey::from_secret(&secret.0),
            decoding: DecodingKey::from_secret(&secret.0),
            validation,
        }
    }

    /// A token for `principal`, valid from `now` (seconds since the epoch) for `ttl`.
    pub(crate) fn issue(&self, principal: &Principal, ttl: Ttl, now: i64) -> anyhow::Result<String> {
        let claims = Claims {
            sub: principal.subject.clone(),
            role: principal.role.as_str().to_string(),
            iss: ISSUER.to_string(),
            aud: ISSUER.to_string(),
            iat: now,
            exp: now.saturating_add(ttl.seconds()),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).context("signing the token")
    }

    /// The principal of a valid token.
    pub(crate) fn verify(&self, token: &str) -> Result<Principal, TokenError> {
        use jsonwebtoken::errors::ErrorKind;
        let data =
            jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                ErrorKind::InvalidSignature => TokenError::Invalid("bad signature".to_string()),
                ErrorKind::InvalidIssuer => TokenError::Invalid("wrong issuer".to_string()),
                ErrorKind::InvalidAudience => TokenError::Invalid("wrong audience".to_string()),
                ErrorKind::InvalidAlgorithm => TokenError::Invalid("only HS256 is accepted".to_string()),
                ErrorKind::MissingRequiredClaim(c) => TokenError::Invalid(format!("claim `{c}` is missing")),
                _ => TokenError::Invalid("not a well-formed rxgate token".to_string()),
            })?;
        let role = Role::parse(&data.claims.role).map_err(|e| TokenError::Invalid(e.to_string()))?;
        if data.claims.sub.trim().is_empty() {
            return Err(TokenError::Invalid("claim `sub` is empty".to_string()));
        }
        Ok(Principal::new(data.claims.sub, role))
    }

    /// The principal of an `Authorization` header value (`Bearer <token>`).
    pub(crate) fn verify_header(&self, header: Option<&str>) -> Result<Principal, TokenError> {
        let header = header.ok_or(TokenError::Missing)?;
        let (scheme, token) = header.trim().split_once(' ').ok_or(TokenError::Malformed)?;
        if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
            return Err(TokenError::Malformed);
        }
        self.verify(token.trim())
    }
}

/// The HS256 secret. Never printed, never logged.
pub(crate) struct JwtSecret(Vec<u8>);

impl fmt::Debug for JwtSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JwtSecret(..)")
    }
}

impl JwtSecret {
    /// `RXGATE_JWT_SECRET` when set; otherwise the secret in `data_dir/jwt-secret`,
    /// generated (32 random bytes, hex, mode 0600) the first time. `rxgate serve` and
    /// `rxgate token` both resolve it this way, so a token printed by one is accepted by the
    /// other.
    pub(crate) fn resolve(from_env: Option<String>, data_dir: &Path) -> anyhow::Result<JwtSecret> {
        if let Some(text) = from_env {
            if text.len() < MIN_SECRET_BYTES {
                anyhow::bail!("RXGATE_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes long for HS256");
            }
            return Ok(JwtSecret(text.into_bytes()));
        }
        let path = data_dir.join(SECRET_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let mode = std::fs::metadata(&path).map(|m| m.permissions().mode() & 0o777).unwrap_or(0);
                if mode & 0o077 != 0 {
                    tracing::warn!(path = %path.display(), mode = format!("{mode:o}"),
                        "the JWT secret file is readable by other users; chmod 600 it");
                }
                let text = text.trim();
                if text.len() < MIN_SECRET_BYTES {
                    anyhow::bail!(
                        "{} holds fewer than {MIN_SECRET_BYTES} bytes; delete it to generate a new one",
                        path.display()
                    );
                }
                Ok(JwtSecret(text.as_bytes().to_vec()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => generate(&path),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }
}

fn generate(path: &Path) -> anyhow::Result<JwtSecret> {
    if let Some(dir) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("creating the data directory {}", dir.display()))?;
    }
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness for the JWT secret: {e}"))?;
    let text = hex::encode(bytes);
    // `create_new`: if another process generated the file first, read theirs instead, so
    // two processes starting at once end up with one secret.
    match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
        Ok(mut file) => {
            file.write_all(text.as_bytes())
                .and_then(|()| file.sync_all())
                .with_context(|| format!("writing {}", path.display()))?;
            tracing::info!(path = %path.display(), "generated a new JWT secret");
            Ok(JwtSecret(text.into_bytes()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            Ok(JwtSecret(text.trim().as_bytes().to_vec()))
        }
        Err(e) => Err(e).with_context(|| format!("creating {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> JwtKeys {
        JwtKeys::new(&JwtSecret(b"0123456789abcdef0123456789abcdef".to_vec()))
    }

    const NOW: i64 = 1_790_000_000;

    fn now() -> i64 {
        chrono::Utc::now().timestamp()
    }

    #[test]
    fn a_token_round_trips_to_the_same_principal() {
        let keys = keys();
        let who = Principal::new("ph-0042", Role::Pharmacist);
        let token = keys.issue(&who, Ttl::parse("1h").unwrap(), now()).unwrap();
        assert_eq!(keys.verify(&token), Ok(who.clone()));
        assert_eq!(keys.verify_header(Some(&format!("Bearer {token}"))), Ok(who));
    }

    #[test]
    fn an_expired_token_is_refused_as_expired() {
        let keys = keys();
        let token = keys.issue(&Principal::new("a", Role::Agent), Ttl::parse("1m").unwrap(), NOW).unwrap();
        assert_eq!(keys.verify(&token), Err(TokenError::Expired));
    }

    #[test]
    fn a_token_signed_with_another_secret_is_refused() {
        let other = JwtKeys::new(&JwtSecret(b"another-secret-another-secret-xx".to_vec()));
        let token = other.issue(&Principal::new("a", Role::Admin), Ttl::parse("1h").unwrap(), now()).unwrap();
        assert!(matches!(keys().verify(&token), Err(TokenError::Invalid(_))));
    }

    #[test]
    fn headers_without_the_bearer_scheme_are_malformed() {
        let keys = keys();
        assert_eq!(keys.verify_header(None), Err(TokenError::Missing));
        for h in ["Basic abc", "Bearer", "Bearer ", "token"] {
            assert_eq!(keys.verify_header(Some(h)), Err(TokenError::Malformed), "{h}");
        }
    }

    #[test]
    fn lifetimes_need_a_unit_and_a_sane_length() {
        assert_eq!(Ttl::parse("90s").unwrap().seconds(), 90);
        assert_eq!(Ttl::parse("15m").unwrap().seconds(), 900);
        assert_eq!(Ttl::parse("1h").unwrap().seconds(), 3600);
        assert_eq!(Ttl::parse("7d").unwrap().seconds(), 7 * 86_400);
        for bad in ["", "1", "h", "0h", "1w", "-1h", "400d", "99999999999999999999h"] {
            assert!(Ttl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_generated_secret_is_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let first = JwtSecret::resolve(None, &data).unwrap();
        let mode = std::fs::metadata(data.join(SECRET_FILE)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let second = JwtSecret::resolve(None, &data).unwrap();
        assert_eq!(first.0, second.0);
        assert!(JwtSecret::resolve(Some("short".into()), &data).is_err());
    }
}
