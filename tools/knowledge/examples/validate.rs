//! `cargo run -p rxgate-knowledge --example validate -- DIR`: validates a registry folder
//! without building the whole server (the `rxgate knowledge validate` command does the same).

use std::process::ExitCode;

fn main() -> ExitCode {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "tools/knowledge/data".to_string());
    let mut files = Vec::new();
    for (name, _) in rxgate_knowledge::FILES {
        if let Ok(text) = std::fs::read_to_string(std::path::Path::new(&dir).join(name)) {
            files.push(rxgate_knowledge::SourceFile { name: name.to_string(), text });
        }
    }
    match rxgate_knowledge::load(&files) {
        Ok(snapshot) => {
            let r = &snapshot.registry;
            println!(
                "ok: {} {} — {} generics, {} products, {} rules, {} curated interactions",
                snapshot.version,
                &snapshot.hash[..12],
                r.generics().len(),
                r.products().len(),
                r.ddi_rules().len(),
                r.curated().len()
            );
            ExitCode::SUCCESS
        }
        Err(problems) => {
            for p in &problems {
                println!("{dir}/{p}");
            }
            println!("{} problem(s)", problems.len());
            ExitCode::FAILURE
        }
    }
}
