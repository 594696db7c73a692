//! The national administrative-division list (国家统计局 2023年统计用区划代码), vendored.
//!
//! The five CSV files of the `china-division` 2.7.0 package (provinces, prefectures,
//! counties, townships, villages: 665,276 units) are embedded gzip-compressed in the
//! binary (see `data/SOURCE.md` for their origin, licence and checksums) and turned into
//! domain [`Unit`]s on demand. Loading checks what the rest of tongxin relies on: every
//! code has the length of its level, each file is in strictly increasing code order, the
//! parent column agrees with the code's prefix and every parent exists, so the hierarchy
//! is complete. A problem is reported with the file and line that has it.

use std::io::Read;

use tongxin_domain::{Level, Unit, UnitCode};

/// The 31 provincial-level units of the mainland (code, name), in code order. Hong Kong,
/// Macao and Taiwan are not in the NBS list.
pub const PROVINCES: [(&str, &str); 31] = [
    ("11", "北京市"),
    ("12", "天津市"),
    ("13", "河北省"),
    ("14", "山西省"),
    ("15", "内蒙古自治区"),
    ("21", "辽宁省"),
    ("22", "吉林省"),
    ("23", "黑龙江省"),
    ("31", "上海市"),
    ("32", "江苏省"),
    ("33", "浙江省"),
    ("34", "安徽省"),
    ("35", "福建省"),
    ("36", "江西省"),
    ("37", "山东省"),
    ("41", "河南省"),
    ("42", "湖北省"),
    ("43", "湖南省"),
    ("44", "广东省"),
    ("45", "广西壮族自治区"),
    ("46", "海南省"),
    ("50", "重庆市"),
    ("51", "四川省"),
    ("52", "贵州省"),
    ("53", "云南省"),
    ("54", "西藏自治区"),
    ("61", "陕西省"),
    ("62", "甘肃省"),
    ("63", "青海省"),
    ("64", "宁夏回族自治区"),
    ("65", "新疆维吾尔自治区"),
];

/// The vintage of the data: 统计用区划代码 as of 2023-06-30 (published 2023-09-11).
pub const VINTAGE: &str = "NBS 2023";

/// One embedded file: its name (for error messages), the level of its rows and the bytes.
struct Source {
    file: &'static str,
    level: Level,
    gz: &'static [u8],
}

const SOURCES: [Source; 5] = [
    Source { file: "provinces.csv", level: Level::Province, gz: include_bytes!("../data/provinces.csv.gz") },
    Source { file: "cities.csv", level: Level::Prefecture, gz: include_bytes!("../data/cities.csv.gz") },
    Source { file: "areas.csv", level: Level::County, gz: include_bytes!("../data/areas.csv.gz") },
    Source { file: "streets.csv", level: Level::Township, gz: include_bytes!("../data/streets.csv.gz") },
    Source { file: "villages.csv", level: Level::Village, gz: include_bytes!("../data/villages.csv.gz") },
];

/// Why the division list could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum DivisionsError {
    /// The requested province code is not one of [`PROVINCES`].
    #[error(
        "unknown province code '{0}': expected one of the 31 two-digit codes from 11 (北京市) to 65 (新疆维吾尔自治区)"
    )]
    UnknownProvince(String),
    /// An embedded file is not valid gzip or not UTF-8.
    #[error("embedded {file} cannot be read: {source}")]
    Corrupt {
        file: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// A row is malformed, out of order, or its parent is missing.
    #[error("{file} line {line}: {reason}")]
    Row { file: &'static str, line: usize, reason: String },
}

/// The 31 provinces as owned (code, name) pairs, in code order.
pub fn provinces() -> Vec<(String, String)> {
    PROVINCES.iter().map(|(c, n)| ((*c).to_owned(), (*n).to_owned())).collect()
}

/// The name of a province (`"35"` → `"福建省"`), if the code is one.
pub fn province_name(code: &str) -> Option<&'static str> {
    PROVINCES.iter().find(|(c, _)| *c == code).map(|(_, n)| *n)
}

/// Every unit of the country (`None`) or of one province (`Some("35")`), down to village
/// level, sorted by code, so every unit comes after its parent.
///
/// An unknown province code is an error ([`DivisionsError::UnknownProvince`]), not an
/// empty list, so that a typo is not mistaken for an empty province.
pub fn load(province: Option<&str>) -> Result<Vec<Unit>, DivisionsError> {
    load_to(province, Level::Village)
}

/// Like [`load`], but only down to `deepest` (e.g. [`Level::Township`] skips the 620,573
/// villages and the time it takes to decompress them).
pub fn load_to(province: Option<&str>, deepest: Level) -> Result<Vec<Unit>, DivisionsError> {
    if let Some(p) = province
        && province_name(p).is_none()
    {
        return Err(DivisionsError::UnknownProvince(p.to_owned()));
    }
    let mut levels: Vec<Vec<Unit>> = Vec::with_capacity(5);
    for source in SOURCES.iter().filter(|s| s.level <= deepest) {
        let text = decompress(source)?;
        let parents = levels.last().map(Vec::as_slice);
        levels.push(parse(source, &text, province, parents)?);
    }
    Ok(merge_in_code_order(levels))
}

fn decompress(source: &Source) -> Result<String, DivisionsError> {
    let mut text = String::with_capacity(source.gz.len() * 8);
    flate2::read::GzDecoder::new(source.gz)
        .read_to_string(&mut text)
        .map_err(|e| DivisionsError::Corrupt { file: source.file, source: e })?;
    Ok(text)
}

/// Parses one file's rows (of one province when `province` is set), checking each
/// against `parents`, the already parsed level above (sorted by code).
fn parse(
    source: &Source,
    text: &str,
    province: Option<&str>,
    parents: Option<&[Unit]>,
) -> Result<Vec<Unit>, DivisionsError> {
    let file = source.file;
    let row_err = |line: usize, reason: String| DivisionsError::Row { file, line, reason };
    let Some((header, rest)) = text.split_once('\n') else {
        return Err(row_err(1, "no header line".into()));
    };
    if !header.starts_with("code,name") {
        return Err(row_err(1, format!("header '{header}' does not start with 'code,name'")));
    }
    // Restrict to one province's rows: the file is sorted by code, so they are one
    // contiguous run, found by binary search over line starts instead of a scan.
    let (start, end) = match province {
        Some(p) => province_range(rest, p.as_bytes()),
        None => (0, rest.len()),
    };
    let body = &rest[start..end];
    // Line numbers are only needed for an error message: counted then, not per row.
    let line_no = |i: usize| 2 + i + rest.as_bytes()[..start].iter().filter(|b| **b == b'\n').count();
    let row_err = |i: usize, reason: String| row_err(line_no(i), reason);
    let want_len = source.level.code_len();
    let parent_len = source.level.number().checked_sub(1).and_then(Level::from_number).map(Level::code_len);
    let mut units: Vec<Unit> = Vec::with_capacity(body.len() / 48 + 1);
    let mut last_parent: Option<&str> = None;
    for (i, line) in body.split_terminator('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let (code, name, parent_col) = split_row(line).map_err(|r| row_err(i, r))?;
        if code.len() != want_len {
            return Err(row_err(
                i,
                format!("code '{code}' should have {want_len} digits for a {} unit", source.level.as_str()),
            ));
        }
        let unit_code = UnitCode::parse(code).map_err(|e| row_err(i, e.to_string()))?;
        if let Some(prev) = units.last()
            && prev.code.as_str() >= code
        {
            return Err(row_err(
                i,
                format!("code {code} is not after the previous code {} (the file must be sorted)", prev.code),
            ));
        }
        if name.trim().is_empty() {
            return Err(row_err(i, format!("unit {code} has an empty name")));
        }
        if let (Some(plen), Some(parents)) = (parent_len, parents) {
            let parent = &code[..plen];
            if parent_col != Some(parent) {
                return Err(row_err(
                    i,
                    format!(
                        "unit {code}: parent column '{}' does not match its code prefix {parent}",
                        parent_col.unwrap_or("")
                    ),
                ));
            }
            if last_parent != Some(parent) {
                if parents.binary_search_by(|u| u.code.as_str().cmp(parent)).is_err() {
                    return Err(row_err(i, format!("unit {code} {name}: parent {parent} is missing")));
                }
                last_parent = Some(parent);
            }
        }
        units.push(Unit::new(unit_code, name));
    }
    Ok(units)
}

/// The byte range `[start, end)` of `body` holding the lines whose code starts with
/// `prefix`; `body` is a sequence of lines sorted by code.
fn province_range(body: &str, prefix: &[u8]) -> (usize, usize) {
    let bytes = body.as_bytes();
    // The start of the first line at or after byte `at`.
    let line_start = |at: usize| -> usize {
        if at == 0 {
            return 0;
        }
        match bytes[at - 1..].iter().position(|b| *b == b'\n') {
            Some(p) => at + p,
            None => bytes.len(),
        }
    };
    let key = |start: usize| -> &[u8] {
        let end = (start + prefix.len()).min(bytes.len());
        &bytes[start..end]
    };
    // Smallest line start whose key is >= bound (or > bound when `after`).
    let search = |after: bool| -> usize {
        let (mut lo, mut hi) = (0usize, bytes.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let s = line_start(mid);
            let go_right = if s >= bytes.len() {
                false
            } else if after {
                key(s) <= prefix
            } else {
                key(s) < prefix
            };
            if go_right { lo = s.max(mid) + 1 } else { hi = mid }
        }
        line_start(lo)
    };
    (search(false), search(true))
}

/// Splits `code,"name",parent,...` into its first three fields; names may be quoted
/// (with `""` for a quote inside), codes are not.
fn split_row(line: &str) -> Result<(&str, String, Option<&str>), String> {
    let Some((code, rest)) = line.split_once(',') else {
        return Err(format!("row '{line}' has no name column"));
    };
    let (name, rest) = if let Some(quoted) = rest.strip_prefix('"') {
        let mut name = String::with_capacity(quoted.len());
        let mut chars = quoted.char_indices();
        let mut after = None;
        while let Some((i, c)) = chars.next() {
            if c == '"' {
                if quoted[i + 1..].starts_with('"') {
                    name.push('"');
                    chars.next();
                } else {
                    after = Some(&quoted[i + 1..]);
                    break;
                }
            } else {
                name.push(c);
            }
        }
        let Some(after) = after else {
            return Err(format!("row '{line}': the quoted name is not closed"));
        };
        (name, after)
    } else {
        match rest.split_once(',') {
            Some((n, _)) => (n.to_owned(), &rest[n.len()..]),
            None => (rest.to_owned(), ""),
        }
    };
    let parent = match rest.strip_prefix(',') {
        Some(r) => Some(r.split_once(',').map_or(r, |(p, _)| p)),
        None if rest.is_empty() => None,
        None => return Err(format!("row '{line}': unexpected text after the name")),
    };
    Ok((code, name, parent))
}

/// Merges per-level lists, each sorted by code, into one list sorted by code.
fn merge_in_code_order(levels: Vec<Vec<Unit>>) -> Vec<Unit> {
    let total = levels.iter().map(Vec::len).sum();
    let mut out = Vec::with_capacity(total);
    let mut iters: Vec<std::vec::IntoIter<Unit>> = levels.into_iter().map(Vec::into_iter).collect();
    let mut heads: Vec<Option<Unit>> = iters.iter_mut().map(Iterator::next).collect();
    loop {
        let mut best: Option<(usize, &UnitCode)> = None;
        for (i, head) in heads.iter().enumerate() {
            if let Some(u) = head
                && best.is_none_or(|(_, code)| u.code < *code)
            {
                best = Some((i, &u.code));
            }
        }
        let Some((i, _)) = best else { break };
        let next = iters[i].next();
        if let Some(u) = std::mem::replace(&mut heads[i], next) {
            out.push(u);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_split_with_and_without_quotes() {
        let (c, n, p) = split_row(r#"350102,"鼓楼区",3501,35"#).unwrap();
        assert_eq!((c, n.as_str(), p), ("350102", "鼓楼区", Some("3501")));
        let (c, n, p) = split_row(r#"35,"福建省""#).unwrap();
        assert_eq!((c, n.as_str(), p), ("35", "福建省", None));
        let (_, n, p) = split_row(r#"1,"a""b",2"#).unwrap();
        assert_eq!((n.as_str(), p), ("a\"b", Some("2")));
        let (_, n, p) = split_row("1,plain,2,3").unwrap();
        assert_eq!((n.as_str(), p), ("plain", Some("2")));
        assert!(split_row("35").is_err());
        assert!(split_row(r#"35,"open"#).is_err());
        assert!(split_row(r#"35,"x"y,1"#).is_err());
    }

    #[test]
    fn province_range_finds_the_contiguous_run() {
        let body = "1101,a,11\n1201,b,12\n1202,c,12\n3501,d,35\n";
        let (s, e) = province_range(body, b"12");
        assert_eq!(&body[s..e], "1201,b,12\n1202,c,12\n");
        let (s, e) = province_range(body, b"35");
        assert_eq!(&body[s..e], "3501,d,35\n");
        let (s, e) = province_range(body, b"11");
        assert_eq!(&body[s..e], "1101,a,11\n");
        let (s, e) = province_range(body, b"13");
        assert_eq!(s, e);
        let (s, e) = province_range(body, b"99");
        assert_eq!((s, e), (body.len(), body.len()));
    }

    #[test]
    fn a_missing_parent_is_an_error_naming_the_row() {
        let parents = vec![Unit::new(UnitCode::parse("3501").unwrap(), "福州市")];
        let source = Source { file: "areas.csv", level: Level::County, gz: &[] };
        let text = "code,name,cityCode,provinceCode\n350102,\"鼓楼区\",3501,35\n350203,\"思明区\",3502,35\n";
        let err = parse(&source, text, None, Some(&parents)).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("areas.csv line 3"), "{msg}");
        assert!(msg.contains("parent 3502 is missing"), "{msg}");
    }

    #[test]
    fn bad_rows_are_errors_naming_the_line() {
        let source = Source { file: "cities.csv", level: Level::Prefecture, gz: &[] };
        let parents = vec![Unit::new(UnitCode::parse("35").unwrap(), "福建省")];
        for (text, want) in [
            ("code,name,provinceCode\n350,\"x\",35\n", "line 2: code '350' should have 4 digits"),
            ("code,name,provinceCode\n3502,\"x\",35\n3501,\"y\",35\n", "line 3: code 3501 is not after"),
            ("code,name,provinceCode\n3501,\"x\",36\n", "does not match its code prefix 35"),
            ("code,name,provinceCode\n35a1,\"x\",35\n", "line 2: invalid input"),
            ("code,name,provinceCode\n3501,\"\",35\n", "empty name"),
            ("nope\n", "line 1: header"),
        ] {
            let msg = parse(&source, text, None, Some(&parents)).unwrap_err().to_string();
            assert!(msg.contains(want), "{msg} should contain {want}");
        }
    }
}
