//! One integration-test binary for the checks (one link step instead of one per file).
//! Scenarios are data in `tests/scenarios/*.toml`; properties run over the whole formulary.

mod common;
mod dose;
mod properties;
mod scenarios;
