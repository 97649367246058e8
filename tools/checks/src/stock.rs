//! Stock on hand per product, counting only lots that have not expired.

use chrono::NaiveDate;
use rxgate_knowledge::{ProductId, Registry};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LotStock {
    pub lot: String,
    pub expiry: NaiveDate,
    pub qty_on_hand: i64,
    pub expired: bool,
    pub recalled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductStock {
    pub product: String,
    pub brand: String,
    pub strength: String,
    pub form: String,
    pub gtin: Option<String>,
    /// Usable quantity: lots neither expired nor recalled.
    pub qty_on_hand: i64,
    /// Earliest expiry among usable lots.
    pub expiry: Option<NaiveDate>,
    pub reorder: bool,
    pub lots: Vec<LotStock>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StockReport {
    pub generic: Option<String>,
    pub products: Vec<ProductStock>,
    pub unknown: Vec<String>,
}

pub fn check(reg: &Registry, drug: &str, today: NaiveDate) -> StockReport {
    let Some(resolved) = reg.resolve(drug) else {
        return StockReport { generic: None, products: Vec::new(), unknown: vec![drug.to_string()] };
    };
    let products: Vec<ProductId> = match resolved.product {
        Some(p) => vec![p],
        None => reg.products_of(resolved.generic).to_vec(),
    };
    let products = products.into_iter().map(|p| product_stock(reg, p, today)).collect();
    StockReport { generic: Some(reg.generic(resolved.generic).inn.clone()), products, unknown: Vec::new() }
}

/// One lot as a stock source holds it: the registry's formulary file, or the gateway's
/// inventory table (which dispensing decrements).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LotRecord {
    pub lot: String,
    pub expiry: NaiveDate,
    pub qty_on_hand: i64,
    pub reorder_level: i64,
}

/// Stock of a product from the registry's own lots.
pub fn product_stock(reg: &Registry, p: ProductId, today: NaiveDate) -> ProductStock {
    let lots: Vec<LotRecord> = reg
        .stock_of(p)
        .map(|s| LotRecord {
            lot: s.lot.clone(),
            expiry: s.expiry,
            qty_on_hand: s.qty_on_hand,
            reorder_level: s.reorder_level,
        })
        .collect();
    product_stock_from(reg, p, &lots, today)
}

/// Stock of a product from lots held elsewhere; expiry and recalls are judged here, the
/// same way for every source.
pub fn product_stock_from(reg: &Registry, p: ProductId, records: &[LotRecord], today: NaiveDate) -> ProductStock {
    let product = reg.product(p);
    let lots: Vec<LotStock> = records
        .iter()
        .map(|s| LotStock {
            lot: s.lot.clone(),
            expiry: s.expiry,
            qty_on_hand: s.qty_on_hand,
            expired: s.expiry < today,
            recalled: reg.recall(p, &s.lot).is_some(),
        })
        .collect();
    let usable = || lots.iter().filter(|l| !l.expired && !l.recalled);
    let qty: i64 = usable().map(|l| l.qty_on_hand).sum();
    // Reorder when usable stock is at or below the product's reorder level (the highest
    // written, should lots disagree).
    let level = records.iter().map(|s| s.reorder_level).max().unwrap_or(0);
    ProductStock {
        product: product.code.clone(),
        brand: product.brand.clone(),
        strength: product.strength.clone(),
        form: product.form.clone(),
        gtin: product.gtin.clone(),
        qty_on_hand: qty,
        expiry: usable().map(|l| l.expiry).min(),
        reorder: qty <= level,
        lots,
    }
}
