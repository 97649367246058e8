//! The agent with the real `rxgate serve --demo`: a recorded scanner stream dispenses the
//! armed line and the swapped product is refused; scans taken while the server is down
//! (killed) are replayed in order when it is back, each recorded once; labels reach a
//! (fake) ZPL printer or, when it fails, the PDF spool, and the server hears which.
//! Figures (scan-to-verified latency, label time to printer) are printed, not asserted.

mod support;

use std::time::{Duration, Instant};

use rxgate_agent::agent::{Agent, scan_loop};
use rxgate_agent::decode;
use rxgate_agent::source::RecordingSource;
use support::{Server, WORKSTATION, agent_config, arm_omeprazole, free_port, on_hand, recording};
use tokio::io::AsyncReadExt;

const OMEPRAZOLE_LOSEC: &str = "DEMO-OMEP-20-CAP-LO";

/// Figures go to stderr past the test harness's capture, so `scripts/test` shows them.
fn figure(text: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "figure: {text}");
}

fn replay(agent: &Agent, name: &str) -> Vec<rxgate_agent::agent::ScanItem> {
    let rec = recording(name);
    let decoder = decode::decoder(rec.format, rec.framing.clone(), rec.report_id);
    scan_loop(RecordingSource::new(rec, false), decoder, name, agent, &|| true)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recorded_wedge_stream_rejects_the_swapped_pack_then_dispenses_the_armed_line() {
    let data = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), 0);
    let rx = arm_omeprazole(&server, "aisyah", 28).await;
    let stock_before = on_hand(&server, OMEPRAZOLE_LOSEC).await;
    let device = server.token("device", WORKSTATION);
    let agent = Agent::open(&agent_config(&server.address, &device, state.path(), None)).unwrap();

    let journalled = replay(&agent, "wedge-us.hidrec");
    assert_eq!(journalled.len(), 2);
    let flush = agent.flush_scans().await;
    assert!(flush.stopped.is_none(), "{:?}", flush.stopped);
    let answers: Vec<_> = flush.answered.iter().map(|(_, a)| a).collect();

    // The amlodipine pack for the omeprazole line: 409, wrong_product, nothing handed over.
    assert_eq!((answers[0].status, answers[0].outcome()), (409, "mismatch"), "{}", answers[0].body);
    assert!(
        answers[0].body["problems"].as_array().unwrap().iter().any(|p| p == "wrong_product"),
        "{}",
        answers[0].body
    );
    // The right pack: dispensed, in the name of the pharmacist who armed the line.
    assert_eq!((answers[1].status, answers[1].outcome()), (200, "dispensed"), "{}", answers[1].body);
    assert_eq!(answers[1].body["rx_id"], rx);
    assert_eq!(answers[1].body["dispensed_by"], "aisyah");
    assert_eq!(answers[1].body["dispense"]["product"], OMEPRAZOLE_LOSEC);
    assert_eq!(answers[1].body["dispense"]["lot"], "DL24K570");
    assert_eq!(stock_before - on_hand(&server, OMEPRAZOLE_LOSEC).await, 28);
    assert_eq!(agent.pending_scans(), 0);

    // The station is disarmed by the dispense: another scan there has no line to check.
    let again = replay(&agent, "hidpos-aim.hidrec");
    assert_eq!(again.len(), 3);
    let flush = agent.flush_scans().await;
    assert!(flush.answered.iter().all(|(_, a)| a.outcome() == "no_armed_line"), "{:?}", flush.answered);
    assert_eq!(stock_before - on_hand(&server, OMEPRAZOLE_LOSEC).await, 28);
}

#[tokio::test(flavor = "multi_thread")]
async fn simulate_replays_a_framed_scanner_recording_through_the_binary() {
    let data = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), 0);
    let rx = arm_omeprazole(&server, "farid", 28).await;
    let device = server.token("device", WORKSTATION);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rxgate-agent"))
        .arg("--simulate")
        .arg(format!("{}/tests/data/wedge-framed.hidrec", env!("CARGO_MANIFEST_DIR")))
        .args(["--server", &server.address, "--token", &device, "--state-dir"])
        .arg(state.path())
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let answers: Vec<serde_json::Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    // Three scans in the stream; the partial read without its prefix was dropped.
    assert_eq!(answers.len(), 2, "{answers:?}");
    assert_eq!((answers[0]["outcome"].as_str(), answers[0]["rx_id"].as_i64()), (Some("dispensed"), Some(rx)));
    assert_eq!(answers[1]["outcome"], "no_armed_line", "the dispense disarmed the station");
}

#[tokio::test(flavor = "multi_thread")]
async fn scans_taken_while_the_server_is_killed_are_replayed_in_order_and_recorded_once() {
    let data = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let port = free_port();
    let server = Server::start(data.path(), port);
    arm_omeprazole(&server, "farid", 14).await;
    let stock_before = on_hand(&server, OMEPRAZOLE_LOSEC).await;
    let device = server.token("device", WORKSTATION);
    let address = server.address.clone();
    server.kill();

    // The counter keeps scanning; the agent keeps every scan.
    {
        let agent = Agent::open(&agent_config(&address, &device, state.path(), None)).unwrap();
        assert_eq!(replay(&agent, "wedge-us.hidrec").len(), 2);
        let flush = agent.flush_scans().await;
        assert!(flush.answered.is_empty());
        assert!(flush.stopped.is_some_and(|r| !r.needs_operator));
        assert_eq!(agent.pending_scans(), 2);
    } // …and the agent itself restarts too.
    let agent = Agent::open(&agent_config(&address, &device, state.path(), None)).unwrap();
    assert_eq!(agent.pending_scans(), 2, "the journal survived the agent's restart");

    let server = Server::start(data.path(), port);
    let flush = agent.flush_scans().await;
    assert!(flush.stopped.is_none(), "{:?}", flush.stopped);
    let outcomes: Vec<&str> = flush.answered.iter().map(|(_, a)| a.outcome()).collect();
    assert_eq!(outcomes, ["mismatch", "dispensed"], "in the order they were scanned");
    assert!(flush.answered.iter().all(|(_, a)| !a.duplicate()));
    assert_eq!(stock_before - on_hand(&server, OMEPRAZOLE_LOSEC).await, 14);

    // The answer to the dispensing scan is lost on the way back (the agent crashed before
    // acknowledging it): the replay of the same scan_id gets the same answer, marked
    // duplicate, and nothing is dispensed again.
    let (dispensing, first) = flush.answered[1].clone();
    agent.record_item(&dispensing).unwrap();
    let flush = agent.flush_scans().await;
    let (_, replayed) = &flush.answered[0];
    assert!(replayed.duplicate(), "{}", replayed.body);
    assert_eq!(replayed.outcome(), "dispensed");
    assert_eq!(replayed.body["dispense"], first.body["dispense"]);
    assert_eq!(stock_before - on_hand(&server, OMEPRAZOLE_LOSEC).await, 14);
}

/// A ZPL printer on loopback: takes one label per connection, checks its shape, hands it
/// over with the time it arrived complete.
async fn fake_printer() -> (String, tokio::sync::mpsc::UnboundedReceiver<(String, Instant)>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut text = String::new();
            socket.read_to_string(&mut text).await.unwrap();
            let _ = tx.send((text, Instant::now()));
        }
    });
    (address, rx)
}

/// The dispense id a label's Code 128 field (`^BC…^FD<id>^FS`) encodes, if the ZPL is one
/// whole label (`^XA … ^XZ`).
fn barcode_of(zpl: &str) -> Option<String> {
    let body = zpl.trim().strip_prefix("^XA")?.strip_suffix("^XZ")?;
    let after_bc = &body[body.find("^BC")?..];
    let field = &after_bc[after_bc.find("^FD")? + 3..];
    Some(field[..field.find("^FS")?].to_string())
}

fn label(dispense_id: i64) -> String {
    format!(
        "^XA^CI28^FO30,30^A0N,32,32^FDOmeprazole 20 mg capsule^FS^FO30,70^A0N,24,24^FDTake ONE daily before breakfast^FS\
         ^FO30,120^BY2^BCN,80,Y,N,N^FD{dispense_id}^FS^XZ"
    )
}

async fn enqueue(server: &Server, rx_id: i64, zpl: &str) -> i64 {
    let db = rxgate_storage::Storage::connect(server.data_dir.join("rxgate.db").to_str().unwrap()).await.unwrap();
    let mut tx = db.begin().await.unwrap();
    let job = tx.enqueue_print_job(WORKSTATION, rx_id, Some(1), zpl).await.unwrap();
    tx.commit().await.unwrap();
    db.close().await;
    job.id
}

async fn job_status(server: &Server, id: i64) -> (String, Option<String>) {
    let db = rxgate_storage::Storage::connect(server.data_dir.join("rxgate.db").to_str().unwrap()).await.unwrap();
    let mut tx = db.begin_read().await.unwrap();
    let job = tx.get_print_job(id).await.unwrap();
    drop(tx);
    db.close().await;
    (job.status, job.detail)
}

#[tokio::test(flavor = "multi_thread")]
async fn labels_reach_the_zpl_printer_or_the_pdf_spool_and_the_server_hears_which() {
    let data = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), 0);
    let rx = arm_omeprazole(&server, "aisyah", 28).await;
    let device = server.token("device", WORKSTATION);
    let (printer, mut received) = fake_printer().await;
    let agent = Agent::open(&agent_config(&server.address, &device, state.path(), Some(printer))).unwrap();
    replay(&agent, "wedge-us.hidrec");
    let flush = agent.flush_scans().await;
    let dispense_id = flush.answered[1].1.body["dispense"]["id"].as_i64().unwrap();

    let job = enqueue(&server, rx, &label(dispense_id)).await;
    let queued_at = Instant::now();
    let printed = agent.poll_print_jobs().await.unwrap();
    assert_eq!(printed.len(), 1);
    assert_eq!(printed[0].1.status, "printed");
    let (zpl, arrived) = received.recv().await.unwrap();
    assert_eq!(barcode_of(&zpl), Some(dispense_id.to_string()), "{zpl}");
    assert_eq!(job_status(&server, job).await.0, "printed");
    figure(&format!(
        "label time to printer (queued on the server → ZPL complete at the fake printer, one poll): {:.1} ms",
        arrived.duration_since(queued_at).as_secs_f64() * 1000.0
    ));
    // Nothing is printed twice: the job left the server's queue and the journal.
    assert!(agent.poll_print_jobs().await.unwrap().is_empty());
    assert_eq!(agent.pending_print_jobs(), 0);

    // The printer is gone: the label becomes a PDF in the spool, and the server is told.
    let dead = format!("127.0.0.1:{}", free_port());
    let state2 = tempfile::tempdir().unwrap();
    let agent = Agent::open(&agent_config(&server.address, &device, state2.path(), Some(dead))).unwrap();
    let job = enqueue(&server, rx, &label(dispense_id)).await;
    let printed = agent.poll_print_jobs().await.unwrap();
    assert_eq!(printed[0].1.status, "fallback_pdf", "{:?}", printed);
    let pdf = std::fs::read(state2.path().join("pdf-spool").join(format!("job-{job}.pdf"))).unwrap();
    assert!(pdf.starts_with(b"%PDF-1.4"));
    assert!(String::from_utf8_lossy(&pdf).contains(&format!("({dispense_id}) Tj")), "the dispense id is on the PDF");
    let (status, detail) = job_status(&server, job).await;
    assert_eq!(status, "fallback_pdf");
    assert!(detail.unwrap().contains("job-"));
}

#[tokio::test(flavor = "multi_thread")]
async fn figures_scan_to_verified_latency_on_loopback() {
    let data = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), 0);
    arm_omeprazole(&server, "aisyah", 28).await;
    let device = server.token("device", WORKSTATION);
    let agent = Agent::open(&agent_config(&server.address, &device, state.path(), None)).unwrap();
    let wrong = recording("wedge-us.hidrec");
    let reports: Vec<Vec<u8>> = wrong.reports().map(<[u8]>::to_vec).collect();
    // Only the first scan of the stream (the wrong pack): each is verified and recorded as
    // a mismatch, so the line stays armed for the next round.
    let first_enter = reports.iter().position(|r| r[2] == 0x28).unwrap();
    let mut times = Vec::new();
    for _ in 0..40 {
        let started = Instant::now();
        let mut decoder = decode::decoder(wrong.format, wrong.framing.clone(), None);
        for r in &reports[..=first_enter + 1] {
            for scan in decoder.feed(r) {
                agent.record(&scan.unwrap(), "bench").unwrap();
            }
        }
        let flush = agent.flush_scans().await;
        assert_eq!(flush.answered[0].1.outcome(), "mismatch");
        times.push(started.elapsed());
    }
    // And the one that dispenses.
    let started = Instant::now();
    let mut decoder = decode::decoder(wrong.format, wrong.framing.clone(), None);
    for r in &reports[first_enter + 2..] {
        for scan in decoder.feed(r) {
            agent.record(&scan.unwrap(), "bench").unwrap();
        }
    }
    let flush = agent.flush_scans().await;
    let dispensed = started.elapsed();
    assert_eq!(flush.answered[0].1.outcome(), "dispensed");
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    figure(&format!(
        "scan-to-verified on loopback (decode + journal fsync + POST + server barcode check + answer), \
         {} mismatch scans: median {:.1} ms, p95 {:.1} ms, max {:.1} ms; the dispensing scan: {:.1} ms",
        times.len(),
        ms(times[times.len() / 2]),
        ms(times[times.len() * 95 / 100]),
        ms(*times.last().unwrap()),
        ms(dispensed)
    ));
}
