//! The upper-level bodies of the demo: at the province the Party committee, the
//! government, the burden-reduction office and every department of the catalogue with
//! its divisions (处室); at each prefecture the same with 10–12 departments and two or
//! three divisions (科室) each; at each county the Party committee, the government and
//! 9–12 departments; and at the scenario township its Party committee and government
//! (which convene the township's own meeting in the cascade scenario).

use chrono::Days;
use rand::Rng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use tongxin_domain::{Body, BodyKind, Unit};

use crate::calendar::{Calendar, at};
use crate::catalog::{DEPTS, DeptSpec};
use crate::geo::{Geo, Stage};
use crate::uuid_at;

/// A department and its divisions (indices into [`Bodies::all`]).
pub(crate) struct Dept {
    pub spec: &'static DeptSpec,
    pub body: usize,
    pub divisions: Vec<usize>,
}

/// The bodies sitting at one unit.
pub(crate) struct UnitBodies {
    pub party: usize,
    pub gov: usize,
    pub office: Option<usize>,
    pub depts: Vec<Dept>,
}

impl UnitBodies {
    pub fn dept(&self, key: &str) -> Option<&Dept> {
        self.depts.iter().find(|d| d.spec.key == key)
    }
}

pub(crate) struct Bodies {
    pub all: Vec<Body>,
    pub province: UnitBodies,
    pub prefectures: Vec<UnitBodies>,
    pub counties: Vec<UnitBodies>,
    /// The scenario township's Party committee and government.
    pub township: UnitBodies,
}

/// Prefecture-level entries of the NBS list that are not real prefectures (the
/// municipalities' 市辖区/县, the provinces' directly administered counties).
pub(crate) fn is_pseudo_prefecture(name: &str) -> bool {
    matches!(name, "市辖区" | "县") || name.ends_with("直辖县级行政区划")
}

/// Municipalities (直辖市) name their provincial departments like a city's (…局).
fn is_municipality(province: &Unit) -> bool {
    matches!(province.code.as_str(), "11" | "12" | "31" | "50")
}

struct Builder<'r> {
    rng: &'r mut ChaCha8Rng,
    all: Vec<Body>,
    created: chrono::NaiveDateTime,
}

impl Builder<'_> {
    fn add(&mut self, unit: &Unit, name: String, kind: BodyKind, parent: Option<usize>) -> usize {
        // Creation times a second apart on the first working day, so v7 ids sort in
        // creation order.
        self.created += chrono::Duration::seconds(1);
        let id = uuid_at(self.rng, self.created);
        let parent = parent.map(|p| self.all[p].id);
        self.all.push(Body { id, unit: unit.code.clone(), name, kind, parent });
        self.all.len() - 1
    }

    /// Party committee, government, optional burden office and the given departments.
    fn unit(
        &mut self,
        unit: &Unit,
        prefix: &str,
        level: Level3,
        office: bool,
        specs: &[&'static DeptSpec],
    ) -> UnitBodies {
        let party = self.add(unit, format!("中共{prefix}委员会"), BodyKind::PartyCommittee, None);
        let gov = self.add(unit, format!("{prefix}人民政府"), BodyKind::Government, None);
        let office = office.then(|| {
            self.add(
                unit,
                format!("{prefix}整治形式主义为基层减负专项工作机制办公室"),
                BodyKind::BurdenOffice,
                None,
            )
        });
        let mut depts = Vec::with_capacity(specs.len());
        for spec in specs {
            let suffix = match level {
                Level3::Province => spec.province,
                Level3::Municipality | Level3::Prefecture => spec.prefecture,
                Level3::County => spec.county,
            };
            let name =
                if spec.party { format!("中共{prefix}委{suffix}") } else { format!("{prefix}{suffix}") };
            let body = self.add(unit, name, BodyKind::Department, None);
            let division_names: &[&str] = match level {
                Level3::Province | Level3::Municipality => spec.divisions,
                Level3::Prefecture => spec.local_divisions,
                Level3::County => &[],
            };
            let divisions = division_names
                .iter()
                .map(|d| self.add(unit, (*d).to_owned(), BodyKind::Division, Some(body)))
                .collect();
            depts.push(Dept { spec, body, divisions });
        }
        UnitBodies { party, gov, office, depts }
    }
}

#[derive(Clone, Copy)]
enum Level3 {
    Province,
    Municipality,
    Prefecture,
    County,
}

/// 9 core departments plus `extra` drawn from the rest, in catalogue order.
fn local_specs(rng: &mut ChaCha8Rng, extra: usize) -> Vec<&'static DeptSpec> {
    let mut others: Vec<usize> = (0..DEPTS.len()).filter(|i| !DEPTS[*i].core).collect();
    others.shuffle(rng);
    let mut chosen: Vec<usize> = (0..DEPTS.len()).filter(|i| DEPTS[*i].core).collect();
    chosen.extend(others.into_iter().take(extra));
    chosen.sort_unstable();
    chosen.into_iter().map(|i| &DEPTS[i]).collect()
}

pub(crate) fn build(rng: &mut ChaCha8Rng, geo: &Geo, stage: &Stage, cal: &Calendar) -> Bodies {
    let created = at(cal.first() + Days::new(1), 9, 0);
    let mut b = Builder { rng, all: Vec::new(), created };
    let p = geo.province;
    let all_specs: Vec<&'static DeptSpec> = DEPTS.iter().collect();
    let level = if is_municipality(p) { Level3::Municipality } else { Level3::Province };
    let province = b.unit(p, &p.name, level, true, &all_specs);
    let mut prefectures = Vec::with_capacity(geo.prefectures.len());
    for u in &geo.prefectures {
        let prefix =
            if is_pseudo_prefecture(&u.name) { format!("{}{}", p.name, u.name) } else { u.name.clone() };
        let extra = b.rng.random_range(1..=3);
        let specs = local_specs(b.rng, extra);
        prefectures.push(b.unit(u, &prefix, Level3::Prefecture, true, &specs));
    }
    let mut counties = Vec::with_capacity(geo.counties.len());
    for u in &geo.counties {
        let extra = b.rng.random_range(0..=3);
        let specs = local_specs(b.rng, extra);
        counties.push(b.unit(u, &u.name, Level3::County, false, &specs));
    }
    let town = geo.townships[stage.township];
    let township = b.unit(town, &town.name, Level3::County, false, &[]);
    Bodies { all: b.all, province, prefectures, counties, township }
}
