//! Who is acting: a subject (a surrogate user id) and the role their token carries.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A role from the contract. The names are fixed: `pharmacist`, `physician`, `agent`,
/// `device`, `admin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The only role that decides lines, dispenses, counsels and closes.
    Pharmacist,
    /// Prescribes; may submit a prescription and report an adverse event.
    Physician,
    /// An AI assistant: reads, verifies and proposes, never decides.
    Agent,
    /// A scanner: records barcode scans and nothing else.
    Device,
    /// Runs the system; takes no clinical action.
    Admin,
}

impl Role {
    /// Every role, in the contract's order (tests iterate over it).
    pub const ALL: [Role; 5] = [Role::Pharmacist, Role::Physician, Role::Agent, Role::Device, Role::Admin];

    /// The contract's lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Pharmacist => "pharmacist",
            Role::Physician => "physician",
            Role::Agent => "agent",
            Role::Device => "device",
            Role::Admin => "admin",
        }
    }

    /// Parses the contract's exact lowercase name; anything else is an error, so a token
    /// with a misspelt role never falls back to some default role.
    pub fn parse(text: &str) -> Result<Role, UnknownRole> {
        Role::ALL.into_iter().find(|r| r.as_str() == text).ok_or_else(|| UnknownRole(text.to_owned()))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is not one of the contract's five.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}: expected one of pharmacist, physician, agent, device, admin")]
pub struct UnknownRole(pub String);

/// The acting party of a command: `subject` is a surrogate id (the JWT `sub`), never a
/// person's name, because it is written into the audit chain and logs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Principal {
    /// Surrogate user id.
    pub subject: String,
    /// The role the token was issued for.
    pub role: Role,
}

impl Principal {
    /// A principal from a subject and a role.
    pub fn new(subject: impl Into<String>, role: Role) -> Principal {
        Principal { subject: subject.into(), role }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_round_trips_through_its_contract_name() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Ok(role));
        }
    }

    #[test]
    fn a_misspelt_or_capitalised_role_is_refused_not_guessed() {
        for text in ["Pharmacist", "pharmacists", "", "root", "AGENT"] {
            assert_eq!(Role::parse(text), Err(UnknownRole(text.to_owned())));
        }
    }
}
