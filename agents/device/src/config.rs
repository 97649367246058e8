//! The agent's configuration: a TOML file, then flags over it. Parsed into plain values
//! once, at start-up; nothing later reads the file or the environment.
//!
//! ```toml
//! server = "http://127.0.0.1:8080"
//! token_file = "/etc/rxgate/ws-counter-1.jwt"    # `rxgate token --role device --sub ws-counter-1`
//! state_dir = "/var/lib/rxgate-agent"            # journals (scans, print jobs)
//!
//! [[scanner]]                                     # keyboard wedge: only by vendor/product id
//! name = "counter-wedge"
//! format = "keyboard"
//! vendor_id = 0x05e0
//! product_id = 0x1200
//! gs_substitute = "~"
//!
//! [[scanner]]                                     # any HID POS scanner (usage page 0x8C)
//! name = "counter-pos"
//! format = "hid-pos"
//! usage_page = 0x8c
//!
//! [printer]
//! address = "10.0.0.50:9100"
//! timeout_ms = 2000
//! pdf_spool = "/var/spool/rxgate-labels"
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};

use crate::decode::{Framing, ReportFormat};

/// HID POS "Barcode Scanner" usage page.
pub const USAGE_PAGE_POS: u16 = 0x8c;

#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub server: Option<String>,
    pub token: Option<String>,
    pub token_file: Option<PathBuf>,
    pub state_dir: Option<PathBuf>,
    #[serde(default, rename = "scanner")]
    pub scanners: Vec<ScannerConfig>,
    pub printer: Option<PrinterConfig>,
    /// Milliseconds between print-job polls.
    pub print_poll_ms: Option<u64>,
}

/// Which HID interfaces are one scanner, and how it was set up.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScannerConfig {
    pub name: String,
    pub format: ReportFormat,
    pub vendor_id: Option<u16>,
    pub product_id: Option<u16>,
    pub usage_page: Option<u16>,
    #[serde(default)]
    pub prefix: String,
    #[serde(default)]
    pub suffix: String,
    pub gs_substitute: Option<char>,
    /// For keyboard devices that number their reports.
    pub report_id: Option<u8>,
}

impl ScannerConfig {
    pub fn framing(&self) -> Framing {
        Framing { prefix: self.prefix.clone(), suffix: self.suffix.clone(), gs_substitute: self.gs_substitute }
    }

    /// Whether a HID interface is this scanner. A keyboard-wedge scanner is only ever
    /// picked by its vendor and product id: matching "any keyboard" would read the
    /// pharmacist's typing.
    pub fn selects(&self, vendor_id: u16, product_id: u16, usage_page: u16) -> bool {
        let id_ok = self.vendor_id.is_none_or(|v| v == vendor_id) && self.product_id.is_none_or(|p| p == product_id);
        let page_ok = match (self.format, self.usage_page) {
            (_, Some(page)) => page == usage_page,
            (ReportFormat::HidPos, None) => usage_page == USAGE_PAGE_POS,
            // The keyboard collection of a wedge scanner (Generic Desktop).
            (ReportFormat::Keyboard, None) => usage_page == 0x01,
        };
        id_ok && page_ok
    }

    fn check(&self) -> anyhow::Result<()> {
        if self.format == ReportFormat::Keyboard && (self.vendor_id.is_none() || self.product_id.is_none()) {
            bail!("scanner `{}`: a keyboard-wedge scanner needs vendor_id and product_id", self.name);
        }
        if self.format == ReportFormat::HidPos && self.vendor_id.is_none() && self.usage_page.is_none() {
            bail!("scanner `{}`: give vendor_id/product_id or usage_page", self.name);
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrinterConfig {
    /// `host:port` of a ZPL printer (raw TCP, usually port 9100).
    pub address: Option<String>,
    pub timeout_ms: Option<u64>,
    /// Where labels go as PDF when the printer fails.
    pub pdf_spool: Option<PathBuf>,
}

/// The configuration in force.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    pub server: String,
    pub token: String,
    pub state_dir: PathBuf,
    pub scanners: Vec<ScannerConfig>,
    pub printer_address: Option<String>,
    pub printer_timeout: Duration,
    pub pdf_spool: PathBuf,
    pub print_poll: Duration,
}

/// Flags that override the file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub server: Option<String>,
    pub token: Option<String>,
    pub token_file: Option<PathBuf>,
    pub state_dir: Option<PathBuf>,
    pub printer: Option<String>,
}

pub fn parse_file(text: &str) -> anyhow::Result<FileConfig> {
    Ok(toml::from_str(text)?)
}

/// Reads the file (if given), applies the flags, checks the result.
pub fn load(path: Option<&Path>, flags: Overrides) -> anyhow::Result<AgentConfig> {
    let file = match path {
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            parse_file(&text).with_context(|| format!("{}", p.display()))?
        }
        None => FileConfig::default(),
    };
    for s in &file.scanners {
        s.check()?;
    }
    let token = match (flags.token, flags.token_file.or(file.token_file), file.token) {
        (Some(t), _, _) => t,
        (None, Some(path), _) => std::fs::read_to_string(&path)
            .with_context(|| format!("reading the device token from {}", path.display()))?
            .trim()
            .to_string(),
        (None, None, Some(t)) => t,
        (None, None, None) => bail!("no device token: give --token, --token-file or token_file in the config"),
    };
    let state_dir = flags.state_dir.or(file.state_dir).unwrap_or_else(|| PathBuf::from("./agent-state"));
    let printer = file.printer.unwrap_or(PrinterConfig { address: None, timeout_ms: None, pdf_spool: None });
    Ok(AgentConfig {
        server: flags
            .server
            .or(file.server)
            .unwrap_or_else(|| "http://127.0.0.1:8080".into())
            .trim_end_matches('/')
            .into(),
        token,
        pdf_spool: printer.pdf_spool.unwrap_or_else(|| state_dir.join("pdf-spool")),
        state_dir,
        scanners: file.scanners,
        printer_address: flags.printer.or(printer.address),
        printer_timeout: Duration::from_millis(printer.timeout_ms.unwrap_or(2000)),
        print_poll: Duration::from_millis(file.print_poll_ms.unwrap_or(2000)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
server = "http://10.0.0.2:8080/"
token = "t"
[[scanner]]
name = "wedge"
format = "keyboard"
vendor_id = 0x05e0
product_id = 0x1200
gs_substitute = "~"
[[scanner]]
name = "pos"
format = "hid-pos"
usage_page = 0x8c
[printer]
address = "10.0.0.50:9100"
"#;

    #[test]
    fn the_example_parses_and_a_wedge_is_picked_only_by_its_ids() {
        let file = parse_file(EXAMPLE).unwrap();
        let wedge = &file.scanners[0];
        assert!(wedge.selects(0x05e0, 0x1200, 0x01));
        assert!(!wedge.selects(0x046d, 0xc31c, 0x01), "an ordinary keyboard is not a scanner");
        let pos = &file.scanners[1];
        assert!(pos.selects(0x0c2e, 0x0b8f, 0x8c));
        assert!(!pos.selects(0x0c2e, 0x0b8f, 0x01));
        assert_eq!(wedge.framing().gs_substitute, Some('~'));
    }

    #[test]
    fn the_shipped_example_config_parses_and_checks() {
        let file = parse_file(include_str!("../agent.example.toml")).unwrap();
        assert_eq!(file.scanners.len(), 3);
        assert!(file.scanners.iter().all(|s| s.check().is_ok()));
    }

    #[test]
    fn a_keyboard_scanner_without_ids_is_refused() {
        let file = parse_file("[[scanner]]\nname = \"any\"\nformat = \"keyboard\"\n").unwrap();
        assert!(file.scanners[0].check().is_err());
    }
}
