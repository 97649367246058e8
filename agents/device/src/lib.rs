//! `rxgate-agent`: the counter device agent (issue 8).
//!
//! USB barcode scanners are read through hidapi ([`source`]), their reports decoded into
//! scan strings ([`decode`], pure), journalled ([`journal`]) and posted to rxgate with a
//! `device` token whose `sub` is this workstation ([`client`]); label print jobs for the
//! workstation are fetched, sent to a ZPL printer over TCP 9100 or spooled as PDF
//! ([`printer`], [`pdf`]), and their status reported back. [`agent`] runs both loops.
//!
//! **Invariants.** A scan is on disk before it is posted and leaves the journal only when
//! the server has answered it finally; the journal replays in order. A keyboard-wedge
//! scanner is only ever selected by its vendor and product id. A scan whose configured
//! prefix or suffix is missing is dropped, never guessed at.

pub mod agent;
pub mod client;
pub mod config;
pub mod decode;
pub mod journal;
pub mod pdf;
pub mod printer;
pub mod recording;
pub mod source;
