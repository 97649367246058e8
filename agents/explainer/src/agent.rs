//! One pass over the queue, and what it cost.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

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
    /// The model to ask per language; a language without one gets template text (a model
    /// that cannot write the language only spends tokens to be rejected).
    pub models: BTreeMap<Language, LanguageModel>,
    /// Cap on generated tokens per prescription (the budget: 300 on average). Once
    /// spent, the prescription's remaining explanations are templates.
    pub tokens_per_rx: u32,
    /// Below this many tokens left, a model call could not finish a sentence: template.
    pub min_tokens_per_call: u32,
}

impl Default for AgentConfig {
    fn default() -> AgentConfig {
        AgentConfig {
            languages: Language::ALL.to_vec(),
            audiences: Audience::ALL.to_vec(),
            models: BTreeMap::new(),
            tokens_per_rx: 300,
            min_tokens_per_call: 32,
        }
    }
}

/// What passes did, for logs and figures.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PassStats {
    /// Prescriptions whose latest verification was explained in this pass.
    pub prescriptions: u32,
    pub stored: u32,
    pub from_model: u32,
    /// Model texts the agent's guard or the server's refused (replaced by the template).
    pub fallbacks: u32,
    pub generated_tokens: u64,
}

impl PassStats {
    fn add(&mut self, other: PassStats) {
        self.prescriptions += other.prescriptions;
        self.stored += other.stored;
        self.from_model += other.from_model;
        self.fallbacks += other.fallbacks;
        self.generated_tokens += other.generated_tokens;
    }

    /// Generated tokens per explained prescription.
    pub fn tokens_per_prescription(&self) -> f64 {
        self.generated_tokens as f64 / f64::from(self.prescriptions.max(1))
    }
}

/// The agent: an MCP connection, the REST client and what it remembers between passes.
pub struct Agent {
    mcp: Connection,
    rest: Rest,
    config: AgentConfig,
    /// Prescriptions done, by the `version` the queue showed: a prescription is looked at
    /// again only when it changed (a new verification moves its version).
    done: BTreeMap<i64, i64>,
    /// Everything so far.
    pub total: PassStats,
}

fn structured(result: ToolResult, tool: &str) -> anyhow::Result<Value> {
    match result {
        ToolResult::Ok(v) => Ok(v),
        ToolResult::ToolError(message) => bail!("{tool}: {message}"),
    }
}

impl Agent {
    pub fn new(mcp: Connection, rest: Rest, config: AgentConfig) -> Agent {
        Agent { mcp, rest, config, done: BTreeMap::new(), total: PassStats::default() }
    }

    /// One pass over the queue. A prescription that fails is logged and tried again in the
    /// next pass; the others go on.
    pub async fn pass(&mut self) -> anyhow::Result<PassStats> {
        let queue = structured(self.mcp.call("rx_queue", &json!({"limit": 500})).await?, "rx_queue")?;
        let mut stats = PassStats::default();
        for p in queue["prescriptions"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
            let (Some(rx_id), Some(true)) = (p["rx_id"].as_i64(), p["verified"].as_bool()) else { continue };
            let version = p["version"].as_i64().unwrap_or(-1);
            if self.done.get(&rx_id) == Some(&version) {
                continue;
            }
            match self.explain_prescription(rx_id).await {
                Ok(s) => {
                    self.done.insert(rx_id, version);
                    if s.stored > 0 {
                        tracing::info!(
                            rx_id,
                            stored = s.stored,
                            from_model = s.from_model,
                            fallbacks = s.fallbacks,
                            generated_tokens = s.generated_tokens,
                            "explained"
                        );
                    }
                    stats.add(s);
                }
                Err(e) => tracing::warn!(rx_id, error = format!("{e:#}"), "could not explain; will retry"),
            }
        }
        self.total.add(stats);
        Ok(stats)
    }

    /// Explains every finding of the prescription's latest verification that has no stored
    /// explanation yet.
    pub async fn explain_prescription(&self, rx_id: i64) -> anyhow::Result<PassStats> {
        let got = structured(self.mcp.call("rx_get", &json!({"rx_id": rx_id})).await?, "rx_get")?;
        let verification = &got["verification"];
        if verification.is_null() {
            return Ok(PassStats::default());
        }
        let verification_id =
            verification["verification_id"].as_i64().context("rx_get: verification without verification_id")?;
        let listed = self.rest.list(rx_id).await?;
        let existing: BTreeSet<(String, String, String)> = listed["explanations"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[])
            .iter()
            .filter(|e| e["verification_id"].as_i64() == Some(verification_id))
            .map(|e| {
                let f = |k: &str| e[k].as_str().unwrap_or("").to_string();
                (f("finding_key"), f("language"), f("audience"))
            })
            .collect();

        let findings = findings_from_verification(verification);
        let mut stats = PassStats { prescriptions: u32::from(!findings.is_empty()), ..PassStats::default() };
        let mut used: u32 = 0;
        for finding in &findings {
            for &language in &self.config.languages {
                for &audience in &self.config.audiences {
                    let key = (finding.key.clone(), language.as_str().to_string(), audience.as_str().to_string());
                    if existing.contains(&key) {
                        continue;
                    }
                    let left = self.config.tokens_per_rx.saturating_sub(used);
                    let explanation = self.explain(finding, language, audience, left).await?;
                    used += explanation.meta.generated_tokens;
                    stats.generated_tokens += u64::from(explanation.meta.generated_tokens);
                    if explanation.meta.source == Source::Template && explanation.meta.generated_tokens > 0 {
                        stats.fallbacks += 1;
                    }
                    match self.post(rx_id, verification_id, finding, &explanation).await? {
                        PostOutcome::Stored(_) => {
                            stats.stored += 1;
                            stats.from_model += u32::from(explanation.meta.source == Source::Llm);
                        }
                        PostOutcome::Refused { code, message } if explanation.meta.source == Source::Llm => {
                            // The server's guard has the last word; its template is ours.
                            tracing::info!(rx_id, finding = %finding.key, %code, %message, "server refused the model text");
                            stats.fallbacks += 1;
                            let template = self.template(finding, language, audience, explanation.meta.prompt_version);
                            if let PostOutcome::Stored(_) =
                                self.post(rx_id, verification_id, finding, &template).await?
                            {
                                stats.stored += 1;
                            }
                        }
                        PostOutcome::Refused { code, message } => {
                            tracing::error!(rx_id, finding = %finding.key, %code, %message, "server refused template text");
                        }
                        PostOutcome::Stale(message) => {
                            tracing::info!(rx_id, %message, "verified again meanwhile; next pass explains the new one");
                            return Ok(stats);
                        }
                    }
                }
            }
        }
        Ok(stats)
    }

    fn template(
        &self,
        finding: &ExplainableFinding,
        language: Language,
        audience: Audience,
        prompt_version: PromptVersion,
    ) -> Explanation {
        TemplateExplainer.explain(&ExplainRequest { facts: finding.facts.clone(), language, audience, prompt_version })
    }

    /// The model when this language has one and the budget allows a call; else the template.
    async fn explain(
        &self,
        finding: &ExplainableFinding,
        language: Language,
        audience: Audience,
        tokens_left: u32,
    ) -> anyhow::Result<Explanation> {
        let Some(model) = self.config.models.get(&language) else {
            return Ok(self.template(finding, language, audience, PromptVersion::DEFAULT));
        };
        if tokens_left < self.config.min_tokens_per_call {
            return Ok(self.template(finding, language, audience, model.prompt_version));
        }
        let request =
            ExplainRequest { facts: finding.facts.clone(), language, audience, prompt_version: model.prompt_version };
        let explainer = model.explainer.clone();
        // llama.cpp decoding is CPU-bound: off the async runtime.
        tokio::task::spawn_blocking(move || explainer.explain_capped(&request, tokens_left))
            .await
            .context("explainer thread")
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
            // For a template written after the model's text was refused, the model that tried.
            "model": e.meta.model,
            "prompt_version": e.meta.prompt_version.as_str(),
            "facts_hash": e.meta.facts_hash,
            "generated_tokens": e.meta.generated_tokens,
        });
        self.rest.post(rx_id, &body).await
    }
}
