//! An index of one province's units by level and parent, and the deterministic choice of
//! the scenario prefecture, county, township and village.

use std::collections::HashMap;

use tongxin_domain::{Level, Unit};

use crate::DemoError;
use crate::bodies::is_pseudo_prefecture;

/// One province's hierarchy. Indices refer to the level's own vector.
pub(crate) struct Geo<'a> {
    pub province: &'a Unit,
    pub prefectures: Vec<&'a Unit>,
    pub counties: Vec<&'a Unit>,
    pub townships: Vec<&'a Unit>,
    pub villages: Vec<&'a Unit>,
    /// Counties of each prefecture.
    pub pref_counties: Vec<Vec<usize>>,
    /// Prefecture of each county.
    pub county_pref: Vec<usize>,
    /// Townships of each county.
    pub county_towns: Vec<Vec<usize>>,
    /// County of each township.
    pub town_county: Vec<usize>,
    /// Villages of each township.
    pub town_villages: Vec<Vec<usize>>,
}

/// The units the scenarios are staged on (indices into [`Geo`]).
pub(crate) struct Stage {
    pub prefecture: usize,
    pub county: usize,
    pub township: usize,
    pub village: usize,
}

impl<'a> Geo<'a> {
    /// Indexes the units of `province` among `units` (other provinces are ignored; a unit
    /// whose parent is missing is ignored too, with everything below it; so are counties
    /// without townships, which no demand could reach below county level).
    pub fn new(units: &'a [Unit], province: &str) -> Result<Geo<'a>, DemoError> {
        let mut mine: Vec<&Unit> = units.iter().filter(|u| u.province() == province).collect();
        mine.sort_by(|a, b| a.code.cmp(&b.code));
        mine.dedup_by(|a, b| a.code == b.code);
        let province_unit = mine
            .iter()
            .find(|u| u.level() == Level::Province)
            .copied()
            .ok_or_else(|| DemoError::MissingProvince(province.to_owned()))?;
        let mut geo = Geo {
            province: province_unit,
            prefectures: Vec::new(),
            counties: Vec::new(),
            townships: Vec::new(),
            villages: Vec::new(),
            pref_counties: Vec::new(),
            county_pref: Vec::new(),
            county_towns: Vec::new(),
            town_county: Vec::new(),
            town_villages: Vec::new(),
        };
        // The NBS list carries 金门县 with a placeholder township (code …000) for an area
        // outside the province's administration: such placeholders, and counties left
        // with no township, get no bodies and no demands.
        let placeholder = |u: &Unit| u.level() == Level::Township && u.code.as_str().ends_with("000");
        let mut real_towns: HashMap<&str, usize> = HashMap::new();
        for u in mine.iter().filter(|u| u.level() == Level::Township && !placeholder(u)) {
            *real_towns.entry(&u.code.as_str()[..6]).or_default() += 1;
        }
        mine.retain(|u| {
            !placeholder(u) && (u.level() != Level::County || real_towns.contains_key(u.code.as_str()))
        });
        let mut index: HashMap<&str, usize> = HashMap::new();
        // Sorted by code, so every parent is indexed before its children.
        for u in mine {
            let parent = u.parent().and_then(|p| index.get(p.as_str()).copied());
            let idx = match u.level() {
                Level::Province => continue,
                Level::Prefecture => {
                    geo.prefectures.push(u);
                    geo.pref_counties.push(Vec::new());
                    geo.prefectures.len() - 1
                }
                Level::County => {
                    let Some(p) = parent else { continue };
                    geo.counties.push(u);
                    geo.county_towns.push(Vec::new());
                    geo.county_pref.push(p);
                    let i = geo.counties.len() - 1;
                    geo.pref_counties[p].push(i);
                    i
                }
                Level::Township => {
                    let Some(p) = parent else { continue };
                    geo.townships.push(u);
                    geo.town_villages.push(Vec::new());
                    geo.town_county.push(p);
                    let i = geo.townships.len() - 1;
                    geo.county_towns[p].push(i);
                    i
                }
                Level::Village => {
                    let Some(p) = parent else { continue };
                    geo.villages.push(u);
                    let i = geo.villages.len() - 1;
                    geo.town_villages[p].push(i);
                    i
                }
            };
            index.insert(u.code.as_str(), idx);
        }
        Ok(geo)
    }

    /// Counties that have at least one township with villages (where demands can land
    /// on every level).
    pub fn county_is_complete(&self, c: usize) -> bool {
        self.county_towns[c].iter().any(|t| !self.town_villages[*t].is_empty())
    }

    /// The scenario units: a county (a 县 if possible) of the second real prefecture (then
    /// the third, …, then the first; pseudo prefectures last) with at least three
    /// townships that have villages and 30 villages in all; its first 镇 with at least
    /// five villages; that township's first 村委会.
    pub fn stage(&self) -> Result<Stage, DemoError> {
        let n = self.prefectures.len();
        let order: Vec<usize> = (1..n).chain(0..n.min(1)).collect();
        // A county big enough to look like one: 3+ townships with villages, 30+ villages.
        let rich = |c: usize| {
            let towns = &self.county_towns[c];
            towns.iter().filter(|t| !self.town_villages[**t].is_empty()).count() >= 3
                && towns.iter().map(|t| self.town_villages[*t].len()).sum::<usize>() >= 30
        };
        let mut choice = None;
        // Real prefectures first; the municipalities have only pseudo ones (市辖区).
        'rules: for (pseudo, rule) in [false, true].into_iter().flat_map(|p| (0..3).map(move |r| (p, r))) {
            for &p in order.iter().filter(|p| is_pseudo_prefecture(&self.prefectures[**p].name) == pseudo) {
                for &c in &self.pref_counties[p] {
                    let ok = match rule {
                        0 => self.counties[c].name.ends_with('县') && rich(c),
                        1 => rich(c),
                        _ => self.county_is_complete(c),
                    };
                    if ok {
                        choice = Some((p, c));
                        break 'rules;
                    }
                }
            }
        }
        let Some((prefecture, county)) = choice else {
            return Err(DemoError::TooSmall(self.province.code.as_str().to_owned()));
        };
        let towns = &self.county_towns[county];
        let township = towns
            .iter()
            .copied()
            .find(|t| self.townships[*t].name.ends_with('镇') && self.town_villages[*t].len() >= 5)
            .or_else(|| towns.iter().copied().find(|t| !self.town_villages[*t].is_empty()))
            .ok_or_else(|| DemoError::TooSmall(self.province.code.as_str().to_owned()))?;
        let vills = &self.town_villages[township];
        let village = vills
            .iter()
            .copied()
            .find(|v| self.villages[*v].name.ends_with("村委会"))
            .or_else(|| vills.first().copied())
            .ok_or_else(|| DemoError::TooSmall(self.province.code.as_str().to_owned()))?;
        Ok(Stage { prefecture, county, township, village })
    }
}
