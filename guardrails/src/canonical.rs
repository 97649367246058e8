//! Unambiguous byte encoding for hashing. Every field is written as a one-byte tag and an
//! 8-byte big-endian length before its bytes, so no two different field lists can encode
//! to the same bytes (`["ab", "c"]` and `["a", "bc"]` differ; `None` differs from `Some("")`).

use sha2::{Digest, Sha256};

/// Builds the canonical bytes of a record, field by field, in a fixed order.
#[derive(Debug, Clone)]
pub(crate) struct Canonical {
    bytes: Vec<u8>,
}

const TAG_TEXT: u8 = b's';
const TAG_INT: u8 = b'i';
const TAG_UINT: u8 = b'u';
const TAG_NONE: u8 = b'n';

impl Canonical {
    /// Starts a record with a domain label, so a hash of one kind of record can never be
    /// passed off as a hash of another kind.
    pub(crate) fn new(domain: &str) -> Canonical {
        let mut c = Canonical { bytes: Vec::new() };
        c.text(domain);
        c
    }

    pub(crate) fn text(&mut self, value: &str) -> &mut Canonical {
        self.bytes.push(TAG_TEXT);
        self.bytes.extend_from_slice(&(value.len() as u64).to_be_bytes());
        self.bytes.extend_from_slice(value.as_bytes());
        self
    }

    pub(crate) fn int(&mut self, value: i64) -> &mut Canonical {
        self.bytes.push(TAG_INT);
        self.bytes.extend_from_slice(&8u64.to_be_bytes());
        self.bytes.extend_from_slice(&value.to_be_bytes());
        self
    }

    pub(crate) fn uint(&mut self, value: u64) -> &mut Canonical {
        self.bytes.push(TAG_UINT);
        self.bytes.extend_from_slice(&8u64.to_be_bytes());
        self.bytes.extend_from_slice(&value.to_be_bytes());
        self
    }

    pub(crate) fn none(&mut self) -> &mut Canonical {
        self.bytes.push(TAG_NONE);
        self.bytes.extend_from_slice(&0u64.to_be_bytes());
        self
    }

    pub(crate) fn opt_text(&mut self, value: Option<&str>) -> &mut Canonical {
        match value {
            Some(v) => self.text(v),
            None => self.none(),
        }
    }

    pub(crate) fn opt_uint(&mut self, value: Option<u64>) -> &mut Canonical {
        match value {
            Some(v) => self.uint(v),
            None => self.none(),
        }
    }

    /// SHA-256 of the bytes, lowercase hex.
    pub(crate) fn sha256_hex(&self) -> String {
        hex::encode(Sha256::digest(&self.bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(build: impl Fn(&mut Canonical)) -> String {
        let mut c = Canonical::new("test");
        build(&mut c);
        c.sha256_hex()
    }

    #[test]
    fn moving_a_boundary_between_fields_changes_the_hash() {
        let ab_c = hash(|c| {
            c.text("ab").text("c");
        });
        let a_bc = hash(|c| {
            c.text("a").text("bc");
        });
        assert_ne!(ab_c, a_bc);
    }

    #[test]
    fn absent_empty_and_zero_are_three_different_things() {
        let none = hash(|c| {
            c.opt_text(None);
        });
        let empty = hash(|c| {
            c.opt_text(Some(""));
        });
        let zero = hash(|c| {
            c.opt_uint(Some(0));
        });
        assert_ne!(none, empty);
        assert_ne!(none, zero);
        assert_ne!(empty, zero);
    }

    #[test]
    fn the_domain_separates_records_with_equal_fields() {
        let mut a = Canonical::new("audit");
        a.text("x");
        let mut b = Canonical::new("view");
        b.text("x");
        assert_ne!(a.sha256_hex(), b.sha256_hex());
    }
}
