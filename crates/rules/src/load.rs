//! The loader: walks the spanned TOML document, checks it against the family declarations
//! and collects every error with its line before giving up.

use std::collections::HashMap;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};
use tongxin_domain::{DemandKind, Level};

use crate::error::{ErrorKind, RuleError, RuleFileError};
use crate::family::{Family, ParamSpec, ParamType, Period, Practice};
use crate::{Explanation, Rule, RuleSet, Severity, Source};

type SValue<'i> = Spanned<DeValue<'i>>;

const LEVELS: [(&str, Level); 5] = [
    ("province", Level::Province),
    ("prefecture", Level::Prefecture),
    ("county", Level::County),
    ("township", Level::Township),
    ("village", Level::Village),
];

struct Ctx<'a> {
    file: &'a str,
    text: &'a str,
    errors: Vec<RuleError>,
}

impl<'a> Ctx<'a> {
    fn new(file: &'a str, text: &'a str) -> Self {
        Ctx { file, text, errors: Vec::new() }
    }

    fn line(&self, span: Range<usize>) -> usize {
        let end = span.start.min(self.text.len());
        self.text.as_bytes()[..end].iter().filter(|&&b| b == b'\n').count() + 1
    }

    fn err(&mut self, span: Range<usize>, kind: ErrorKind) {
        let line = self.line(span);
        self.errors.push(RuleError { line, kind });
    }

    fn finish<T>(self, value: T) -> Result<T, RuleFileError> {
        if self.errors.is_empty() {
            Ok(value)
        } else {
            let mut errors = self.errors;
            errors.sort_by_key(|e| e.line);
            Err(RuleFileError { file: self.file.to_owned(), errors })
        }
    }

    fn fail(mut self) -> RuleFileError {
        self.errors.sort_by_key(|e| e.line);
        RuleFileError { file: self.file.to_owned(), errors: self.errors }
    }

    fn parse_doc(&mut self) -> Option<Spanned<DeTable<'a>>> {
        match DeTable::parse(self.text) {
            Ok(doc) => Some(doc),
            Err(e) => {
                let span = e.span().unwrap_or(0..0);
                self.err(span, ErrorKind::Syntax(e.message().trim().to_owned()));
                None
            }
        }
    }

    /// Reports keys of `table` not in `allowed`.
    fn check_fields(&mut self, table: &DeTable<'_>, allowed: &[&str], prefix: &str) {
        for (k, _) in table.iter() {
            if !allowed.contains(&k.get_ref().as_ref()) {
                self.err(k.span(), ErrorKind::UnknownField(format!("{prefix}{}", k.get_ref())));
            }
        }
    }

    fn string(&mut self, table: &DeTable<'_>, key: &str, at: Range<usize>, required: bool) -> Option<String> {
        match get(table, key) {
            Some(v) => match v.get_ref() {
                DeValue::String(s) => Some(s.to_string()),
                _ => {
                    self.err(v.span(), ErrorKind::BadField { name: key.to_owned(), expected: "a string" });
                    None
                }
            },
            None => {
                if required {
                    self.err(at, ErrorKind::MissingField(key.to_owned()));
                }
                None
            }
        }
    }

    fn boolean(&mut self, table: &DeTable<'_>, key: &str, at: Range<usize>, required: bool) -> Option<bool> {
        match get(table, key) {
            Some(v) => match v.get_ref() {
                DeValue::Boolean(b) => Some(*b),
                _ => {
                    self.err(v.span(), ErrorKind::BadField { name: key.to_owned(), expected: "a boolean" });
                    None
                }
            },
            None => {
                if required {
                    self.err(at, ErrorKind::MissingField(key.to_owned()));
                }
                None
            }
        }
    }

    fn table<'t>(&mut self, table: &'t DeTable<'a>, key: &str, at: Range<usize>) -> Option<&'t SValue<'a>> {
        match get(table, key) {
            Some(v) if v.get_ref().is_table() => Some(v),
            Some(v) => {
                self.err(v.span(), ErrorKind::BadField { name: key.to_owned(), expected: "a table" });
                None
            }
            None => {
                self.err(at, ErrorKind::MissingField(key.to_owned()));
                None
            }
        }
    }

    fn array_of_tables<'t>(&mut self, doc: &'t DeTable<'a>, key: &str) -> Vec<&'t SValue<'a>> {
        match get(doc, key) {
            None => Vec::new(),
            Some(v) => match v.get_ref() {
                DeValue::Array(items) if items.iter().all(|i| i.get_ref().is_table()) => {
                    items.iter().collect()
                }
                _ => {
                    self.err(
                        v.span(),
                        ErrorKind::BadField {
                            name: key.to_owned(),
                            expected: "an array of tables ([[...]])",
                        },
                    );
                    Vec::new()
                }
            },
        }
    }

    /// Checks one parameter value against its declared type and converts it.
    fn param_value(&mut self, spec: &ParamSpec, v: &SValue<'_>) -> Option<toml::Value> {
        let wrong = |ctx: &mut Self| {
            ctx.err(
                v.span(),
                ErrorKind::WrongType {
                    name: spec.name.to_owned(),
                    expected: spec.ty.describe(),
                    found: describe(v.get_ref()),
                },
            );
            None
        };
        let value = v.get_ref();
        match spec.ty {
            ParamType::UInt => match value {
                DeValue::Integer(i) => match u32::from_str_radix(i.as_str(), i.radix()) {
                    Ok(n) => Some(toml::Value::Integer(n.into())),
                    Err(_) => wrong(self),
                },
                _ => wrong(self),
            },
            ParamType::Number | ParamType::Fraction => {
                let n = match value {
                    DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix()).ok().map(|n| n as f64),
                    DeValue::Float(f) => f.as_str().parse::<f64>().ok(),
                    _ => None,
                };
                match n {
                    Some(n) if n.is_finite() && n >= 0.0 && (spec.ty == ParamType::Number || n <= 1.0) => {
                        Some(toml::Value::Float(n))
                    }
                    _ => wrong(self),
                }
            }
            ParamType::Bool => match value {
                DeValue::Boolean(b) => Some(toml::Value::Boolean(*b)),
                _ => wrong(self),
            },
            ParamType::Period => {
                choice(value, &Period::ALL.map(|(s, _)| s)).map(toml::Value::String).or_else(|| wrong(self))
            }
            ParamType::Scope => {
                choice(value, &["department", "system"]).map(toml::Value::String).or_else(|| wrong(self))
            }
            ParamType::StrList | ParamType::Kinds | ParamType::Levels | ParamType::Practices => {
                let DeValue::Array(items) = value else { return wrong(self) };
                let mut out = Vec::new();
                for item in items.iter() {
                    let s = match item.get_ref() {
                        DeValue::String(s) if !s.trim().is_empty() => s.trim().to_owned(),
                        _ => return wrong(self),
                    };
                    let s = match spec.ty {
                        ParamType::Kinds => DemandKind::parse(&s).map(|k| k.as_str().to_owned()),
                        ParamType::Levels => LEVELS.iter().find(|(n, _)| *n == s).map(|(n, _)| n.to_string()),
                        ParamType::Practices => Practice::parse(&s).map(|p| p.as_str().to_string()),
                        _ => Some(s),
                    };
                    match s {
                        Some(s) => out.push(toml::Value::String(s)),
                        None => return wrong(self),
                    }
                }
                if out.is_empty() && spec.required {
                    return wrong(self);
                }
                Some(toml::Value::Array(out))
            }
        }
    }

    /// Checks a `params` table against the family and adds its values to `into`.
    fn params(&mut self, family: Family, table: &DeTable<'_>, into: &mut toml::Table) {
        let specs = family.params();
        for (k, v) in table.iter() {
            let name = k.get_ref().as_ref();
            match specs.iter().find(|s| s.name == name) {
                Some(spec) => {
                    if let Some(value) = self.param_value(spec, v) {
                        into.insert(name.to_owned(), value);
                    }
                }
                None => self.err(
                    k.span(),
                    ErrorKind::UnknownParam {
                        family: family.as_str().to_owned(),
                        name: name.to_owned(),
                        known: specs.iter().map(|s| s.name).collect::<Vec<_>>().join(", "),
                    },
                ),
            }
        }
    }

    fn rule(&mut self, item: &SValue<'a>) -> Option<Rule> {
        let at = item.span();
        let table = item.get_ref().as_table()?;
        self.check_fields(
            table,
            &["id", "family", "severity", "enabled", "applies_to", "params", "source", "explanation"],
            "",
        );
        let id = self.string(table, "id", at.clone(), true);
        let family = match get(table, "family") {
            Some(v) => match v.get_ref().as_str() {
                Some(s) => match Family::parse(s) {
                    Some(f) => Some(f),
                    None => {
                        let known = Family::ALL.iter().map(|f| f.as_str()).collect::<Vec<_>>().join(", ");
                        self.err(v.span(), ErrorKind::UnknownFamily(s.to_owned(), known));
                        None
                    }
                },
                None => {
                    self.err(v.span(), ErrorKind::BadField { name: "family".into(), expected: "a string" });
                    None
                }
            },
            None => {
                self.err(at.clone(), ErrorKind::MissingField("family".into()));
                None
            }
        };
        let severity = self.severity(table, at.clone(), true);
        let enabled = self.boolean(table, "enabled", at.clone(), false).unwrap_or(true);
        let applies_to = match get(table, "applies_to") {
            None => Some(Vec::new()),
            Some(v) => {
                let spec = ParamSpec { name: "applies_to", ty: ParamType::Kinds, required: false, doc: "" };
                self.param_value(&spec, v).map(|list| match list {
                    toml::Value::Array(items) => {
                        items.iter().filter_map(|i| i.as_str().and_then(DemandKind::parse)).collect()
                    }
                    _ => Vec::new(),
                })
            }
        };
        let source = self.source(table, at.clone());
        let explanation = self.explanation(table, at.clone());

        let params = family.and_then(|family| {
            let mut values = toml::Table::new();
            let params_at = match get(table, "params") {
                Some(p) => match p.get_ref().as_table() {
                    Some(t) => {
                        self.params(family, t, &mut values);
                        p.span()
                    }
                    None => {
                        self.err(
                            p.span(),
                            ErrorKind::BadField { name: "params".into(), expected: "a table" },
                        );
                        return None;
                    }
                },
                None => at.clone(),
            };
            self.build(family, values, params_at)
        });

        Some(Rule {
            id: id?,
            family: family?,
            severity: severity?,
            params: params?,
            source: source?,
            explanation: explanation?,
            applies_to: applies_to?,
            enabled,
            defined_at: format!("{}:{}", self.file, self.line(at)),
        })
    }

    /// Reports missing required parameters, then builds the typed parameters.
    fn build(&mut self, family: Family, values: toml::Table, at: Range<usize>) -> Option<crate::Params> {
        let mut missing = false;
        for spec in family.params().iter().filter(|s| s.required) {
            if !values.contains_key(spec.name) {
                missing = true;
                self.err(
                    at.clone(),
                    ErrorKind::MissingParam {
                        family: family.as_str().to_owned(),
                        name: spec.name.to_owned(),
                        expected: spec.ty.describe(),
                    },
                );
            }
        }
        if missing || !self.errors.is_empty() {
            return None;
        }
        match family.build(values) {
            Ok(p) => Some(p),
            Err(e) => {
                // The declarations and the structs disagree: reported, not panicked on.
                self.err(at, ErrorKind::Syntax(format!("internal: parameters do not build: {e}")));
                None
            }
        }
    }

    fn severity(&mut self, table: &DeTable<'_>, at: Range<usize>, required: bool) -> Option<Severity> {
        let v = get(table, "severity");
        let s = self.string(table, "severity", at, required)?;
        match Severity::parse(&s) {
            Some(sev) => Some(sev),
            None => {
                self.err(v.map(|v| v.span()).unwrap_or_default(), ErrorKind::BadSeverity(s));
                None
            }
        }
    }

    fn source(&mut self, table: &DeTable<'a>, at: Range<usize>) -> Option<Source> {
        let v = self.table(table, "source", at)?;
        let (t, at) = (v.get_ref().as_table()?, v.span());
        self.check_fields(t, &["title", "issued", "citation", "confirmed", "local_defaults"], "source.");
        let title = self.string(t, "title", at.clone(), true);
        let issued = self.string(t, "issued", at.clone(), true);
        let citation = self.string(t, "citation", at.clone(), true);
        let confirmed = self.boolean(t, "confirmed", at.clone(), true);
        let local_defaults = match get(t, "local_defaults") {
            None => Some(Vec::new()),
            Some(v) => match v.get_ref() {
                DeValue::Array(items) if items.iter().all(|i| i.get_ref().is_str()) => {
                    Some(items.iter().filter_map(|i| i.get_ref().as_str().map(str::to_owned)).collect())
                }
                _ => {
                    self.err(
                        v.span(),
                        ErrorKind::BadField {
                            name: "source.local_defaults".into(),
                            expected: "a list of parameter names",
                        },
                    );
                    None
                }
            },
        };
        for (name, value) in [("title", &title), ("issued", &issued), ("citation", &citation)] {
            if value.as_deref().is_some_and(|s| s.trim().is_empty()) {
                self.err(
                    at.clone(),
                    ErrorKind::BadField { name: format!("source.{name}"), expected: "a non-empty string" },
                );
                return None;
            }
        }
        Some(Source {
            title: title?,
            issued: issued?,
            citation: citation?,
            confirmed: confirmed?,
            local_defaults: local_defaults?,
        })
    }

    fn explanation(&mut self, table: &DeTable<'a>, at: Range<usize>) -> Option<Explanation> {
        let v = self.table(table, "explanation", at)?;
        let (t, at) = (v.get_ref().as_table()?, v.span());
        self.check_fields(t, &["zh", "en"], "explanation.");
        let text = |ctx: &mut Self, lang: &'static str| {
            let s = ctx.string(t, lang, at.clone(), true)?;
            if s.trim().is_empty() {
                let span = get(t, lang).map(|v| v.span()).unwrap_or(at.clone());
                ctx.err(span, ErrorKind::EmptyExplanation(lang));
                return None;
            }
            Some(s.trim().to_owned())
        };
        let zh = text(self, "zh");
        let en = text(self, "en");
        Some(Explanation { zh: zh?, en: en? })
    }

    /// Parses the `[[rule]]` tables and checks ids are unique (also against `existing`).
    fn rules(&mut self, doc: &DeTable<'a>, existing: &[Rule]) -> Vec<Rule> {
        let mut seen: HashMap<String, usize> = HashMap::new();
        for r in existing {
            let line = r.defined_at.rsplit(':').next().and_then(|l| l.parse().ok()).unwrap_or(0);
            seen.insert(r.id.clone(), line);
        }
        let mut rules = Vec::new();
        for item in self.array_of_tables(doc, "rule") {
            let line = self.line(item.span());
            let id = item
                .get_ref()
                .as_table()
                .and_then(|t| get(t, "id"))
                .and_then(|v| v.get_ref().as_str().map(|s| (s.to_owned(), v.span())));
            if let Some((id, span)) = &id {
                if let Some(&first_line) = seen.get(id) {
                    self.err(span.clone(), ErrorKind::DuplicateId { id: id.clone(), first_line });
                } else {
                    seen.insert(id.clone(), self.line(span.clone()).max(line));
                }
            }
            if let Some(rule) = self.rule(item) {
                rules.push(rule);
            }
        }
        rules
    }
}

fn get<'t, 'i>(table: &'t DeTable<'i>, key: &str) -> Option<&'t SValue<'i>> {
    table.iter().find(|(k, _)| k.get_ref().as_ref() == key).map(|(_, v)| v)
}

fn choice(value: &DeValue<'_>, options: &[&str]) -> Option<String> {
    value.as_str().filter(|s| options.contains(s)).map(str::to_owned)
}

fn describe(value: &DeValue<'_>) -> String {
    match value {
        DeValue::String(s) => format!("string \"{s}\""),
        DeValue::Integer(i) => format!("integer {i}"),
        DeValue::Float(f) => format!("float {f}"),
        DeValue::Boolean(b) => format!("boolean {b}"),
        other => other.type_str().to_owned(),
    }
}

pub(crate) fn has_extends(text: &str) -> bool {
    DeTable::parse(text).map(|doc| get(doc.get_ref(), "extends").is_some()).unwrap_or(false)
}

pub(crate) fn parse_base(file: &str, text: &str) -> Result<RuleSet, RuleFileError> {
    let mut ctx = Ctx::new(file, text);
    let Some(doc) = ctx.parse_doc() else { return Err(ctx.fail()) };
    let doc = doc.get_ref();
    if let Some(v) = get(doc, "extends") {
        ctx.err(v.span(), ErrorKind::UnexpectedExtends);
    }
    ctx.check_fields(doc, &["jurisdiction", "version", "rule", "extends"], "");
    let jurisdiction = ctx.string(doc, "jurisdiction", 0..0, true);
    let version = ctx.string(doc, "version", 0..0, true);
    let rules = ctx.rules(doc, &[]);
    let set = RuleSet {
        jurisdiction: jurisdiction.unwrap_or_default(),
        version: version.unwrap_or_default(),
        rules,
    };
    ctx.finish(set)
}

pub(crate) fn apply_overrides(base: &RuleSet, file: &str, text: &str) -> Result<RuleSet, RuleFileError> {
    let mut ctx = Ctx::new(file, text);
    let Some(doc) = ctx.parse_doc() else { return Err(ctx.fail()) };
    let doc = doc.get_ref();
    ctx.check_fields(doc, &["jurisdiction", "version", "extends", "rule", "override"], "");
    if let Some(v) = get(doc, "extends") {
        match v.get_ref().as_str() {
            Some(name) if name == base.jurisdiction => {}
            Some(name) if name != "national" => ctx.err(v.span(), ErrorKind::UnknownBase(name.to_owned())),
            Some(name) => {
                ctx.err(v.span(), ErrorKind::BaseMismatch(name.to_owned(), base.jurisdiction.clone()))
            }
            None => ctx.err(v.span(), ErrorKind::BadField { name: "extends".into(), expected: "a string" }),
        }
    }
    let jurisdiction = ctx.string(doc, "jurisdiction", 0..0, true);
    let version = ctx.string(doc, "version", 0..0, true);
    let mut rules = base.rules.clone();

    for item in ctx.array_of_tables(doc, "override") {
        let at = item.span();
        let Some(t) = item.get_ref().as_table() else { continue };
        ctx.check_fields(t, &["id", "params", "enabled", "severity"], "override.");
        let Some(id) = ctx.string(t, "id", at.clone(), true) else { continue };
        let Some(rule) = rules.iter_mut().find(|r| r.id == id) else {
            let span = get(t, "id").map(|v| v.span()).unwrap_or(at);
            ctx.err(span, ErrorKind::UnknownOverrideId(id));
            continue;
        };
        if let Some(enabled) = ctx.boolean(t, "enabled", at.clone(), false) {
            rule.enabled = enabled;
        }
        if get(t, "severity").is_some()
            && let Some(sev) = ctx.severity(t, at.clone(), false)
        {
            rule.severity = sev;
        }
        if let Some(p) = get(t, "params") {
            let Some(pt) = p.get_ref().as_table() else {
                ctx.err(p.span(), ErrorKind::BadField { name: "params".into(), expected: "a table" });
                continue;
            };
            let mut values = match toml::Value::try_from(&rule.params) {
                Ok(toml::Value::Table(t)) => t,
                _ => toml::Table::new(),
            };
            ctx.params(rule.family, pt, &mut values);
            if let Some(params) = ctx.build(rule.family, values, p.span()) {
                rule.params = params;
            }
        }
        rule.defined_at = format!("{}:{}", file, ctx.line(at));
    }

    let added = ctx.rules(doc, &rules);
    rules.extend(added);
    let set = RuleSet {
        jurisdiction: jurisdiction.unwrap_or_default(),
        version: version.unwrap_or_default(),
        rules,
    };
    ctx.finish(set)
}
