//! A seeded, reproducible demo jurisdiction on a real province's units: the upper-level
//! bodies (departments and their divisions at province, prefecture and county), one year
//! of demands of every kind with realistic titles, dates and costs, a set of demo
//! accounts, the six cases of DESIGN.md §1 staged as data on one real county, and one
//! clear case of each practice the burden-reduction rules forbid (a research visit that is
//! an inspection in disguise, an inspection outside the plan, a one-vote veto …) on the
//! same county, all recorded in [`Scenarios`]. Demands carry the flags and speech lengths
//! the rules read, at realistic rates.
//!
//! Pure: [`generate`] returns domain values and touches no database or clock. The same
//! units, province, year, seed and "today" always give the same output, ids included
//! (they are UUIDv7 built from the seeded RNG, timed inside the demo year).

mod accounts;
mod annual;
mod bodies;
mod calendar;
mod catalog;
mod directives;
mod geo;
mod ledger;
mod practice;
mod scenarios;

use chrono::{NaiveDate, NaiveDateTime};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tongxin_domain::{Body, Demand, Unit, User};
use uuid::Uuid;

pub use directives::DemoDirective;
pub use scenarios::{
    AnnualExcess, Cascade, DisguisedInspection, DuplicateField, GuidanceVisits, IndicatorLoad, Scenarios,
    ThreeDivisions, WorkGroup,
};

/// The password of every demo account. Documented, public and only for demos.
pub const DEMO_PASSWORD: &str = "tongxin-demo-2026";

/// A demo account and its clear-text password; `user.password_hash` is left empty for
/// the caller to fill with `tongxin_domain::account::hash_password`.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoAccount {
    pub user: User,
    pub password: String,
}

/// Everything the demo puts in the store.
#[derive(Debug, Clone, PartialEq)]
pub struct Demo {
    /// Every body; a division comes after its department.
    pub bodies: Vec<Body>,
    /// The year's demands, sorted by start time (then id).
    pub demands: Vec<Demand>,
    pub accounts: Vec<DemoAccount>,
    pub scenarios: Scenarios,
    /// Directives on the scenario county (issue 6): some in force, the road example as a
    /// draft; to be stored in order.
    pub directives: Vec<DemoDirective>,
}

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoOptions {
    /// Two-digit province code (`"35"` for 福建省).
    pub province: String,
    pub year: i32,
    pub seed: u64,
    /// Demands ending before this day are held (or cancelled), those starting after it
    /// planned. Default: 1 July of `year`.
    pub today: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DemoError {
    #[error("province code '{0}' must be two digits")]
    BadProvince(String),
    #[error("year {0} is outside the supported range 2000–2100")]
    BadYear(i32),
    #[error("the units given contain no province with code {0}")]
    MissingProvince(String),
    #[error("province {0} has no county with townships and villages to stage the demo on")]
    TooSmall(String),
}

/// The demo for `province` in `year`, "today" being 1 July. `units` may hold more than
/// the province (e.g. the whole country); the others are ignored.
pub fn generate(units: &[Unit], province: &str, year: i32, seed: u64) -> Result<Demo, DemoError> {
    generate_with(units, &DemoOptions { province: province.to_owned(), year, seed, today: None })
}

/// The demo as `options` say.
pub fn generate_with(units: &[Unit], options: &DemoOptions) -> Result<Demo, DemoError> {
    let province = options.province.as_str();
    if province.len() != 2 || !province.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DemoError::BadProvince(province.to_owned()));
    }
    if !(2000..=2100).contains(&options.year) {
        return Err(DemoError::BadYear(options.year));
    }
    let cal = calendar::Calendar::new(options.year).ok_or(DemoError::BadYear(options.year))?;
    let today = options.today.unwrap_or_else(|| cal.date(7, 1));
    let geo = geo::Geo::new(units, province)?;
    let stage = geo.stage()?;
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let bodies = bodies::build(&mut rng, &geo, &stage, &cal);
    let accounts = accounts::build(&mut rng, &geo, &stage, &bodies, &cal);
    let demand_rng = ChaCha8Rng::seed_from_u64(rng.random());
    let mut g = ledger::Gen {
        rng: demand_rng,
        cal,
        today,
        geo: &geo,
        bodies: &bodies,
        demands: Vec::new(),
        staged: Vec::new(),
    };
    let scenarios = scenarios::stage_all(&mut g, &stage);
    let directives = directives::build(&geo, &stage, &bodies, today);
    g.background();
    let mut demands = g.demands;
    demands.sort_by(|a, b| a.starts_at.cmp(&b.starts_at).then(a.id.cmp(&b.id)));
    Ok(Demo { bodies: bodies.all, demands, accounts, scenarios, directives })
}

/// A UUIDv7 whose timestamp is `at` (China time) and whose other bits come from `rng`.
pub(crate) fn uuid_at(rng: &mut ChaCha8Rng, at: NaiveDateTime) -> Uuid {
    let utc = at - chrono::Duration::hours(8);
    let millis = u64::try_from(utc.and_utc().timestamp_millis()).unwrap_or(0);
    let random: [u8; 10] = rng.random();
    uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid()
}
