//! The REST side of the agent: reading and posting explanations.

use anyhow::{Context, bail};
use reqwest::StatusCode;
use serde_json::Value;

/// What the server answered to a posted explanation.
#[derive(Debug, Clone, PartialEq)]
pub enum PostOutcome {
    /// A new row (201, `"outcome": "stored"`).
    Stored(Value),
    /// Model text replaced the stored template (200, `"outcome": "upgraded"`).
    Upgraded(Value),
    /// Nothing written: the slot already holds this source or model text (200,
    /// `"outcome": "unchanged"`); the value is the stored row.
    Unchanged(Value),
    /// Refused on its content (422): the guard's reasons, an unknown finding, other facts.
    Refused { code: String, message: String },
    /// The prescription was verified again meanwhile (409): explain the new verification.
    Stale(String),
}

/// rxgate's REST API with the agent's token.
#[derive(Debug, Clone)]
pub struct Rest {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Rest {
    /// `base` is the server's root URL (`http://127.0.0.1:8080`).
    pub fn new(base: &str, token: &str) -> Rest {
        Rest { http: reqwest::Client::new(), base: base.trim_end_matches('/').to_string(), token: token.to_string() }
    }

    fn url(&self, rx_id: i64) -> String {
        format!("{}/api/v1/pharmacy/{rx_id}/explanations", self.base)
    }

    /// The explanations of the prescription's latest verification.
    pub async fn list(&self, rx_id: i64) -> anyhow::Result<Value> {
        let response = self
            .http
            .get(self.url(rx_id))
            .bearer_auth(&self.token)
            .send()
            .await
            .with_context(|| format!("GET explanations of prescription {rx_id}"))?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("GET explanations of prescription {rx_id}: {status}: {body}");
        }
        Ok(body)
    }

    pub async fn post(&self, rx_id: i64, body: &Value) -> anyhow::Result<PostOutcome> {
        let response = self
            .http
            .post(self.url(rx_id))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .with_context(|| format!("POST explanation of prescription {rx_id}"))?;
        let status = response.status();
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        let field = |k: &str| answer["error"][k].as_str().unwrap_or("").to_string();
        match status {
            StatusCode::CREATED => Ok(PostOutcome::Stored(answer)),
            StatusCode::OK if answer["outcome"] == "upgraded" => Ok(PostOutcome::Upgraded(answer)),
            StatusCode::OK => Ok(PostOutcome::Unchanged(answer)),
            StatusCode::UNPROCESSABLE_ENTITY => {
                Ok(PostOutcome::Refused { code: field("code"), message: field("message") })
            }
            StatusCode::CONFLICT => Ok(PostOutcome::Stale(field("message"))),
            other => bail!("POST explanation of prescription {rx_id}: {other}: {answer}"),
        }
    }
}
