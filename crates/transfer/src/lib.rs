//! Import and export of units, bodies and demands as CSV, XLSX and JSON, with no database.
//!
//! An import is two pure steps: [`read_table`] turns a file's bytes into a [`Table`]
//! (decoding UTF-8 or GB18030 CSV, the first XLSX worksheet or a JSON array of objects),
//! then [`import_units`], [`import_bodies`] or [`import_demands`] turn the table into
//! domain values, or into [`ImportErrors`] holding every problem found, each naming the
//! file, row, column and reason in Chinese and English. On any problem no value is
//! returned at all; the caller writes all or nothing through the store.
//!
//! The importers check references against what the caller already stores, passed as
//! [`Known`]. The national unit list has some 665,000 units, so the caller need not load
//! it all: [`references`] lists the unit codes and body ids a table mentions, and the
//! caller fills `Known` with just those (see [`References`]).
//!
//! The exporters ([`export_units`], [`export_bodies`], [`export_demands`]) write the same
//! columns, so that export → import gives back equal values. Columns are documented on
//! [`UNIT_COLUMNS`], [`BODY_COLUMNS`] and [`DEMAND_COLUMNS`].
//!
//! Round trips are exact, with these limits:
//! - text cells are trimmed on import (spreadsheets are full of stray spaces), so text with
//!   leading or trailing whitespace comes back trimmed;
//! - in CSV and XLSX a list is one cell joined by `;`, so a field name holding `;` or `；`
//!   comes back split (JSON keeps lists as arrays and is exact);
//! - XLSX stores date-times to the millisecond and at most 32,767 characters per cell
//!   (a longer cell is an [`ExportError`]);
//! - a demand's `revision` is not exported: an import starts at revision 1.
//!
//! Spreadsheet text starting with `=`, `+`, `-`, `@`, tab or CR is written with a leading
//! apostrophe against formula injection and restored on import (see [`escape`]).

mod bodies;
mod columns;
mod demands;
mod error;
pub mod escape;
mod export;
mod table;
mod units;
mod users;

use std::collections::{BTreeSet, HashMap, HashSet};

use tongxin_domain::{Body, BodyKind, UnitCode};
use uuid::Uuid;

pub use bodies::{BODY_COLUMNS, export_bodies, import_bodies};
pub use columns::ColumnSpec;
pub use demands::{DEMAND_COLUMNS, export_demands, import_demands};
pub use error::{ExportError, FormatError, ImportErrors, MAX_ERRORS, RowError, RowLabel};
pub use table::{Cell, Format, Row, Table, decode_text, read_table, read_table_as};
pub use units::{UNIT_COLUMNS, export_units, import_units};
pub use users::{AccountRow, USER_COLUMNS, import_users};

/// What the store already holds that an import may refer to.
///
/// - `units`: unit codes that exist. Units import: parents of the file's units that are
///   not in the file itself must be here. Bodies import: every body's unit. Demands
///   import: every target.
/// - `bodies`: bodies that parents (bodies import) and source bodies (demands import)
///   may name, by id or by name at their unit.
///
/// Fill it from [`references`] to avoid loading everything.
#[derive(Debug, Clone, Default)]
pub struct Known {
    pub units: HashSet<UnitCode>,
    pub bodies: Vec<Body>,
}

/// What kind of rows a table holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Entity {
    Units,
    Bodies,
    Demands,
    Users,
}

/// The stored things a table refers to. The caller builds [`Known`] as:
/// `units` = those of `unit_codes` that exist; `bodies` = the bodies with ids in
/// `body_ids` plus every body sitting at a unit in `bodies_at` (duplicates are fine).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct References {
    pub unit_codes: BTreeSet<UnitCode>,
    pub body_ids: BTreeSet<Uuid>,
    pub bodies_at: BTreeSet<UnitCode>,
}

/// Lists what `table` refers to, best effort: unreadable cells and unknown columns are
/// skipped here and reported by the importer.
pub fn references(table: &Table, entity: Entity) -> References {
    match entity {
        Entity::Units => units::references(table),
        Entity::Bodies => bodies::references(table),
        Entity::Demands => demands::references(table),
        Entity::Users => users::references(table),
    }
}

/// Known bodies by id and, for bodies other than divisions, by unit and name.
pub(crate) struct BodyIndex<'a> {
    by_id: HashMap<Uuid, &'a Body>,
    by_name: HashMap<&'a UnitCode, HashMap<&'a str, Vec<&'a Body>>>,
    divisions: HashMap<Uuid, HashMap<&'a str, Vec<&'a Body>>>,
}

impl<'a> BodyIndex<'a> {
    pub(crate) fn new(bodies: &'a [Body]) -> Self {
        let mut by_id = HashMap::with_capacity(bodies.len());
        let mut by_name: HashMap<&UnitCode, HashMap<&str, Vec<&Body>>> = HashMap::new();
        let mut divisions: HashMap<Uuid, HashMap<&str, Vec<&Body>>> = HashMap::new();
        for b in bodies {
            if by_id.insert(b.id, b).is_some() {
                continue;
            }
            match (b.kind, b.parent) {
                (BodyKind::Division, Some(p)) => {
                    divisions.entry(p).or_default().entry(b.name.trim()).or_default().push(b)
                }
                (BodyKind::Division, None) => {}
                _ => by_name.entry(&b.unit).or_default().entry(b.name.trim()).or_default().push(b),
            }
        }
        BodyIndex { by_id, by_name, divisions }
    }

    pub(crate) fn get(&self, id: &Uuid) -> Option<&'a Body> {
        self.by_id.get(id).copied()
    }

    /// Bodies other than divisions named `name` at `unit`.
    pub(crate) fn named(&self, unit: &UnitCode, name: &str) -> &[&'a Body] {
        self.by_name.get(unit).and_then(|m| m.get(name)).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Divisions of `department` named `name`.
    pub(crate) fn divisions_named(&self, department: Uuid, name: &str) -> &[&'a Body] {
        self.divisions.get(&department).and_then(|m| m.get(name)).map(Vec::as_slice).unwrap_or(&[])
    }
}
