//! Where HID reports come from: a real device through hidapi, or a recording. The scan
//! loop only sees [`ReportSource`], so tests and `--simulate` drive exactly the code a
//! scanner drives.

use std::time::Duration;

use crate::config::ScannerConfig;
use crate::recording::{Recording, Step};

/// What one read gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Read {
    Report(Vec<u8>),
    /// Nothing within the timeout.
    Idle,
    /// The source has ended (a recording played out, a device unplugged).
    End,
}

/// A blocking source of HID input reports.
pub trait ReportSource: Send {
    /// The next report, waiting at most `timeout`.
    fn read(&mut self, timeout: Duration) -> Read;
}

/// Plays a recording; waits are slept through when `real_time` (for `--simulate`).
pub struct RecordingSource {
    steps: std::vec::IntoIter<Step>,
    real_time: bool,
}

impl RecordingSource {
    pub fn new(recording: Recording, real_time: bool) -> RecordingSource {
        RecordingSource { steps: recording.steps.into_iter(), real_time }
    }
}

impl ReportSource for RecordingSource {
    fn read(&mut self, _timeout: Duration) -> Read {
        loop {
            match self.steps.next() {
                Some(Step::Report(r)) => return Read::Report(r),
                Some(Step::Wait(d)) => {
                    if self.real_time {
                        std::thread::sleep(d);
                    }
                }
                None => return Read::End,
            }
        }
    }
}

/// One opened HID interface.
pub struct HidSource {
    device: hidapi::HidDevice,
    buf: [u8; 64],
}

impl ReportSource for HidSource {
    fn read(&mut self, timeout: Duration) -> Read {
        let ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
        match self.device.read_timeout(&mut self.buf, ms) {
            Ok(0) => Read::Idle,
            Ok(n) => Read::Report(self.buf[..n].to_vec()),
            Err(e) => {
                tracing::error!(error = %e, "HID read failed; the scanner was unplugged or lost");
                Read::End
            }
        }
    }
}

/// A HID interface as `--list` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HidInterface {
    pub path: String,
    pub vendor_id: u16,
    pub product_id: u16,
    pub usage_page: u16,
    pub usage: u16,
    pub interface_number: i32,
    pub manufacturer: Option<String>,
    pub product: Option<String>,
    /// The configured scanner that would use it.
    pub scanner: Option<String>,
}

/// Every HID interface on the machine, each with the configured scanner it matches.
pub fn list(scanners: &[ScannerConfig]) -> anyhow::Result<Vec<HidInterface>> {
    let api = hidapi::HidApi::new()?;
    Ok(api
        .device_list()
        .map(|d| HidInterface {
            path: d.path().to_string_lossy().into_owned(),
            vendor_id: d.vendor_id(),
            product_id: d.product_id(),
            usage_page: d.usage_page(),
            usage: d.usage(),
            interface_number: d.interface_number(),
            manufacturer: d.manufacturer_string().map(str::to_string),
            product: d.product_string().map(str::to_string),
            scanner: scanners
                .iter()
                .find(|s| s.selects(d.vendor_id(), d.product_id(), d.usage_page()))
                .map(|s| s.name.clone()),
        })
        .collect())
}

/// Opens every interface a configured scanner selects.
pub fn open_scanners(scanners: &[ScannerConfig]) -> anyhow::Result<Vec<(ScannerConfig, HidSource)>> {
    let api = hidapi::HidApi::new()?;
    let mut opened = Vec::new();
    for info in api.device_list() {
        let Some(config) = scanners.iter().find(|s| s.selects(info.vendor_id(), info.product_id(), info.usage_page()))
        else {
            continue;
        };
        match info.open_device(&api) {
            Ok(device) => {
                tracing::info!(scanner = %config.name, path = %info.path().to_string_lossy(), "scanner opened");
                opened.push((config.clone(), HidSource { device, buf: [0; 64] }));
            }
            Err(e) => {
                tracing::error!(scanner = %config.name, error = %e, "cannot open scanner (permissions on /dev/hidraw*?)")
            }
        }
    }
    Ok(opened)
}
