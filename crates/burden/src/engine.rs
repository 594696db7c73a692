//! The engine's state: the units, bodies and live demands in compact form with the indexes
//! the rule families read, the current findings by rule group, and the rollups.

use std::sync::Arc;

use chrono::{NaiveDate, NaiveDateTime};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;
use tongxin_domain::{Body, Demand, DemandKind, DemandStatus, Flag, Level, Unit, UnitCode};
use tongxin_rules::{RuleSet, Severity};
use uuid::Uuid;

use crate::families;
use crate::fields::normalize_field;
use crate::rollup::{Rollups, Shard};
use crate::similar;

/// A unit as the engine keeps it.
#[derive(Debug, Clone)]
pub(crate) struct UnitInfo {
    pub code: UnitCode,
    pub name: String,
    pub level: Level,
    pub parent: Option<u32>,
    pub cadres: u32,
}

#[derive(Debug, Clone)]
pub(crate) struct BodyInfo {
    pub id: Uuid,
    pub name: String,
    /// The department's index (itself for a department).
    pub dept: u32,
    pub unit: Option<u32>,
}

/// A live (not cancelled) demand in compact form.
#[derive(Debug, Clone)]
pub(crate) struct Rec {
    pub id: Uuid,
    pub kind: DemandKind,
    pub body: u32,
    pub dept: u32,
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
    pub targets: Box<[u32]>,
    /// Cadre-hours per target in hundredths, so sums are exact whatever the order.
    pub cadre_centihours: i64,
    pub host_centidays: i64,
    pub forms: u32,
    pub fields: Box<[u32]>,
    pub field_count: u32,
    pub attend: u8,
    pub video: bool,
    pub indicators: u32,
    pub doc_chars: u32,
    pub speech_minutes: u32,
    pub flags: u32,
    /// The topic, shared by every demand with the same one.
    pub topic: Arc<Topic>,
    pub title: Box<str>,
}

/// A topic as the similarity checks read it; demands with the same topic share one.
#[derive(Debug)]
pub(crate) struct Topic {
    /// As written (empty when the demand gives none).
    pub text: Box<str>,
    /// The topic (or the title when there is none) normalised for similarity.
    pub norm: Box<str>,
    /// Its 2-character shingles, the rule set's default.
    shingles2: Box<[u64]>,
}

impl Topic {
    fn new(text: &str, source: &str) -> Topic {
        let norm = similar::normalize(source);
        let shingles2 = similar::shingles(&norm, 2).into_boxed_slice();
        Topic { text: text.into(), norm: norm.into_boxed_str(), shingles2 }
    }

    /// The topic's `k`-character shingles.
    pub fn shingles(&self, k: usize) -> std::borrow::Cow<'_, [u64]> {
        if k == 2 {
            std::borrow::Cow::Borrowed(&self.shingles2)
        } else {
            std::borrow::Cow::Owned(similar::shingles(&self.norm, k))
        }
    }

    /// What to call it in evidence.
    pub fn label<'a>(&'a self, title: &'a str) -> &'a str {
        if self.text.is_empty() { title } else { &self.text }
    }
}

impl Rec {
    pub fn day(&self) -> NaiveDate {
        self.start.date()
    }

    pub fn has(&self, f: Flag) -> bool {
        self.flags & f.bit() != 0
    }

    pub fn attends(&self, level: Level) -> bool {
        self.attend & (1 << level.number()) != 0
    }

    pub fn attend_levels(&self) -> impl Iterator<Item = Level> + '_ {
        Level::ALL.into_iter().filter(|l| self.attends(*l))
    }
}

/// Which demands a group of a rule is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Scope {
    Demand(Uuid),
    Unit(u32),
    Dept(u32),
}

/// One group of one rule: the unit of evaluation and of incremental maintenance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Key {
    pub rule: u16,
    pub scope: Scope,
    pub part: i64,
}

impl Key {
    /// The key's order as plain integers (the derived order, without comparing ids byte by
    /// byte): for sorting millions of keys.
    pub fn rank(&self) -> (u16, u8, u128, i64) {
        let (tag, id) = match self.scope {
            Scope::Demand(id) => (0, id.as_u128()),
            Scope::Unit(u) => (1, u128::from(u)),
            Scope::Dept(d) => (2, u128::from(d)),
        };
        (self.rule, tag, id, self.part)
    }
}

/// Words in both languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Text {
    pub zh: String,
    pub en: String,
}

impl Text {
    pub fn new(zh: impl Into<String>, en: impl Into<String>) -> Text {
        Text { zh: zh.into(), en: en.into() }
    }
}

/// One finding: a rule broken, the demands and units involved, and the evidence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// The rule's id in the rule set (e.g. `visit.cap_per_unit`).
    pub rule: String,
    pub severity: Severity,
    /// The demands involved, in date order (a redeployment lists the meeting first,
    /// then the documents it repeats).
    pub demands: Vec<Uuid>,
    /// The units the burden falls on.
    pub units: Vec<UnitCode>,
    /// The day the finding is counted on (its first demand's start).
    pub date: NaiveDate,
    /// What was counted or compared, with the figures.
    pub evidence: Text,
    /// The demands should be merged into one (coordination, duplicate data, repetition).
    pub merge: bool,
    /// Body, department and kind of the first demand, where the violation is counted.
    #[serde(skip)]
    pub(crate) origin: (u32, u32, DemandKind),
    /// `units` as engine indexes.
    #[serde(skip)]
    pub(crate) unit_ids: Vec<u32>,
}

/// The order of every index: start, then id (as a number: the same order as its bytes,
/// compared without a call to `memcmp`).
fn order(recs: &[Option<Rec>], slot: u32) -> (NaiveDateTime, u128) {
    match &recs[slot as usize] {
        Some(r) => (r.start, r.id.as_u128()),
        None => (NaiveDateTime::MIN, 0),
    }
}

/// The engine: rules, ledger, findings and rollups, kept consistent by [`Engine::apply`].
pub struct Engine {
    pub(crate) rules: RuleSet,
    pub(crate) units: Vec<UnitInfo>,
    pub(crate) unit_index: FxHashMap<String, u32>,
    pub(crate) children: Vec<Vec<u32>>,
    pub(crate) subtree_cadres: Vec<u64>,
    pub(crate) bodies: Vec<BodyInfo>,
    pub(crate) body_index: FxHashMap<Uuid, u32>,
    pub(crate) field_names: Vec<String>,
    pub(crate) topics: FxHashMap<Box<str>, Arc<Topic>>,
    pub(crate) field_index: FxHashMap<String, u32>,
    pub(crate) recs: Vec<Option<Rec>>,
    pub(crate) free: Vec<u32>,
    pub(crate) slots: FxHashMap<Uuid, u32>,
    /// Slots of the demands targeting each unit, in (start, id) order.
    pub(crate) by_unit: FxHashMap<u32, Vec<u32>>,
    /// The meetings among them that require attendance below the unit (for repetition).
    pub(crate) by_unit_cascade: FxHashMap<u32, Vec<u32>>,
    /// Slots of each department's demands (its divisions' too), in (start, id) order.
    pub(crate) by_dept: FxHashMap<u32, Vec<u32>>,
    pub(crate) findings: FxHashMap<Key, Vec<Finding>>,
    pub(crate) rollups: Rollups,
    /// How long each phase of the last full recomputation took (for the benchmark).
    pub(crate) phases: Vec<(&'static str, std::time::Duration)>,
}

/// Why the engine could not take a demand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unknown {
    Unit(String),
    Body(Uuid),
}

impl std::fmt::Display for Unknown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unknown::Unit(c) => write!(f, "unknown unit {c}"),
            Unknown::Body(b) => write!(f, "unknown body {b}"),
        }
    }
}

impl Engine {
    /// An engine over `units` (any order; parents need not come first) and `bodies`, with
    /// no demands yet.
    pub fn new(rules: RuleSet, units: &[Unit], bodies: &[Body]) -> Engine {
        let mut e = Engine {
            rules,
            units: Vec::with_capacity(units.len()),
            unit_index: FxHashMap::default(),
            children: Vec::new(),
            subtree_cadres: Vec::new(),
            bodies: Vec::new(),
            body_index: FxHashMap::default(),
            field_names: Vec::new(),
            topics: FxHashMap::default(),
            field_index: FxHashMap::default(),
            recs: Vec::new(),
            free: Vec::new(),
            slots: FxHashMap::default(),
            by_unit: FxHashMap::default(),
            by_unit_cascade: FxHashMap::default(),
            by_dept: FxHashMap::default(),
            findings: FxHashMap::default(),
            rollups: Rollups::default(),
            phases: Vec::new(),
        };
        e.unit_index.reserve(units.len());
        let mut sorted: Vec<&Unit> = units.iter().collect();
        sorted.sort_by(|a, b| a.code.as_str().len().cmp(&b.code.as_str().len()).then(a.code.cmp(&b.code)));
        for u in sorted {
            e.add_unit(u);
        }
        for b in
            bodies.iter().filter(|b| b.parent.is_none()).chain(bodies.iter().filter(|b| b.parent.is_some()))
        {
            e.add_body(b);
        }
        e
    }

    fn add_unit(&mut self, u: &Unit) {
        if let Some(&i) = self.unit_index.get(u.code.as_str()) {
            let old = self.units[i as usize].cadres;
            self.units[i as usize].name = u.name.clone();
            self.units[i as usize].cadres = u.cadres;
            let mut at = Some(i);
            while let Some(a) = at {
                self.subtree_cadres[a as usize] =
                    self.subtree_cadres[a as usize] - u64::from(old) + u64::from(u.cadres);
                at = self.units[a as usize].parent;
            }
            return;
        }
        let parent = u.parent().and_then(|p| self.unit_index.get(p.as_str()).copied());
        let i = self.units.len() as u32;
        self.units.push(UnitInfo {
            code: u.code.clone(),
            name: u.name.clone(),
            level: u.level(),
            parent,
            cadres: u.cadres,
        });
        self.unit_index.insert(u.code.as_str().to_owned(), i);
        self.children.push(Vec::new());
        self.subtree_cadres.push(0);
        if let Some(p) = parent {
            self.children[p as usize].push(i);
        }
        let mut at = Some(i);
        while let Some(a) = at {
            self.subtree_cadres[a as usize] += u64::from(u.cadres);
            at = self.units[a as usize].parent;
        }
    }

    /// Adds or renames a unit, or changes its number of cadres. A new unit's parent must
    /// already be known (or it is a root).
    pub fn upsert_unit(&mut self, u: &Unit) {
        self.add_unit(u);
    }

    fn add_body(&mut self, b: &Body) {
        let unit = self.unit_index.get(b.unit.as_str()).copied();
        if let Some(&i) = self.body_index.get(&b.id) {
            self.bodies[i as usize].name = b.name.clone();
            return;
        }
        let i = self.bodies.len() as u32;
        let dept = match b.parent {
            Some(p) => match self.body_index.get(&p) {
                Some(&d) => self.bodies[d as usize].dept,
                None => i,
            },
            None => i,
        };
        self.bodies.push(BodyInfo { id: b.id, name: b.name.clone(), dept, unit });
        self.body_index.insert(b.id, i);
    }

    /// Adds a body (its parent department first) or renames one.
    pub fn upsert_body(&mut self, b: &Body) {
        self.add_body(b);
    }

    /// The phases of the last full recomputation and how long each took, in order.
    pub fn recompute_phases(&self) -> &[(&'static str, std::time::Duration)] {
        &self.phases
    }

    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// Live demands held.
    pub fn demand_count(&self) -> usize {
        self.slots.len()
    }

    pub(crate) fn unit(&self, i: u32) -> &UnitInfo {
        &self.units[i as usize]
    }

    pub(crate) fn unit_of(&self, code: &str) -> Option<u32> {
        self.unit_index.get(code).copied()
    }

    pub(crate) fn rec(&self, slot: u32) -> &Rec {
        match &self.recs[slot as usize] {
            Some(r) => r,
            None => unreachable!("an index points at a free slot"),
        }
    }

    pub(crate) fn body_name(&self, i: u32) -> &str {
        &self.bodies[i as usize].name
    }

    /// Shares the topic of `d` with the demands that have the same one.
    fn intern_topic(&mut self, d: &Demand) {
        if !d.topic.trim().is_empty() && !self.topics.contains_key(d.topic.as_str()) {
            self.topics.insert(d.topic.as_str().into(), Arc::new(Topic::new(&d.topic, &d.topic)));
        }
    }

    /// Gives every field name of `d` a number.
    fn intern_fields(&mut self, d: &Demand) {
        for name in &d.cost.fields {
            let n = normalize_field(name);
            if !self.field_index.contains_key(&n) {
                self.field_index.insert(n.clone(), self.field_names.len() as u32);
                self.field_names.push(n);
            }
        }
    }

    /// The compact form of a demand, without touching the engine. A field name the engine
    /// has never seen gets a number no stored demand has (it cannot match any).
    pub(crate) fn compact(&self, d: &Demand) -> Result<Rec, Unknown> {
        let body = *self.body_index.get(&d.source_body).ok_or(Unknown::Body(d.source_body))?;
        let mut targets = Vec::with_capacity(d.targets.len());
        for t in &d.targets {
            targets.push(self.unit_of(t.as_str()).ok_or_else(|| Unknown::Unit(t.to_string()))?);
        }
        let mut fields: Vec<u32> = d
            .cost
            .fields
            .iter()
            .enumerate()
            .map(|(i, f)| self.field_index.get(&normalize_field(f)).copied().unwrap_or(u32::MAX - i as u32))
            .collect();
        fields.sort_unstable();
        fields.dedup();
        let c = &d.cost;
        let topic = match self.topics.get(d.topic.as_str()) {
            Some(t) => t.clone(),
            None if d.topic.trim().is_empty() => Arc::new(Topic::new("", &d.title)),
            None => Arc::new(Topic::new(&d.topic, &d.topic)),
        };
        Ok(Rec {
            id: d.id,
            kind: d.kind,
            body,
            dept: self.bodies[body as usize].dept,
            start: d.starts_at,
            end: d.ends_at,
            targets: targets.into_boxed_slice(),
            cadre_centihours: (c.cadre_hours * 100.0).round() as i64,
            host_centidays: (c.host_person_days * 100.0).round() as i64,
            forms: c.forms,
            fields: fields.into_boxed_slice(),
            field_count: c.fields.len() as u32,
            attend: c.attend_levels.iter().fold(0u8, |b, l| b | (1 << l.number())),
            video: c.video,
            indicators: c.indicators,
            doc_chars: c.doc_chars,
            speech_minutes: c.speech_minutes,
            flags: Flag::to_bits(&c.flags),
            topic,
            title: d.title.clone().into_boxed_str(),
        })
    }

    /// Whether a meeting requires attendance below target `t`.
    fn cascades_below(&self, rec: &Rec, t: u32) -> bool {
        rec.kind == DemandKind::Meeting && rec.attend_levels().any(|l| l > self.unit(t).level)
    }

    /// Stores a demand and indexes it; `sorted` keeps each index in (start, id) order (a
    /// bulk load appends and sorts once at the end instead).
    fn insert(&mut self, rec: Rec, sorted: bool) -> u32 {
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                self.recs.push(None);
                (self.recs.len() - 1) as u32
            }
        };
        let key = (rec.start, rec.id.as_u128());
        let cascade: Vec<u32> =
            rec.targets.iter().copied().filter(|t| self.cascades_below(&rec, *t)).collect();
        self.slots.insert(rec.id, slot);
        let (targets, dept) = (rec.targets.clone(), rec.dept);
        self.recs[slot as usize] = Some(rec);
        let recs = &self.recs;
        let place = |list: &mut Vec<u32>| {
            if sorted {
                let pos = list.partition_point(|s| order(recs, *s) < key);
                list.insert(pos, slot);
            } else {
                list.push(slot);
            }
        };
        for &t in targets.iter() {
            place(self.by_unit.entry(t).or_default());
        }
        for t in cascade {
            place(self.by_unit_cascade.entry(t).or_default());
        }
        place(self.by_dept.entry(dept).or_default());
        slot
    }

    fn sort_indexes(&mut self) {
        let recs = &self.recs;
        for list in self
            .by_unit
            .values_mut()
            .chain(self.by_unit_cascade.values_mut())
            .chain(self.by_dept.values_mut())
        {
            list.sort_unstable_by_key(|s| order(recs, *s));
        }
    }

    fn take(&mut self, id: Uuid) -> Option<Rec> {
        let slot = *self.slots.get(&id)?;
        let rec = self.recs[slot as usize].as_ref()?;
        let key = (rec.start, rec.id.as_u128());
        let cascade: Vec<u32> =
            rec.targets.iter().copied().filter(|t| self.cascades_below(rec, *t)).collect();
        let (targets, dept) = (rec.targets.clone(), rec.dept);
        let recs = &self.recs;
        let unplace = |map: &mut FxHashMap<u32, Vec<u32>>, k: u32| {
            if let Some(list) = map.get_mut(&k) {
                let pos = list.partition_point(|s| order(recs, *s) < key);
                if list.get(pos) == Some(&slot) {
                    list.remove(pos);
                }
                if list.is_empty() {
                    map.remove(&k);
                }
            }
        };
        for &t in targets.iter() {
            unplace(&mut self.by_unit, t);
        }
        for t in cascade {
            unplace(&mut self.by_unit_cascade, t);
        }
        unplace(&mut self.by_dept, dept);
        self.slots.remove(&id);
        self.free.push(slot);
        self.recs[slot as usize].take()
    }

    /// Loads many demands and recomputes every finding and rollup from scratch (the full
    /// recomputation). Cancelled demands are skipped; a demand naming an unknown unit or
    /// body is refused before anything changes.
    pub fn load(&mut self, demands: impl IntoIterator<Item = Demand>) -> Result<usize, Unknown> {
        let mut recs = Vec::new();
        for d in demands {
            if d.status == DemandStatus::Cancelled {
                continue;
            }
            self.intern_fields(&d);
            self.intern_topic(&d);
            recs.push(self.compact(&d)?);
        }
        // The last version of an id in the batch wins; versions already held are taken out
        // while the indexes are still in order (`take` searches them).
        let mut last: FxHashMap<Uuid, usize> = FxHashMap::default();
        for (i, r) in recs.iter().enumerate() {
            last.insert(r.id, i);
        }
        for r in &recs {
            if self.slots.contains_key(&r.id) {
                self.take(r.id);
            }
        }
        let mut n = 0;
        for (i, r) in recs.into_iter().enumerate() {
            if last.get(&r.id) == Some(&i) {
                self.insert(r, false);
                n += 1;
            }
        }
        self.sort_indexes();
        self.recompute();
        Ok(n)
    }

    /// Recomputes every finding and rollup from the demands held, on every core: the
    /// groups' keys from parts of the demands, the rollups by province, the groups
    /// themselves taken in small batches by whichever thread is free.
    pub fn recompute(&mut self) {
        let mut phases = Vec::new();
        let mut t = std::time::Instant::now();
        let mut lap = |name: &'static str, phases: &mut Vec<(&'static str, std::time::Duration)>| {
            phases.push((name, t.elapsed()));
            t = std::time::Instant::now();
        };
        let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).clamp(1, 8);
        // Dropped here, not on a thread beside the keys: millions of frees from another
        // thread contend with the allocations there and cost more than they save. But split
        // over the cores: the findings moved out of their map (a move frees nothing) and
        // freed in parts, the rollups beside one of them.
        let rollups = std::mem::take(&mut self.rollups);
        let old: Vec<(Key, Vec<Finding>)> = std::mem::take(&mut self.findings).into_iter().collect();
        std::thread::scope(|scope| {
            let mut parts = old;
            let mut rest = Vec::new();
            for _ in 1..threads {
                let at = parts.len() - parts.len() / threads;
                let tail = parts.split_off(at.min(parts.len()));
                rest.push(tail);
            }
            for part in rest {
                scope.spawn(move || drop(part));
            }
            scope.spawn(move || drop(rollups));
            drop(parts);
        });
        lap("drop the previous results", &mut phases);
        let mut live: Vec<u32> = self.slots.values().copied().collect();
        live.sort_unstable();
        let me = &*self;
        let live = &live;
        let keys = std::thread::scope(|scope| {
            let parts: Vec<_> = live
                .chunks(live.len().div_ceil(threads).max(1))
                .map(|part| {
                    scope.spawn(move || {
                        let mut keys: Vec<Key> = Vec::new();
                        for &s in part {
                            families::keys_of(me, me.rec(s), &mut keys);
                        }
                        keys.sort_unstable_by_key(Key::rank);
                        keys.dedup();
                        keys
                    })
                })
                .collect();
            let mut keys: Vec<Key> = Vec::new();
            for p in parts {
                keys.extend(p.join().unwrap_or_default());
            }
            // Sorted runs: the stable sort merges them.
            keys.sort_by_key(Key::rank);
            keys.dedup();
            keys
        });
        lap("group keys", &mut phases);
        let shards = Shard::split(me, threads as u32);
        let mut parts: Vec<Rollups> = std::thread::scope(|scope| {
            let handles: Vec<_> =
                shards.iter().map(|sh| scope.spawn(move || Rollups::of_demands(me, live, sh))).collect();
            handles.into_iter().map(|h| h.join().unwrap_or_default()).collect()
        });
        lap("demand rollups", &mut phases);
        let next = std::sync::atomic::AtomicUsize::new(0);
        const BATCH: usize = 512;
        let evaluated: Vec<Vec<(Key, Vec<Finding>)>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    let (keys, next) = (&keys, &next);
                    scope.spawn(move || {
                        let mut out = Vec::new();
                        loop {
                            let at = next.fetch_add(BATCH, std::sync::atomic::Ordering::Relaxed);
                            if at >= keys.len() {
                                break;
                            }
                            for k in &keys[at..(at + BATCH).min(keys.len())] {
                                let f = families::evaluate(me, k, None);
                                if !f.is_empty() {
                                    out.push((*k, f));
                                }
                            }
                        }
                        out
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap_or_default()).collect()
        });
        lap("evaluate", &mut phases);
        std::thread::scope(|scope| {
            for (r, sh) in parts.iter_mut().zip(&shards) {
                let evaluated = &evaluated;
                scope.spawn(move || {
                    for (_, f) in evaluated.iter().flatten() {
                        r.add_findings_of(me, f, 1, sh);
                    }
                });
            }
        });
        lap("finding rollups", &mut phases);
        let mut rollups = parts.pop().unwrap_or_default();
        for p in parts {
            rollups.absorb(p);
        }
        let mut findings: FxHashMap<Key, Vec<Finding>> = FxHashMap::default();
        findings.reserve(evaluated.iter().map(Vec::len).sum());
        findings.extend(evaluated.into_iter().flatten());
        self.findings = findings;
        self.rollups = rollups;
        lap("store", &mut phases);
        self.phases = phases;
    }

    /// Writes one demand (new, changed or cancelled) and brings findings and rollups up to
    /// date by re-evaluating only the groups the old and the new version belong to.
    pub fn apply(&mut self, d: &Demand) -> Result<(), Unknown> {
        let new = if d.status == DemandStatus::Cancelled {
            None
        } else {
            self.intern_fields(d);
            self.intern_topic(d);
            Some(self.compact(d)?)
        };
        let mut keys = Vec::new();
        if let Some(&slot) = self.slots.get(&d.id) {
            let old = self.rec(slot).clone();
            families::keys_of(self, &old, &mut keys);
            let mut r = std::mem::take(&mut self.rollups);
            r.remove_demand(self, &old);
            self.rollups = r;
            self.take(d.id);
        }
        if let Some(rec) = new {
            let slot = self.insert(rec, true);
            let rec = self.rec(slot).clone();
            families::keys_of(self, &rec, &mut keys);
            let mut r = std::mem::take(&mut self.rollups);
            r.add_demand(self, &rec);
            self.rollups = r;
        }
        keys.sort_unstable();
        keys.dedup();
        self.reevaluate(&keys);
        Ok(())
    }

    fn reevaluate(&mut self, keys: &[Key]) {
        let mut r = std::mem::take(&mut self.rollups);
        for k in keys {
            let new = families::evaluate(self, k, None);
            if let Some(old) = self.findings.remove(k) {
                r.add_findings(self, &old, -1);
            }
            if !new.is_empty() {
                r.add_findings(self, &new, 1);
                self.findings.insert(*k, new);
            }
        }
        self.rollups = r;
    }

    /// Every current finding, in a stable order (severity, rule, date, demands, units, evidence).
    pub fn findings(&self) -> Vec<&Finding> {
        let mut all: Vec<&Finding> = self.findings.values().flatten().collect();
        all.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then_with(|| a.rule.cmp(&b.rule))
                .then_with(|| a.date.cmp(&b.date))
                .then_with(|| a.demands.cmp(&b.demands))
                .then_with(|| a.units.cmp(&b.units))
                .then_with(|| a.evidence.zh.cmp(&b.evidence.zh))
        });
        all
    }

    /// The findings a demand is involved in.
    pub fn findings_of(&self, id: Uuid) -> Vec<&Finding> {
        self.findings().into_iter().filter(|f| f.demands.contains(&id)).collect()
    }

    /// Everything the engine derives, in a canonical form: equal for two engines holding
    /// the same demands however they got there (the incremental/full property).
    pub fn digest(&self) -> (Vec<Finding>, Vec<String>) {
        let findings: Vec<Finding> = self.findings().into_iter().cloned().collect();
        (findings, self.rollups.canonical())
    }

    /// The units reached by a demand for repetition: the targets and, for meetings, the
    /// units below them at the levels required to attend, down to `deepest`.
    pub(crate) fn reached(&self, rec: &Rec, deepest: Level, out: &mut FxHashSet<u32>) {
        for &t in rec.targets.iter() {
            let tl = self.unit(t).level;
            if tl <= deepest {
                out.insert(t);
            }
            if rec.kind != DemandKind::Meeting {
                continue;
            }
            let wanted: Vec<Level> = rec.attend_levels().filter(|l| *l > tl && *l <= deepest).collect();
            if wanted.is_empty() {
                continue;
            }
            let mut stack = vec![t];
            while let Some(u) = stack.pop() {
                for &c in &self.children[u as usize] {
                    let cl = self.unit(c).level;
                    if wanted.contains(&cl) {
                        out.insert(c);
                    }
                    if cl < deepest {
                        stack.push(c);
                    }
                }
            }
        }
    }

    /// The unit and its ancestors, nearest first.
    pub(crate) fn lineage(&self, u: u32) -> impl Iterator<Item = u32> + '_ {
        std::iter::successors(Some(u), move |a| self.unit(*a).parent)
    }
}
