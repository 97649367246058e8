//! Webhook signatures: HMAC-SHA256 over `"{timestamp}.{body}"`, sent as
//! `X-Rxgate-Signature: t=<unix seconds>,v1=<hex>` (the scheme Stripe and GitHub popularised:
//! the timestamp inside the MAC stops a captured request being replayed later).
//! Verification compares in constant time (`Mac::verify_slice`).

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

pub const SIGNATURE_HEADER: &str = "x-rxgate-signature";
/// How far a signature's timestamp may be from the receiver's clock.
pub const TOLERANCE_SECONDS: i64 = 300;

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = HmacSha256::new_from_slice(secret).unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The header value for `body` sent at `timestamp`.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    format!("t={timestamp},v1={}", hex::encode(mac(secret, timestamp, body).finalize().into_bytes()))
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no signature header")]
    Missing,
    #[error("the signature header is not `t=<unix>,v1=<hex>`")]
    Malformed,
    #[error("the signature timestamp is {0} s from now (more than {TOLERANCE_SECONDS} s)")]
    Stale(i64),
    #[error("the signature does not match the body")]
    Mismatch,
}

/// Checks a header value against `body`, at `now` (unix seconds).
pub fn verify(secret: &[u8], header: Option<&str>, body: &[u8], now: i64) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v)) => signatures.push(hex::decode(v).map_err(|_| SignatureError::Malformed)?),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    let skew = now - timestamp;
    if skew.abs() > TOLERANCE_SECONDS {
        return Err(SignatureError::Stale(skew));
    }
    // Several v1 values let a sender rotate secrets without a gap.
    if signatures.iter().any(|s| mac(secret, timestamp, body).verify_slice(s).is_ok()) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_4231_test_case_2_matches() {
        // RFC 4231 §4.3: key "Jefe", data "what do ya want for nothing?".
        let mut m = HmacSha256::new_from_slice(b"Jefe").expect("key");
        m.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(m.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn a_signed_body_verifies_and_any_change_is_refused() {
        let secret = b"shared-secret";
        let body = br#"{"resourceType":"MedicationDispense"}"#;
        let header = sign(secret, 1_000_000, body);
        assert_eq!(verify(secret, Some(&header), body, 1_000_010), Ok(()));
        assert_eq!(verify(secret, Some(&header), b"{}", 1_000_010), Err(SignatureError::Mismatch));
        assert_eq!(verify(b"other", Some(&header), body, 1_000_010), Err(SignatureError::Mismatch));
        assert_eq!(verify(secret, Some(&header), body, 1_000_400), Err(SignatureError::Stale(400)));
        assert_eq!(verify(secret, None, body, 1_000_000), Err(SignatureError::Missing));
        assert_eq!(verify(secret, Some("v1=zz"), body, 1_000_000), Err(SignatureError::Malformed));
        // A replay with a new timestamp but the old MAC fails: the timestamp is signed.
        let forged = header.replace("t=1000000", "t=1000300");
        assert_eq!(verify(secret, Some(&forged), body, 1_000_300), Err(SignatureError::Mismatch));
    }
}
