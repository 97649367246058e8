//! The agent's passes: templates for every new verification first, then model text as
//! upgrades, one model call at a time.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rxgate_evals::Connection;
use rxgate_evals::judge::ToolResult;
use rxgate_guardrails::{ExplainableFinding, findings_from_verification};
use rxgate_models::{
    Audience, ExplainRequest, Explainer, Explanation, Language, PromptVersion, Source, TemplateExplainer,
};
use serde_json::{Value, json};

use crate::server::{PostOutcome, Rest};

/// A model explainer for one language, with the prompt version that measured best for it.
#[derive(Clone)]
pub struct LanguageModel {
    pub explainer: Arc<dyn Explainer + Send + Sync>,
    pub prompt_version: PromptVersion,
}

/// What the agent writes, and with what.
#[derive(Clone)]
pub struct AgentConfig {
    pub languages: Vec<Language>,
    pub audiences: Vec<Audience>,
    /// The model to ask per language; a language without one keeps its template text (a
    /// model that cannot write the language only spends tokens to be rejected).
    pub models: BTreeMap<Language, LanguageModel>,
    /// Cap on generated tokens per verification (the budget: 300 per prescription
    /// on average). Once spent, the rest of its explanations stay templates.
    pub tokens_per_rx: u32,
    /// Below this many tokens left, a model call could not finish a sentence: template.
    pub min_tokens_per_call: u32,
    /// How often the queue is read. The model's work does not hold it up: while a model
    /// call runs, the queue is still read at this pace, so a prescription verified meanwhile
    /// gets its templates without waiting for the model.
    pub poll_interval: Duration,
}

impl Default for AgentConfig {
    fn default() -> AgentConfig {
        AgentConfig {
            languages: Language::ALL.to_vec(),
            audiences: Audience::ALL.to_vec(),
            models: BTreeMap::new(),
            tokens_per_rx: 300,
            min_tokens_per_call: 32,
            poll_interval: Duration::from_secs(3),
        }
    }
}

/// What passes did, for logs and figures.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PassStats {
    /// Verifications with findings that got their templates in this pass.
    pub prescriptions: u32,
    /// New explanations the server stored (templates, and model texts for keys that had no
    /// template).
    pub stored: u32,
    /// Templates the server replaced with model text.
    pub upgraded: u32,
    /// Model texts the server took (stored or upgraded).
    pub from_model: u32,
    /// Model texts the agent's guard or the server's refused (the template stays).
    pub fallbacks: u32,
    /// Model calls made.
    pub model_calls: u32,
    pub generated_tokens: u64,
}

impl PassStats {
    fn add(&mut self, other: PassStats) {
        self.prescriptions += other.prescriptions;
        self.stored += other.stored;
        self.upgraded += other.upgraded;
        self.from_model += other.from_model;
        self.fallbacks += other.fallbacks;
        self.model_calls += other.model_calls;
        self.generated_tokens += other.generated_tokens;
    }

    /// Generated tokens per explained prescription.
    pub fn tokens_per_prescription(&self) -> f64 {
        self.generated_tokens as f64 / f64::from(self.prescriptions.max(1))
    }
}

/// One explanation slot of a verification: which finding, in which language, for whom.
type Key = (String, Language, Audience);

/// What the agent knows about one prescription's latest verification.
struct Work {
    /// The queue's `version` when its templates were posted: a prescription is looked at
    /// again only when it changed.
    version: i64,
    verification_id: i64,
    findings: Vec<ExplainableFinding>,
    /// Generated tokens spent on this verification.
    tokens_used: u32,
    /// Slots the model has been asked about and the server answered (or the agent's own
    /// guard refused): never asked again, so a rejected slot costs model time once.
    tried: BTreeSet<Key>,
    /// Slots whose stored text is the model's.
    from_model: BTreeSet<Key>,
}

/// The agent: an MCP connection, the REST client and what it remembers between passes.
pub struct Agent {
    mcp: Connection,
    rest: Rest,
    config: AgentConfig,
    /// By prescription id.
    work: BTreeMap<i64, Work>,
    last_poll: Option<Instant>,
    /// Everything so far.
    pub total: PassStats,
}

fn structured(result: ToolResult, tool: &str) -> anyhow::Result<Value> {
    match result {
        ToolResult::Ok(v) => Ok(v),
        ToolResult::ToolError(message) => bail!("{tool}: {message}"),
    }
}

fn key_of(finding: &ExplainableFinding, language: Language, audience: Audience) -> Key {
    (finding.key.clone(), language, audience)
}

impl Agent {
    pub fn new(mcp: Connection, rest: Rest, config: AgentConfig) -> Agent {
        Agent { mcp, rest, config, work: BTreeMap::new(), last_poll: None, total: PassStats::default() }
    }

    /// One pass: templates for every prescription verified since the last look (phase 1),
    /// then the model's texts as upgrades, oldest prescription first (phase 2), until no
    /// model work is left. A prescription that fails is logged and tried again at the next
    /// queue read; the others go on.
    pub async fn pass(&mut self) -> anyhow::Result<PassStats> {
        let mut stats = PassStats::default();
        let outcome = self.pass_into(&mut stats).await;
        self.total.add(stats);
        outcome.map(|()| stats)
    }

    async fn pass_into(&mut self, stats: &mut PassStats) -> anyhow::Result<()> {
        self.templates_for_queue(stats).await?;
        while let Some((rx_id, finding, language, audience)) = self.next_model_call() {
            if self.last_poll.is_none_or(|at| at.elapsed() >= self.config.poll_interval) {
                // Due anyway; and the call picked may belong to a verification that is no
                // longer the latest.
                self.templates_for_queue(stats).await?;
                continue;
            }
            self.upgrade(rx_id, finding, language, audience, stats).await?;
        }
        Ok(())
    }

    /// Phase 1 for every verified prescription that changed since the agent last looked.
    async fn templates_for_queue(&mut self, stats: &mut PassStats) -> anyhow::Result<()> {
        self.last_poll = Some(Instant::now());
        let queue = structured(self.mcp.call("rx_queue", &json!({"limit": 500})).await?, "rx_queue")?;
        let listed = queue["prescriptions"].as_array().map(Vec::as_slice).unwrap_or(&[]);
        let in_queue: BTreeSet<i64> = listed.iter().filter_map(|p| p["rx_id"].as_i64()).collect();
        // A prescription that left the queue needs no more explanations; forgetting it keeps
        // a long-running agent's memory to the queue's size.
        self.work.retain(|rx_id, _| in_queue.contains(rx_id));
        for p in listed {
            let (Some(rx_id), Some(true)) = (p["rx_id"].as_i64(), p["verified"].as_bool()) else { continue };
            let version = p["version"].as_i64().unwrap_or(-1);
            if self.work.get(&rx_id).is_some_and(|w| w.version == version) {
                continue;
            }
            if let Err(e) = self.templates_for(rx_id, version, stats).await {
                tracing::warn!(rx_id, error = format!("{e:#}"), "could not explain; will retry");
            }
        }
        Ok(())
    }

    /// Posts the template for every slot of the prescription's latest verification that has
    /// no stored explanation, and records what is stored.
    async fn templates_for(&mut self, rx_id: i64, version: i64, stats: &mut PassStats) -> anyhow::Result<()> {
        let started = Instant::now();
        let got = structured(self.mcp.call("rx_get", &json!({"rx_id": rx_id})).await?, "rx_get")?;
        let verification = &got["verification"];
        if verification.is_null() {
            return Ok(());
        }
        let verification_id =
            verification["verification_id"].as_i64().context("rx_get: verification without verification_id")?;
        let listed = self.rest.list(rx_id).await?;
        let stored: BTreeMap<(String, String, String), String> = listed["explanations"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[])
            .iter()
            .filter(|e| e["verification_id"].as_i64() == Some(verification_id))
            .map(|e| {
                let f = |k: &str| e[k].as_str().unwrap_or("").to_string();
                ((f("finding_key"), f("language"), f("audience")), f("source"))
            })
            .collect();

        let mut work = match self.work.remove(&rx_id) {
            Some(w) if w.verification_id == verification_id => w,
            _ => {
                let findings = findings_from_verification(verification);
                stats.prescriptions += u32::from(!findings.is_empty());
                Work {
                    version,
                    verification_id,
                    findings,
                    tokens_used: 0,
                    tried: BTreeSet::new(),
                    from_model: BTreeSet::new(),
                }
            }
        };
        work.version = version;
        let mut posted = 0u32;
        for finding in &work.findings {
            for &language in &self.config.languages {
                for &audience in &self.config.audiences {
                    let slot = (finding.key.clone(), language.as_str().to_string(), audience.as_str().to_string());
                    match stored.get(&slot).map(String::as_str) {
                        Some("llm") => {
                            work.from_model.insert(key_of(finding, language, audience));
                            continue;
                        }
                        Some(_) => continue,
                        None => {}
                    }
                    let template = template(finding, language, audience);
                    match self.post(rx_id, verification_id, finding, &template).await? {
                        PostOutcome::Stored(_) => {
                            stats.stored += 1;
                            posted += 1;
                        }
                        PostOutcome::Upgraded(v) | PostOutcome::Unchanged(v) => {
                            if v["source"] == "llm" {
                                work.from_model.insert(key_of(finding, language, audience));
                            }
                        }
                        PostOutcome::Refused { code, message } => {
                            tracing::error!(rx_id, finding = %finding.key, %code, %message, "server refused template text");
                        }
                        PostOutcome::Stale(message) => {
                            // Not remembered: the next queue read sees the new version.
                            tracing::info!(rx_id, %message, "verified again meanwhile; the next read explains the new one");
                            return Ok(());
                        }
                    }
                }
            }
        }
        if posted > 0 {
            tracing::info!(
                rx_id,
                verification_id,
                templates = posted,
                ms = started.elapsed().as_millis() as u64,
                "templates posted"
            );
        }
        self.work.insert(rx_id, work);
        Ok(())
    }

    /// The next slot to ask the model about: oldest prescription first, within its token
    /// budget, in a language that has a model, not asked before and not model-written yet.
    fn next_model_call(&self) -> Option<(i64, usize, Language, Audience)> {
        for (&rx_id, work) in &self.work {
            if self.config.tokens_per_rx.saturating_sub(work.tokens_used) < self.config.min_tokens_per_call {
                continue;
            }
            for (index, finding) in work.findings.iter().enumerate() {
                for &language in self.config.languages.iter().filter(|l| self.config.models.contains_key(l)) {
                    for &audience in &self.config.audiences {
                        let key = key_of(finding, language, audience);
                        if !work.tried.contains(&key) && !work.from_model.contains(&key) {
                            return Some((rx_id, index, language, audience));
                        }
                    }
                }
            }
        }
        None
    }

    /// Phase 2 for one slot: the model's text (guarded by the agent), posted as an upgrade
    /// of the template (guarded again by the server).
    async fn upgrade(
        &mut self,
        rx_id: i64,
        index: usize,
        language: Language,
        audience: Audience,
        stats: &mut PassStats,
    ) -> anyhow::Result<()> {
        let (finding, verification_id, tokens_left) = {
            let work = self.work.get(&rx_id).context("model work for a prescription the agent forgot")?;
            (
                work.findings[index].clone(),
                work.verification_id,
                self.config.tokens_per_rx.saturating_sub(work.tokens_used),
            )
        };
        let model = self.config.models.get(&language).context("a model call for a language without a model")?;
        let request =
            ExplainRequest { facts: finding.facts.clone(), language, audience, prompt_version: model.prompt_version };
        let explainer = model.explainer.clone();
        // llama.cpp decoding is CPU-bound: off the async runtime. A call can take from a
        // second to half a minute on a busy machine; the queue is read meanwhile, so a
        // prescription verified now gets its templates without waiting for this call.
        let mut call = tokio::task::spawn_blocking(move || explainer.explain_capped(&request, tokens_left));
        let explanation = loop {
            let next_poll =
                self.config.poll_interval.saturating_sub(self.last_poll.map_or(Duration::ZERO, |at| at.elapsed()));
            tokio::select! {
                done = &mut call => break done.context("explainer thread")?,
                () = tokio::time::sleep(next_poll) => self.templates_for_queue(stats).await?,
            }
        };
        let tokens = explanation.meta.generated_tokens;
        stats.model_calls += 1;
        stats.generated_tokens += u64::from(tokens);
        let key = key_of(&finding, language, audience);
        if let Some(work) = self.work.get_mut(&rx_id).filter(|w| w.verification_id == verification_id) {
            work.tokens_used = work.tokens_used.saturating_add(tokens);
        }
        if explanation.meta.source != Source::Llm {
            // The agent's guard refused the text (reasons logged by the explainer): the
            // template already stored stays.
            stats.fallbacks += u32::from(tokens > 0);
            self.remember(rx_id, verification_id, key, false);
            return Ok(());
        }
        let outcome = self.post(rx_id, verification_id, &finding, &explanation).await?;
        let from_model = match outcome {
            PostOutcome::Stored(_) => {
                stats.stored += 1;
                stats.from_model += 1;
                true
            }
            PostOutcome::Upgraded(_) => {
                stats.upgraded += 1;
                stats.from_model += 1;
                tracing::info!(rx_id, finding = %finding.key, %language, audience = audience.as_str(), tokens, "model text replaced the template");
                true
            }
            PostOutcome::Unchanged(v) => v["source"] == "llm",
            PostOutcome::Refused { code, message } => {
                // The server's guard has the last word; the template stays.
                tracing::info!(rx_id, finding = %finding.key, %code, %message, "server refused the model text");
                stats.fallbacks += 1;
                false
            }
            PostOutcome::Stale(message) => {
                tracing::info!(rx_id, %message, "verified again meanwhile; the next read explains the new one");
                if self.work.get(&rx_id).is_some_and(|w| w.verification_id == verification_id) {
                    self.work.remove(&rx_id);
                }
                return Ok(());
            }
        };
        self.remember(rx_id, verification_id, key, from_model);
        Ok(())
    }

    /// Records the model's answer for a slot, unless the prescription was verified again
    /// while the model wrote (the new verification's slots are new work).
    fn remember(&mut self, rx_id: i64, verification_id: i64, key: Key, from_model: bool) {
        if let Some(work) = self.work.get_mut(&rx_id).filter(|w| w.verification_id == verification_id) {
            if from_model {
                work.from_model.insert(key.clone());
            }
            work.tried.insert(key);
        }
    }

    async fn post(
        &self,
        rx_id: i64,
        verification_id: i64,
        finding: &ExplainableFinding,
        e: &Explanation,
    ) -> anyhow::Result<PostOutcome> {
        let body = json!({
            "finding_key": finding.key,
            "line_no": finding.line_no,
            "verification_id": verification_id,
            "language": e.meta.language.as_str(),
            "audience": e.meta.audience.as_str(),
            "text": e.body,
            "source": e.meta.source.as_str(),
            "model": e.meta.model,
            "prompt_version": e.meta.prompt_version.as_str(),
            "facts_hash": e.meta.facts_hash,
            "generated_tokens": e.meta.generated_tokens,
        });
        self.rest.post(rx_id, &body).await
    }
}

/// The vetted template text: written from the facts alone, no model time.
fn template(finding: &ExplainableFinding, language: Language, audience: Audience) -> Explanation {
    TemplateExplainer.explain(&ExplainRequest {
        facts: finding.facts.clone(),
        language,
        audience,
        prompt_version: PromptVersion::DEFAULT,
    })
}
