//! A stand-in for a smart pump's drug library import: it reads the exported profile with its
//! own, strict reading (unknown fields refused, units checked) and runs the infusion minute by
//! minute. If the export needs any edit to load, this fails.

use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Value {
    value: f64,
    exact: String,
    unit: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Profile {
    format: String,
    order_id: String,
    patient_id: String,
    drug: String,
    dose: Value,
    concentration: Value,
    rate: Value,
    vtbi: Value,
    duration_min: Value,
}

#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) delivered_ml: f64,
    pub(crate) delivered_mg: f64,
    pub(crate) minutes: u32,
}

pub(crate) fn load_and_run(json: &str) -> Result<Run, String> {
    let p: Profile = serde_json::from_str(json).map_err(|e| e.to_string())?;
    if p.format != "rxgate-pump-profile/1" {
        return Err(format!("format {}", p.format));
    }
    for (v, unit) in
        [(&p.dose, "mg"), (&p.concentration, "mg/mL"), (&p.rate, "mL/h"), (&p.vtbi, "mL"), (&p.duration_min, "min")]
    {
        if v.unit != unit || v.exact.is_empty() {
            return Err(format!("unit {} where {unit} is needed", v.unit));
        }
    }
    if p.drug.is_empty()
        || p.patient_id.is_empty()
        || p.order_id.is_empty()
        || p.rate.value <= 0.0
        || p.vtbi.value <= 0.0
    {
        return Err("incomplete profile".into());
    }
    let per_minute = p.rate.value / 60.0;
    let (mut delivered, mut minutes) = (0.0_f64, 0u32);
    while delivered + 1e-9 < p.vtbi.value {
        delivered = (delivered + per_minute).min(p.vtbi.value);
        minutes += 1;
        if minutes > 24 * 60 {
            return Err("infusion never completes".into());
        }
    }
    if (f64::from(minutes) - p.duration_min.value).abs() > 1.0 {
        return Err(format!("ran {minutes} min, profile says {}", p.duration_min.value));
    }
    Ok(Run { delivered_ml: delivered, delivered_mg: delivered * p.concentration.value, minutes })
}
