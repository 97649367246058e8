//! Stock at the counter: `GET /api/v1/pharmacy/inventory/check/{drug_code}` and
//! `POST /api/v1/pharmacy/inventory/reorder`.
//!
//! Stock comes from the inventory table, which dispensing decrements, not from the
//! formulary file: a check must reflect what was handed over a minute ago. Expiry, recalls
//! and the reorder rule are judged by `rxgate-checks` the same way as the `stock_check`
//! tool does for the formulary's lots.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use rxgate_checks::stock::{self, LotRecord, StockReport};
use rxgate_knowledge::{ProductId, Snapshot};
use rxgate_storage::{NewReorder, Tx};
use serde_json::{Value, json};

use super::middleware::{Caller, CorrelationId};
use super::{AppError, AppState};
use crate::audit::{self, AuditContext, AuditEvent};
use crate::wire;

/// The stored lots of a product, in the form the stock rules read.
async fn lots_of(tx: &mut Tx, code: &str) -> Result<Vec<LotRecord>, AppError> {
    Ok(tx
        .list_inventory(Some(code))
        .await?
        .into_iter()
        .map(|l| LotRecord {
            lot: l.lot,
            // A lot stored without an expiry never expires by date; recalls still apply.
            expiry: l.expiry.unwrap_or(chrono::NaiveDate::MAX),
            qty_on_hand: l.qty_on_hand,
            reorder_level: l.reorder_level,
        })
        .collect())
}

async fn report(
    tx: &mut Tx,
    snapshot: &Snapshot,
    drug: &str,
    today: chrono::NaiveDate,
) -> Result<StockReport, AppError> {
    let registry = &snapshot.registry;
    let Some(resolved) = registry.resolve(drug) else {
        return Err(AppError::NotFound { message: format!("`{drug}` is not in the formulary") });
    };
    let products: Vec<ProductId> = match resolved.product {
        Some(p) => vec![p],
        None => registry.products_of(resolved.generic).to_vec(),
    };
    let mut out = Vec::with_capacity(products.len());
    for p in products {
        let lots = lots_of(tx, &registry.product(p).code).await?;
        out.push(stock::product_stock_from(registry, p, &lots, today));
    }
    Ok(StockReport {
        generic: Some(registry.generic(resolved.generic).inn.clone()),
        products: out,
        unknown: Vec::new(),
    })
}

/// `GET /api/v1/pharmacy/inventory/check/{drug_code}`: usable stock per product of a drug
/// (generic, brand, product code or GTIN), as the `stock_check` tool answers it.
pub(super) async fn check(
    State(state): State<AppState>,
    Path(drug_code): Path<String>,
) -> Result<Json<Value>, AppError> {
    let snapshot = state.knowledge.current();
    let mut tx = state.storage.begin_read().await?;
    let report = report(&mut tx, &snapshot, &drug_code, chrono::Local::now().date_naive()).await?;
    drop(tx);
    let out = wire::generics::stock_output(&snapshot, report).map_err(|e| AppError::Internal(anyhow::anyhow!(e)))?;
    Ok(Json(out.structured))
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReorderBody {
    /// One product: its code, GTIN or MAL number, or a drug name with a single product.
    product: String,
    /// How many to order. Default: enough to bring usable stock to twice the reorder level.
    quantity: Option<i64>,
    reason: Option<String>,
}

/// `POST /api/v1/pharmacy/inventory/reorder`: records a reorder request for one product
/// (audited) and answers 201 with it and the stock it was based on.
pub(super) async fn reorder(
    State(state): State<AppState>,
    Caller(principal): Caller,
    CorrelationId(correlation_id): CorrelationId,
    Json(body): Json<ReorderBody>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let snapshot = state.knowledge.current();
    let registry = &snapshot.registry;
    let resolved = registry
        .resolve(&body.product)
        .ok_or_else(|| AppError::NotFound { message: format!("`{}` is not in the formulary", body.product) })?;
    let product = match resolved.product {
        Some(p) => p,
        None => match registry.products_of(resolved.generic) {
            [only] => *only,
            several => {
                return Err(AppError::BadRequest {
                    message: format!("`{}` has {} products; name one by its code", body.product, several.len()),
                    details: Some(json!({
                        "products": several.iter().map(|p| registry.product(*p).code.as_str()).collect::<Vec<_>>()
                    })),
                });
            }
        },
    };
    if let Some(q) = body.quantity
        && q <= 0
    {
        return Err(AppError::bad_request(format!("`quantity` must be a positive whole number, not {q}")));
    }
    let code = registry.product(product).code.clone();
    let mut tx = state.storage.begin().await?;
    let lots = lots_of(&mut tx, &code).await?;
    let stock = stock::product_stock_from(registry, product, &lots, chrono::Local::now().date_naive());
    let level = lots.iter().map(|l| l.reorder_level).max().unwrap_or(0);
    let quantity = match body.quantity {
        Some(q) => q,
        None => {
            let wanted = 2 * level - stock.qty_on_hand;
            if wanted <= 0 {
                return Err(AppError::Rejected {
                    code: "stock_sufficient",
                    message: format!(
                        "{code} has {} usable on hand, above its reorder level {level}; give a `quantity` to order anyway",
                        stock.qty_on_hand
                    ),
                    details: None,
                });
            }
            wanted
        }
    };
    let reason = match body.reason.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
        Some(r) => r.to_string(),
        None if stock.reorder => format!("usable stock {} at or below reorder level {level}", stock.qty_on_hand),
        None => return Err(AppError::bad_request("stock is above its reorder level: say why in `reason`")),
    };
    let stored = tx
        .insert_reorder(&NewReorder {
            product: code.clone(),
            quantity,
            reason,
            on_hand: stock.qty_on_hand.max(0),
            requested_by: principal.subject.clone(),
        })
        .await?;
    let record = json!({
        "reorder_id": stored.id, "product": stored.product, "quantity": stored.quantity, "reason": stored.reason,
        "on_hand": stored.on_hand, "status": stored.status, "requested_by": stored.requested_by,
        "created_at": stored.created_at,
    });
    let ctx = AuditContext { principal: &principal, correlation_id: &correlation_id };
    let event = AuditEvent {
        action: "reorder_requested",
        rx_id: None,
        line_no: None,
        before: String::new(),
        after: record.to_string(),
    };
    audit::append(&mut tx, &ctx, event).await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(
            json!({"reorder": record, "stock": {"product": code, "qty_on_hand": stock.qty_on_hand, "reorder": stock.reorder}}),
        ),
    ))
}
