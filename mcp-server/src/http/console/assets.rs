//! The console's files, compiled in from `hitl-ui/` so that `rxgate serve` needs no build
//! step and no files beside it. Setting `RXGATE_CONSOLE_DIR` serves them from that folder
//! instead, read on every request, so the page can be edited without a rebuild.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::http::AppError;

/// `(name, content type, bytes)` of every file the console loads.
const FILES: &[(&str, &str, &str)] = &[
    ("index.html", "text/html; charset=utf-8", include_str!("../../../../hitl-ui/index.html")),
    ("style.css", "text/css; charset=utf-8", include_str!("../../../../hitl-ui/style.css")),
    ("app.js", "text/javascript; charset=utf-8", include_str!("../../../../hitl-ui/app.js")),
    ("api.js", "text/javascript; charset=utf-8", include_str!("../../../../hitl-ui/api.js")),
    ("card.js", "text/javascript; charset=utf-8", include_str!("../../../../hitl-ui/card.js")),
    ("i18n.js", "text/javascript; charset=utf-8", include_str!("../../../../hitl-ui/i18n.js")),
    ("scanner.js", "text/javascript; charset=utf-8", include_str!("../../../../hitl-ui/scanner.js")),
    ("sound.js", "text/javascript; charset=utf-8", include_str!("../../../../hitl-ui/sound.js")),
    ("integration.html", "text/html; charset=utf-8", include_str!("../../../../hitl-ui/integration.html")),
    ("integration.js", "text/javascript; charset=utf-8", include_str!("../../../../hitl-ui/integration.js")),
    ("chemo.html", "text/html; charset=utf-8", include_str!("../../../../hitl-ui/chemo.html")),
    ("chemo.js", "text/javascript; charset=utf-8", include_str!("../../../../hitl-ui/chemo.js")),
];

/// Only our own scripts and styles run, the page talks only to this server, and no other
/// site may frame it (clickjacking an approve button). `blob:` lets a printed label open.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
     connect-src 'self'; object-src 'none'; frame-src blob:; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

fn serve(name: &str) -> Result<Response, AppError> {
    let Some((name, content_type, compiled)) = FILES.iter().find(|(n, _, _)| *n == name) else {
        return Err(AppError::NotFound { message: format!("no console file `{name}`") });
    };
    let body = match std::env::var_os("RXGATE_CONSOLE_DIR") {
        Some(dir) => std::fs::read_to_string(std::path::Path::new(&dir).join(name))
            .map_err(|e| AppError::Internal(anyhow::anyhow!("RXGATE_CONSOLE_DIR/{name}: {e}")))?,
        None => (*compiled).to_string(),
    };
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    // A new binary may bring new files: always revalidate, never run a stale script.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}

/// `GET /`: the console page.
pub(super) async fn index() -> Result<Response, AppError> {
    serve("index.html")
}

/// `GET /console/{file}`: its scripts and styles.
pub(super) async fn file(Path(name): Path<String>) -> Result<Response, AppError> {
    serve(&name)
}
