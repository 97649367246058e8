//! Label printing: ZPL over raw TCP (port 9100, what Zebra network printers listen on),
//! with a time limit; when the printer cannot be reached or does not take the label in
//! time, a PDF of the label goes to the spool folder instead.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::pdf;

/// What became of a label (the server's print-job statuses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Printed {
    /// `printed`, `fallback_pdf` or `failed`.
    pub status: &'static str,
    pub detail: String,
}

/// Sends one ZPL document to `address` within `timeout` (connect and write together).
pub async fn send_zpl(address: &str, zpl: &str, timeout: Duration) -> Result<(), String> {
    let send = async {
        let mut stream = TcpStream::connect(address).await.map_err(|e| format!("connect {address}: {e}"))?;
        stream.write_all(zpl.as_bytes()).await.map_err(|e| format!("write to {address}: {e}"))?;
        stream.shutdown().await.map_err(|e| format!("close {address}: {e}"))?;
        Ok(())
    };
    tokio::time::timeout(timeout, send)
        .await
        .map_err(|_| format!("printer {address} did not take the label within {timeout:?}"))?
}

/// Writes the label as `job-<id>.pdf` in `spool` (atomically: temporary file, rename).
pub fn spool_pdf(spool: &Path, job_id: i64, zpl: &str, why: &str) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(spool)?;
    let mut lines = pdf::zpl_fields(zpl);
    lines.push(format!("print job {job_id}; label printer failed: {why}"));
    // A barcode that does not encode (it always does for ids the server prints) leaves the
    // human-readable id, which is among the lines.
    let symbol = pdf::zpl_barcode(zpl).and_then(|payload| rxgate_label::code128(&payload).ok());
    let bytes = pdf::label_pdf("rxgate label (printer fallback)", &lines, symbol.as_ref());
    let path = spool.join(format!("job-{job_id}.pdf"));
    let tmp = spool.join(format!(".job-{job_id}.pdf.tmp"));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}

/// Prints one job: to the printer if there is one and it takes it, else to the spool.
pub async fn print(printer: Option<&str>, timeout: Duration, spool: &Path, job_id: i64, zpl: &str) -> Printed {
    let why = match printer {
        Some(address) => match send_zpl(address, zpl, timeout).await {
            Ok(()) => return Printed { status: "printed", detail: format!("sent to {address}") },
            Err(e) => e,
        },
        None => "no label printer configured".to_string(),
    };
    tracing::warn!(job_id, reason = %why, "label printer failed; writing the PDF fallback");
    match spool_pdf(spool, job_id, zpl, &why) {
        Ok(path) => Printed { status: "fallback_pdf", detail: format!("{}; {why}", path.display()) },
        Err(e) => Printed { status: "failed", detail: format!("{why}; PDF fallback failed: {e}") },
    }
}
