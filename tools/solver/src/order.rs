//! The medication order as a system of equations, after GenPRES' GenORDER.
//!
//! One substance (the item) in one orderable (a liquid or a countable form such as a tablet
//! or suppository). The caller fixes any subset of the [`OrderVariable`]s — a dose rule, the
//! patient's weight, the product's concentration, a frequency — and [`Order::solve`] gives
//! the rest, including a volume a nurse can measure or a tablet count a patient can take.
//!
//! Equations by schedule (`S` substance, `V` orderable unit, `T` time):
//! - every quantity schedule: `dose_qty = dose_qty_per_kg * weight`,
//!   `dose_qty = dose_qty_per_m2 * bsa`, `dose_qty = concentration * orderable_qty`;
//! - discontinuous and timed add per time: `dose_per_time = dose_qty * frequency`,
//!   `dose_per_time = dose_per_time_per_kg * weight` (and per m²),
//!   `orderable_per_time = orderable_qty * frequency`;
//! - timed schedules add the administration: `dose_qty = dose_rate * admin_time`,
//!   `orderable_qty = orderable_rate * admin_time`;
//! - timed and continuous schedules add rates: `dose_rate = dose_rate_per_kg * weight`
//!   (and per m²), `dose_rate = concentration * orderable_rate`.
//!
//! Per-kg and per-m² equations are included only when the caller sets one of their
//! variables, so an order dosed by weight does not come back `partial` for lack of a BSA.

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::ToPrimitive;
use rxgate_units::{Number, Unit};

use crate::propagate::{Solution, SolveConfig, Status, solve};
use crate::range::Range;
use crate::system::{System, SystemError, VariableSpec};

/// How the order is given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Schedule {
    /// A single dose.
    Once,
    /// A single dose given over an administration time (a loading infusion).
    OnceTimed,
    /// Repeated doses at a frequency.
    Discontinuous,
    /// Repeated doses, each infused over an administration time.
    Timed,
    /// A continuous infusion at a rate.
    Continuous,
}

impl Schedule {
    fn has_quantity(self) -> bool {
        !matches!(self, Schedule::Continuous)
    }

    fn has_frequency(self) -> bool {
        matches!(self, Schedule::Discontinuous | Schedule::Timed)
    }

    fn has_admin_time(self) -> bool {
        matches!(self, Schedule::OnceTimed | Schedule::Timed)
    }

    fn has_rate(self) -> bool {
        matches!(self, Schedule::OnceTimed | Schedule::Timed | Schedule::Continuous)
    }
}

/// What is measured out per dose.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Formulation {
    /// A liquid measured in mL: 0.1 mL steps up to 5 mL, 0.5 mL steps above (an oral or
    /// IV syringe), rates in 0.1 mL/h steps (a pump).
    Liquid,
    /// A countable form (`{tbl}`, `{supp}`, `{caps}`) that may be split into `fractions`
    /// of one unit (e.g. 1, 1/2, 1/4); use `[1]` for forms that cannot be split.
    Countable {
        /// The annotation unit, such as `{tbl}`.
        form: Unit,
        /// Allowed parts of one unit.
        fractions: Vec<Number>,
    },
}

/// Units in which the order's variables are expressed; values given in other units of the
/// same group are converted exactly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderUnits {
    /// Substance unit: `mg`, `ug`, `mmol`, `[iU]`…
    pub substance: Unit,
    /// Time unit of frequencies and per-time doses, usually `d`.
    pub frequency_time: Unit,
    /// Time unit of rates, usually `h`.
    pub rate_time: Unit,
    /// Unit of the administration time, usually `min`.
    pub admin_time: Unit,
}

impl Default for OrderUnits {
    fn default() -> OrderUnits {
        let unit = |code: &str| Unit::parse(code).unwrap_or_else(|_| Unit::one());
        OrderUnits { substance: unit("mg"), frequency_time: unit("d"), rate_time: unit("h"), admin_time: unit("min") }
    }
}

/// The standard variables of an order (GenPRES `OrderVariable`s).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OrderVariable {
    /// Patient weight (kg).
    Weight,
    /// Patient body surface area (m2).
    Bsa,
    /// Doses per time.
    Frequency,
    /// Time over which one dose is given.
    AdminTime,
    /// Substance per orderable unit (mg/mL, mg/{tbl}).
    Concentration,
    /// Substance per dose.
    DoseQuantity,
    /// Substance per dose per kg.
    DoseQuantityPerKg,
    /// Substance per dose per m².
    DoseQuantityPerM2,
    /// Substance per time (dose × frequency).
    DosePerTime,
    /// Substance per time per kg.
    DosePerTimePerKg,
    /// Substance per time per m².
    DosePerTimePerM2,
    /// Substance per rate time (infusions).
    DoseRate,
    /// Substance rate per kg.
    DoseRatePerKg,
    /// Substance rate per m².
    DoseRatePerM2,
    /// Orderable per dose: the volume to measure or the tablets to take.
    OrderableQuantity,
    /// Orderable per time.
    OrderablePerTime,
    /// Orderable rate (pump setting).
    OrderableRate,
}

impl OrderVariable {
    /// Every order variable.
    pub const ALL: [OrderVariable; 17] = [
        OrderVariable::Weight,
        OrderVariable::Bsa,
        OrderVariable::Frequency,
        OrderVariable::AdminTime,
        OrderVariable::Concentration,
        OrderVariable::DoseQuantity,
        OrderVariable::DoseQuantityPerKg,
        OrderVariable::DoseQuantityPerM2,
        OrderVariable::DosePerTime,
        OrderVariable::DosePerTimePerKg,
        OrderVariable::DosePerTimePerM2,
        OrderVariable::DoseRate,
        OrderVariable::DoseRatePerKg,
        OrderVariable::DoseRatePerM2,
        OrderVariable::OrderableQuantity,
        OrderVariable::OrderablePerTime,
        OrderVariable::OrderableRate,
    ];

    /// The variable's name in the solver system and in results.
    pub fn name(self) -> &'static str {
        match self {
            OrderVariable::Weight => "weight",
            OrderVariable::Bsa => "bsa",
            OrderVariable::Frequency => "frequency",
            OrderVariable::AdminTime => "admin_time",
            OrderVariable::Concentration => "concentration",
            OrderVariable::DoseQuantity => "dose_qty",
            OrderVariable::DoseQuantityPerKg => "dose_qty_per_kg",
            OrderVariable::DoseQuantityPerM2 => "dose_qty_per_m2",
            OrderVariable::DosePerTime => "dose_per_time",
            OrderVariable::DosePerTimePerKg => "dose_per_time_per_kg",
            OrderVariable::DosePerTimePerM2 => "dose_per_time_per_m2",
            OrderVariable::DoseRate => "dose_rate",
            OrderVariable::DoseRatePerKg => "dose_rate_per_kg",
            OrderVariable::DoseRatePerM2 => "dose_rate_per_m2",
            OrderVariable::OrderableQuantity => "orderable_qty",
            OrderVariable::OrderablePerTime => "orderable_per_time",
            OrderVariable::OrderableRate => "orderable_rate",
        }
    }

    fn adjustment(self) -> Option<Adjustment> {
        match self {
            OrderVariable::Weight
            | OrderVariable::DoseQuantityPerKg
            | OrderVariable::DosePerTimePerKg
            | OrderVariable::DoseRatePerKg => Some(Adjustment::Weight),
            OrderVariable::Bsa
            | OrderVariable::DoseQuantityPerM2
            | OrderVariable::DosePerTimePerM2
            | OrderVariable::DoseRatePerM2 => Some(Adjustment::Bsa),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Adjustment {
    Weight,
    Bsa,
}

/// An order: schedule, formulation, units and what the caller has fixed so far.
#[derive(Clone, Debug)]
pub struct Order {
    schedule: Schedule,
    formulation: Formulation,
    units: OrderUnits,
    fixed: Vec<(OrderVariable, VariableSpec)>,
}

/// Above this volume a syringe is read in 0.5 mL steps.
const FINE_VOLUME_LIMIT_ML: i64 = 5;

impl Order {
    /// A new order in the default units (mg, per day, per hour, minutes).
    pub fn new(schedule: Schedule, formulation: Formulation) -> Order {
        Order { schedule, formulation, units: OrderUnits::default(), fixed: Vec::new() }
    }

    /// Uses other units (for example `ug` as the substance unit).
    pub fn with_units(mut self, units: OrderUnits) -> Order {
        self.units = units;
        self
    }

    /// Fixes or limits one variable. Specs without a unit are read in the variable's unit.
    pub fn set(mut self, variable: OrderVariable, spec: VariableSpec) -> Order {
        self.fixed.push((variable, spec));
        self
    }

    fn orderable_unit(&self) -> Unit {
        match &self.formulation {
            Formulation::Liquid => millilitre(),
            Formulation::Countable { form, .. } => form.clone(),
        }
    }

    /// The unit of a variable in this order.
    pub fn unit_of(&self, variable: OrderVariable) -> Unit {
        let u = &self.units;
        let per = |a: &Unit, b: &Unit| a.divide(b).0;
        let kg = Unit::parse("kg").unwrap_or_else(|_| Unit::one());
        let m2 = Unit::parse("m2").unwrap_or_else(|_| Unit::one());
        let orderable = self.orderable_unit();
        match variable {
            OrderVariable::Weight => kg,
            OrderVariable::Bsa => m2,
            OrderVariable::Frequency => Unit::one().divide(&u.frequency_time).0,
            OrderVariable::AdminTime => u.admin_time.clone(),
            OrderVariable::Concentration => per(&u.substance, &orderable),
            OrderVariable::DoseQuantity => u.substance.clone(),
            OrderVariable::DoseQuantityPerKg => per(&u.substance, &kg),
            OrderVariable::DoseQuantityPerM2 => per(&u.substance, &m2),
            OrderVariable::DosePerTime => per(&u.substance, &u.frequency_time),
            OrderVariable::DosePerTimePerKg => per(&per(&u.substance, &kg), &u.frequency_time),
            OrderVariable::DosePerTimePerM2 => per(&per(&u.substance, &m2), &u.frequency_time),
            OrderVariable::DoseRate => per(&u.substance, &u.rate_time),
            OrderVariable::DoseRatePerKg => per(&per(&u.substance, &kg), &u.rate_time),
            OrderVariable::DoseRatePerM2 => per(&per(&u.substance, &m2), &u.rate_time),
            OrderVariable::OrderableQuantity => orderable,
            OrderVariable::OrderablePerTime => per(&orderable, &u.frequency_time),
            OrderVariable::OrderableRate => per(&orderable, &u.rate_time),
        }
    }

    fn equations(&self) -> Vec<String> {
        let uses = |adjustment: Adjustment| self.fixed.iter().any(|(v, _)| v.adjustment() == Some(adjustment));
        let (by_weight, by_bsa) = (uses(Adjustment::Weight), uses(Adjustment::Bsa));
        let s = self.schedule;
        let mut equations = Vec::new();
        let mut add = |condition: bool, text: &str| {
            if condition {
                equations.push(text.to_owned());
            }
        };
        add(s.has_quantity(), "dose_qty = concentration * orderable_qty");
        add(s.has_quantity() && by_weight, "dose_qty = dose_qty_per_kg * weight");
        add(s.has_quantity() && by_bsa, "dose_qty = dose_qty_per_m2 * bsa");
        add(s.has_frequency(), "dose_per_time = dose_qty * frequency");
        add(s.has_frequency(), "orderable_per_time = orderable_qty * frequency");
        add(s.has_frequency() && by_weight, "dose_per_time = dose_per_time_per_kg * weight");
        add(s.has_frequency() && by_bsa, "dose_per_time = dose_per_time_per_m2 * bsa");
        add(s.has_admin_time(), "dose_qty = dose_rate * admin_time");
        add(s.has_admin_time(), "orderable_qty = orderable_rate * admin_time");
        add(s.has_rate(), "dose_rate = concentration * orderable_rate");
        add(s.has_rate() && by_weight, "dose_rate = dose_rate_per_kg * weight");
        add(s.has_rate() && by_bsa, "dose_rate = dose_rate_per_m2 * bsa");
        equations
    }

    /// The order as a solver system: variables declared in their units, the caller's
    /// specs applied, and the measurable grid of the formulation.
    pub fn system(&self) -> Result<System, SystemError> {
        let mut system = System::new();
        let equations = self.equations();
        let used: Vec<OrderVariable> = OrderVariable::ALL
            .into_iter()
            .filter(|v| equations.iter().any(|eq| eq.split([' ', '=', '*']).any(|token| token == v.name())))
            .collect();
        for variable in &used {
            let unit = self.unit_of(*variable);
            system.add_variable(variable.name(), VariableSpec::new().unit(unit))?;
        }
        for equation in &equations {
            system.add_equation(equation)?;
        }
        for (variable, spec) in &self.fixed {
            if !used.contains(variable) {
                return Err(SystemError::InvalidSpec {
                    variable: variable.name().to_owned(),
                    message: format!("is not part of a {:?} order", self.schedule),
                });
            }
            system.restrict(variable.name(), spec.clone())?;
        }
        let orderable = self.orderable_unit();
        let has_quantity = used.contains(&OrderVariable::OrderableQuantity);
        match &self.formulation {
            Formulation::Liquid => {
                if has_quantity {
                    system.restrict(
                        OrderVariable::OrderableQuantity.name(),
                        VariableSpec::new().unit(orderable.clone()).increment(tenth()).min_exclusive(Number::zero()),
                    )?;
                }
                if used.contains(&OrderVariable::OrderableRate) {
                    system.restrict(
                        OrderVariable::OrderableRate.name(),
                        VariableSpec::new()
                            .unit(millilitre().divide(&self.units.rate_time).0)
                            .increment(tenth())
                            .min_exclusive(Number::zero()),
                    )?;
                }
            }
            Formulation::Countable { form, fractions } => {
                if has_quantity {
                    let spec = fractions
                        .iter()
                        .fold(VariableSpec::new().unit(form.clone()), |spec, fraction| spec.increment(fraction.clone()))
                        .min_exclusive(Number::zero());
                    system.restrict(OrderVariable::OrderableQuantity.name(), spec)?;
                }
            }
        }
        Ok(system)
    }

    /// Solves the order. For liquids, the volume to measure is then made measurable: above
    /// 5 mL only 0.5 mL steps remain; a range that spans 5 mL becomes the value set of 0.1 mL
    /// steps up to 5 mL and 0.5 mL steps above (when it is not too large). Notes say which.
    pub fn solve(&self, config: &SolveConfig) -> Result<Solution, SystemError> {
        let system = self.system()?;
        let solution = solve(&system, config)?;
        if self.formulation != Formulation::Liquid || matches!(solution.status, Status::Infeasible { .. }) {
            return Ok(solution);
        }
        let name = OrderVariable::OrderableQuantity.name();
        let Some(volume) = solution.range(name).cloned() else {
            return Ok(solution);
        };
        let limit = Number::from_integer(FINE_VOLUME_LIMIT_ML);
        let (spec, note) = match (volume.min(), volume.max()) {
            (_, Some(max)) if max.value <= limit => return Ok(solution),
            (Some(min), _) if min.value > limit => (
                VariableSpec::new().unit(millilitre()).increment(half()),
                format!("`{name}` is above {FINE_VOLUME_LIMIT_ML} mL: measured in 0.5 mL steps"),
            ),
            (_, None) => {
                return Ok(with_note(
                    solution,
                    format!("`{name}` has no maximum: it stays in 0.1 mL steps, also above {FINE_VOLUME_LIMIT_ML} mL"),
                ));
            }
            (_, Some(_)) => match measurable_volumes(&volume, config.max_set_size) {
                Some(values) => (
                    VariableSpec::new().unit(millilitre()).values(values),
                    format!(
                        "`{name}` spans {FINE_VOLUME_LIMIT_ML} mL: 0.1 mL steps up to {FINE_VOLUME_LIMIT_ML} mL, 0.5 mL steps above"
                    ),
                ),
                None => {
                    return Ok(with_note(
                        solution,
                        format!(
                            "`{name}` spans too many volumes to list: it stays in 0.1 mL steps, also above {FINE_VOLUME_LIMIT_ML} mL"
                        ),
                    ));
                }
            },
        };
        let notes = solution.notes.clone();
        let mut system = solution.into_system();
        system.restrict(name, spec)?;
        let mut measurable = solve(&system, config)?;
        let mut all_notes = notes;
        all_notes.push(note);
        all_notes.append(&mut measurable.notes);
        measurable.notes = all_notes;
        Ok(measurable)
    }
}

fn with_note(mut solution: Solution, note: String) -> Solution {
    solution.notes.push(note);
    solution
}

/// Volumes a syringe can measure within `range` (in mL): multiples of 0.1 mL up to 5 mL and
/// of 0.5 mL above. `None` when the range has no upper bound or more than `limit` values.
fn measurable_volumes(range: &Range, limit: usize) -> Option<Vec<Number>> {
    let max = range.max()?.value.as_ratio();
    let ten = BigRational::from_integer(BigInt::from(10));
    let two = BigRational::from_integer(BigInt::from(2));
    let low = match range.min() {
        Some(min) => (min.value.as_ratio() * &ten).ceil().to_integer().to_i64()?.max(1),
        None => 1,
    };
    let fine_top = FINE_VOLUME_LIMIT_ML * 10;
    let coarse_top = (max * &two).floor().to_integer().to_i64()?;
    let fine = (low..=fine_top).filter_map(|k| Number::from_fraction(k, 10));
    // The first half-millilitre step above the limit (5.5 mL = 11/2).
    let coarse_start = FINE_VOLUME_LIMIT_ML * 2 + 1;
    let count =
        usize::try_from(fine_top - low + 1).unwrap_or(0) + usize::try_from(coarse_top - coarse_start + 1).unwrap_or(0);
    if count > limit {
        return None;
    }
    let coarse = (coarse_start..=coarse_top).filter_map(|k| Number::from_fraction(k, 2));
    Some(fine.chain(coarse).filter(|v| range.contains(v)).collect())
}

fn half() -> Number {
    Number::from_fraction(1, 2).unwrap_or_else(Number::one)
}

fn millilitre() -> Unit {
    Unit::parse("mL").unwrap_or_else(|_| Unit::one())
}

fn tenth() -> Number {
    Number::from_fraction(1, 10).unwrap_or_else(Number::one)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_schedule_has_its_equations() {
        let order = |schedule| {
            Order::new(schedule, Formulation::Liquid).set(OrderVariable::Weight, VariableSpec::new()).equations().len()
        };
        assert_eq!(order(Schedule::Once), 2);
        assert_eq!(order(Schedule::OnceTimed), 6);
        assert_eq!(order(Schedule::Discontinuous), 5);
        assert_eq!(order(Schedule::Timed), 9);
        assert_eq!(order(Schedule::Continuous), 2);
    }

    #[test]
    fn variables_carry_clinical_units() {
        let order = Order::new(Schedule::Timed, Formulation::Liquid);
        for (variable, unit) in [
            (OrderVariable::DosePerTimePerKg, "mg/kg/d"),
            (OrderVariable::DoseRatePerKg, "mg/kg/h"),
            (OrderVariable::Concentration, "mg/mL"),
            (OrderVariable::Frequency, "/d"),
            (OrderVariable::OrderableRate, "mL/h"),
            (OrderVariable::DoseQuantityPerM2, "mg/m2"),
        ] {
            assert_eq!(order.unit_of(variable).to_string(), unit, "{variable:?}");
        }
    }
}
