//! Data-field names as the bodies write them, normalised so that the same datum asked
//! for twice is recognised (一表通): 常住人口 / 常住人口数 / 常住人口（人）are one field.

/// Synonyms seen in grassroots forms, mapped to one name (after [`normalize_field`]'s
/// other steps).
const SYNONYMS: &[(&str, &str)] = &[
    ("公民身份号码", "身份证号"),
    ("身份证号码", "身份证号"),
    ("身份证件号码", "身份证号"),
    ("手机号码", "联系电话"),
    ("手机号", "联系电话"),
    ("电话号码", "联系电话"),
    ("联系方式", "联系电话"),
    ("户籍人口数量", "户籍人口"),
    ("总户数", "户数"),
    ("家庭户数", "户数"),
    ("党员数", "党员人数"),
    ("村两委成员数", "村两委成员"),
    ("低保对象数", "低保对象人数"),
];

/// The canonical form of a field name: full-width ASCII folded, spaces, punctuation and a
/// trailing unit in brackets removed, count suffixes (数, 数量, 人数 where the stem already
/// names people) dropped, and known synonyms merged.
pub fn normalize_field(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            c => c,
        })
        .collect();
    // A trailing unit in brackets: 常住人口（人）, 面积(亩).
    if let Some(open) = s.rfind(['(', '（', '[', '【'])
        && s.ends_with([')', '）', ']', '】'])
        && open > 0
    {
        s.truncate(open);
    }
    let mut s: String = s
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_ascii_punctuation())
        .filter(|c| !matches!(c, '“' | '”' | '‘' | '’' | '、' | '，' | '。' | '：' | '；' | '·' | '"'))
        .collect::<String>()
        .to_lowercase();
    for (from, to) in SYNONYMS {
        if s == *from {
            s = (*to).to_owned();
        }
    }
    for suffix in ["数量", "总数"] {
        if s.chars().count() > suffix.chars().count() + 1 && s.ends_with(suffix) {
            s.truncate(s.len() - suffix.len());
        }
    }
    // 常住人口数 → 常住人口; but 人数 alone, and 党员人数 (a count of people named by the
    // stem), keep their meaning through the synonym table.
    if s.ends_with("人口数") {
        s.truncate(s.len() - "数".len());
    }
    for (from, to) in SYNONYMS {
        if s == *from {
            s = (*to).to_owned();
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::normalize_field as n;

    #[test]
    fn the_same_datum_written_differently_is_one_field() {
        assert_eq!(n("常住人口"), "常住人口");
        assert_eq!(n("常住人口数"), "常住人口");
        assert_eq!(n(" 常住人口（人）"), "常住人口");
        assert_eq!(n("常住人口(人)"), "常住人口");
        assert_eq!(n("户籍人口数量"), "户籍人口");
        assert_eq!(n("公民身份号码"), "身份证号");
        assert_eq!(n("身份证号码"), "身份证号");
        assert_eq!(n("手机号码"), "联系电话");
        assert_eq!(n("村“两委”成员数"), "村两委成员");
        assert_eq!(n("ＧＤＰ总量"), "gdp总量");
    }

    #[test]
    fn different_data_stay_different() {
        assert_ne!(n("常住人口"), n("户籍人口"));
        assert_ne!(n("低保户数"), n("低保对象人数"));
        assert_ne!(n("党员人数"), n("常住人口"));
        assert_eq!(n("人数"), "人数");
    }
}
