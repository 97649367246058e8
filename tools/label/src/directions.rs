//! Directions for use in English and Bahasa Melayu, from a line as the prescriber wrote it.

use crate::Bilingual;

/// How often, in both languages. An abbreviation we do not know is printed as written
/// (and so caught by the pharmacist who checks the label) rather than guessed.
fn frequency(code: &str) -> Bilingual {
    let lower = code.trim().to_ascii_lowercase();
    let fixed = match lower.as_str() {
        "od" | "daily" | "q24h" => Some(("once a day", "sekali sehari")),
        "bd" | "bid" | "q12h" => Some(("twice a day", "dua kali sehari")),
        "tds" | "tid" => Some(("three times a day", "tiga kali sehari")),
        "qds" | "qid" => Some(("four times a day", "empat kali sehari")),
        "on" | "nocte" => Some(("at night", "pada waktu malam")),
        "om" | "mane" => Some(("in the morning", "pada waktu pagi")),
        "prn" => Some(("when needed", "apabila perlu")),
        "stat" => Some(("once, immediately", "sekali, serta-merta")),
        "weekly" | "once weekly" => Some(("once a week", "sekali seminggu")),
        _ => None,
    };
    if let Some((en, ms)) = fixed {
        return Bilingual::new(en, ms);
    }
    let hours = lower.strip_prefix('q').and_then(|h| h.strip_suffix('h')).and_then(|h| h.parse::<u32>().ok());
    match hours {
        Some(h) => Bilingual::new(format!("every {h} hours"), format!("setiap {h} jam")),
        None => Bilingual::new(format!("as directed ({code})"), format!("seperti diarahkan ({code})")),
    }
}

fn route(route: &str) -> Bilingual {
    match route.trim().to_ascii_lowercase().as_str() {
        "oral" | "po" => Bilingual::new("by mouth", "melalui mulut"),
        "topical" => Bilingual::new("on the skin", "pada kulit"),
        "inhaled" | "inh" => Bilingual::new("by inhalation", "secara sedutan"),
        "sc" | "subcutaneous" => Bilingual::new("by injection under the skin", "secara suntikan bawah kulit"),
        "im" => Bilingual::new("by injection into the muscle", "secara suntikan ke dalam otot"),
        "iv" => Bilingual::new("into a vein", "ke dalam salur darah"),
        "pr" | "rectal" => Bilingual::new("into the back passage", "melalui dubur"),
        other => Bilingual::new(format!("({other})"), format!("({other})")),
    }
}

/// `"Take 500 mg by mouth twice a day for 5 days."` and its Malay counterpart. The dose is
/// printed exactly as stored (no floating point), with its UCUM unit.
pub fn directions(dose_value: &str, dose_unit: &str, freq: &str, route_name: &str, days: Option<i64>) -> Bilingual {
    let how = route(route_name);
    let often = frequency(freq);
    let dose = format!("{} {}", dose_value.trim(), dose_unit.trim());
    let (mut en, mut ms) =
        (format!("Take {dose} {} {}", how.en, often.en), format!("Ambil {dose} {} {}", how.ms, often.ms));
    if let Some(d) = days.filter(|d| *d > 0) {
        let unit_en = if d == 1 { "day" } else { "days" };
        en.push_str(&format!(" for {d} {unit_en}"));
        ms.push_str(&format!(" selama {d} hari"));
    }
    en.push('.');
    ms.push('.');
    Bilingual { en, ms }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(dose: &str, unit: &str, freq: &str, route: &str, days: Option<i64>, en: &str, ms: &str) {
        let got = directions(dose, unit, freq, route, days);
        assert_eq!((got.en.as_str(), got.ms.as_str()), (en, ms));
    }

    #[test]
    fn directions_read_the_same_in_both_languages() {
        check(
            "500",
            "mg",
            "bd",
            "oral",
            Some(5),
            "Take 500 mg by mouth twice a day for 5 days.",
            "Ambil 500 mg melalui mulut dua kali sehari selama 5 hari.",
        );
        check(
            "120",
            "mg",
            "q6h",
            "oral",
            Some(1),
            "Take 120 mg by mouth every 6 hours for 1 day.",
            "Ambil 120 mg melalui mulut setiap 6 jam selama 1 hari.",
        );
        check(
            "5",
            "mg",
            "OD",
            "oral",
            None,
            "Take 5 mg by mouth once a day.",
            "Ambil 5 mg melalui mulut sekali sehari.",
        );
    }

    #[test]
    fn an_unknown_frequency_is_printed_as_written_not_guessed() {
        let got = directions("1", "tab", "alt die", "oral", None);
        assert!(got.en.contains("as directed (alt die)"), "{got:?}");
        assert!(got.ms.contains("seperti diarahkan (alt die)"), "{got:?}");
    }
}
