//! Topic similarity on Chinese text: character n-gram shingles, exact Jaccard, and MinHash
//! signatures with LSH banding to find candidate pairs in large groups.
//!
//! Written by hand: MinHash and banding are a few dozen lines, and the crates that offer
//! them (e.g. `gaoya`) bring a thread pool and generic machinery the engine does not need.
//! Chinese has no word boundaries, so shingles are over characters after the words every
//! title shares (关于, 工作, 会议, 通知, years, place scopes …) are removed; otherwise
//! "全省防汛工作会议" and "全省教育工作会议" would look alike.

use rustc_hash::{FxHashMap, FxHasher};
use std::hash::{Hash, Hasher};

/// Words that carry no topic: the frame of nearly every title.
const FRAME_WORDS: &[&str] = &[
    "关于",
    "开展",
    "召开",
    "举办",
    "组织",
    "进一步",
    "做好",
    "加强",
    "推进",
    "落实",
    "贯彻",
    "全面",
    "深入",
    "工作",
    "会议",
    "视频",
    "调度",
    "部署",
    "推进会",
    "座谈会",
    "现场会",
    "培训",
    "通知",
    "方案",
    "意见",
    "述职",
    "评议",
    "验收",
    "观摩",
    "动员",
    "总结",
    "表彰",
    "现场",
    "推进",
    "情况",
    "有关",
    "事项",
    "专项",
    "检查",
    "督查",
    "调研",
    "指导",
    "帮扶",
    "考核",
    "评估",
    "报送",
    "填报",
    "全省",
    "全市",
    "全州",
    "全县",
    "全区",
    "全镇",
    "全乡",
    "省级",
    "市级",
    "县级",
    "乡镇",
    "年度",
    "季度",
    "第一",
    "第二",
    "第三",
    "第四",
    "上半年",
    "下半年",
    "的",
    "和",
    "及",
    "与",
];

/// The text used for similarity: punctuation, digits, Latin letters and frame words removed.
pub fn normalize(text: &str) -> String {
    let mut s: String = text
        .chars()
        .filter(|c| !c.is_ascii_digit() && !c.is_ascii_alphabetic() && !c.is_whitespace())
        .filter(|c| !c.is_ascii_punctuation() && !is_cjk_punctuation(*c))
        .collect();
    for w in FRAME_WORDS {
        if s.contains(w) {
            s = s.replace(w, "");
        }
    }
    // A year left alone (2026年 → 年) says nothing either, nor the 会 of 部署会.
    let mut s = s.replace('年', "");
    while s.ends_with('会') {
        s.pop();
    }
    s
}

fn is_cjk_punctuation(c: char) -> bool {
    matches!(c, '\u{3000}'..='\u{303F}' | '\u{FF00}'..='\u{FF0F}' | '\u{FF1A}'..='\u{FF20}' | '\u{FF3B}'..='\u{FF40}' | '\u{FF5B}'..='\u{FF65}' | '\u{2018}'..='\u{201F}' | '\u{2014}' | '\u{2026}' | '\u{00B7}')
}

fn hash_str(s: &str) -> u64 {
    let mut h = FxHasher::default();
    s.hash(&mut h);
    h.finish()
}

/// The sorted, distinct hashes of the `k`-character shingles of `normalized` text. A text
/// shorter than `k` characters is one shingle of itself; an empty text has none.
pub fn shingles(normalized: &str, k: usize) -> Vec<u64> {
    let k = k.max(1);
    let chars: Vec<(usize, char)> = normalized.char_indices().collect();
    let mut out = Vec::new();
    if chars.is_empty() {
        return out;
    }
    if chars.len() <= k {
        out.push(hash_str(normalized));
        return out;
    }
    for w in 0..=chars.len() - k {
        let start = chars[w].0;
        let end = chars.get(w + k).map(|c| c.0).unwrap_or(normalized.len());
        out.push(hash_str(&normalized[start..end]));
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Exact Jaccard similarity of two sorted, distinct shingle sets (0 when both are empty).
pub fn jaccard(a: &[u64], b: &[u64]) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 0.0;
    }
    let (mut i, mut j, mut both) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                both += 1;
                i += 1;
                j += 1;
            }
        }
    }
    both as f64 / (a.len() + b.len() - both) as f64
}

/// Hashes per MinHash signature.
pub const SIGNATURE_LEN: usize = 32;
/// LSH banding: `BANDS` bands of `ROWS` hashes. Two sets of Jaccard `s` share a band with
/// probability 1 − (1 − s²)¹⁶: 0.99 at s = 0.5, 0.92 at 0.4, 0.54 at 0.22, so every
/// threshold the rule sets use (≥ 0.4) is found almost surely, and the exact Jaccard
/// decides.
pub const ROWS: usize = 2;
pub const BANDS: usize = SIGNATURE_LEN / ROWS;

/// A MinHash signature: for each of [`SIGNATURE_LEN`] hash functions, the least hash of
/// any shingle. The fraction of equal positions estimates the Jaccard similarity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature(pub [u32; SIGNATURE_LEN]);

/// Fixed odd multipliers and offsets (from a SplitMix64 sequence), so signatures are the
/// same on every machine and run.
fn coefficients() -> &'static [(u64, u64); SIGNATURE_LEN] {
    use std::sync::OnceLock;
    static C: OnceLock<[(u64, u64); SIGNATURE_LEN]> = OnceLock::new();
    C.get_or_init(|| {
        let mut state = 0x7f4a_7c15_9e37_79b9u64;
        let mut next = || {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        std::array::from_fn(|_| (next() | 1, next()))
    })
}

impl Signature {
    pub fn of(shingles: &[u64]) -> Signature {
        let c = coefficients();
        let mut sig = [u32::MAX; SIGNATURE_LEN];
        for &s in shingles {
            for (slot, (a, b)) in sig.iter_mut().zip(c.iter()) {
                let h = (a.wrapping_mul(s).wrapping_add(*b) >> 32) as u32;
                if h < *slot {
                    *slot = h;
                }
            }
        }
        Signature(sig)
    }

    /// The MinHash estimate of the Jaccard similarity.
    pub fn estimate(&self, other: &Signature) -> f64 {
        let same = self.0.iter().zip(other.0.iter()).filter(|(a, b)| a == b).count();
        same as f64 / SIGNATURE_LEN as f64
    }

    fn band_key(&self, band: usize) -> u64 {
        let mut h = FxHasher::default();
        band.hash(&mut h);
        self.0[band * ROWS..(band + 1) * ROWS].hash(&mut h);
        h.finish()
    }
}

/// Groups at or below this size are compared pair by pair; above it, LSH proposes pairs.
pub const ALL_PAIRS_UP_TO: usize = 48;

/// The pairs `(i, j)`, `i < j`, of `sets` (sorted shingle sets) whose exact Jaccard is at
/// least `threshold`, with the similarity. Empty sets match nothing. For large inputs the
/// candidates come from MinHash LSH buckets, so a pair just above a low threshold may
/// rarely be missed (see [`ROWS`]); the similarity reported is always exact.
pub fn similar_pairs(sets: &[Vec<u64>], threshold: f64) -> Vec<(usize, usize, f64)> {
    let mut out = Vec::new();
    let check = |i: usize, j: usize, out: &mut Vec<(usize, usize, f64)>| {
        let s = jaccard(&sets[i], &sets[j]);
        if s >= threshold && !sets[i].is_empty() {
            out.push((i, j, s));
        }
    };
    if sets.len() <= ALL_PAIRS_UP_TO {
        for i in 0..sets.len() {
            for j in i + 1..sets.len() {
                check(i, j, &mut out);
            }
        }
        return out;
    }
    let sigs: Vec<Signature> = sets.iter().map(|s| Signature::of(s)).collect();
    let mut buckets: FxHashMap<u64, Vec<usize>> = FxHashMap::default();
    for (i, sig) in sigs.iter().enumerate() {
        if sets[i].is_empty() {
            continue;
        }
        for band in 0..BANDS {
            buckets.entry(sig.band_key(band)).or_default().push(i);
        }
    }
    let mut candidates: Vec<(usize, usize)> = Vec::new();
    for members in buckets.values() {
        for (x, &i) in members.iter().enumerate() {
            for &j in &members[x + 1..] {
                candidates.push((i.min(j), i.max(j)));
            }
        }
    }
    candidates.sort_unstable();
    candidates.dedup();
    for (i, j) in candidates {
        check(i, j, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(text: &str) -> Vec<u64> {
        shingles(&normalize(text), 2)
    }

    #[test]
    fn frame_words_and_places_do_not_make_topics_alike() {
        assert!(jaccard(&set("全省防汛防台风工作视频调度会议"), &set("全省教育工作会议")) < 0.2);
        assert!(jaccard(&set("全省防汛防台风工作视频调度会议"), &set("防汛防台风工作部署会")) >= 0.99);
        assert!(
            jaccard(&set("2026年高标准农田建设推进会"), &set("关于开展高标准农田建设专项检查的通知")) >= 0.99
        );
        assert!(jaccard(&set("高标准农田建设"), &set("高标准农田建设质量")) >= 0.5);
        assert!(jaccard(&set("防汛防台风"), &set("森林防火")) < 0.1);
    }

    #[test]
    fn similar_titles_from_the_field_match_and_different_matters_do_not() {
        let same = [
            ("乡村振兴战略实施情况督查", "乡村振兴战略实施推进会"),
            ("农村人居环境整治提升", "农村人居环境整治现场会"),
            ("安全生产大检查", "安全生产工作部署会"),
            ("基层党建工作述职评议", "基层党建工作督查"),
        ];
        for (a, b) in same {
            assert!(jaccard(&set(a), &set(b)) >= 0.5, "{a} / {b}: {}", jaccard(&set(a), &set(b)));
        }
        let different = [
            ("乡村振兴战略实施", "安全生产大检查"),
            ("农村人居环境整治", "农村集体经济发展"),
            ("防汛抗旱", "防止返贫动态监测"),
            ("基层党建", "基层减负"),
        ];
        for (a, b) in different {
            assert!(jaccard(&set(a), &set(b)) < 0.5, "{a} / {b}: {}", jaccard(&set(a), &set(b)));
        }
    }

    #[test]
    fn lsh_finds_the_same_pairs_as_comparing_all_pairs() {
        let topics = [
            "高标准农田建设",
            "防汛防台风",
            "乡村振兴",
            "安全生产",
            "森林防火",
            "农村人居环境整治",
            "防止返贫动态监测",
            "基层党建",
            "河湖长制",
            "耕地保护",
            "秸秆禁烧",
            "义务教育",
            "医疗保障",
        ];
        let mut sets = Vec::new();
        for i in 0..200 {
            let t = topics[i % topics.len()];
            let variant = ["", "推进", "质量提升", "专项整治", "常态化"][i % 5];
            sets.push(set(&format!("{t}{variant}")));
        }
        let mut all = Vec::new();
        for i in 0..sets.len() {
            for j in i + 1..sets.len() {
                let s = jaccard(&sets[i], &sets[j]);
                if s >= 0.5 {
                    all.push((i, j, s));
                }
            }
        }
        let lsh = similar_pairs(&sets, 0.5);
        assert!(sets.len() > ALL_PAIRS_UP_TO);
        // Every pair LSH reports is a true pair with its exact similarity, and it misses
        // at most the 1% the banding allows at the threshold itself.
        assert!(lsh.iter().all(|p| all.contains(p)));
        assert!(lsh.len() as f64 >= 0.98 * all.len() as f64, "recall {} of {}", lsh.len(), all.len());
        let clear: Vec<_> = all.iter().filter(|p| p.2 >= 0.7).collect();
        assert!(clear.iter().all(|p| lsh.contains(p)), "every pair well above the threshold is found");
    }

    #[test]
    fn minhash_estimates_jaccard() {
        let a = set("农村人居环境整治提升五年行动");
        let b = set("农村人居环境整治提升现场推进");
        let est = Signature::of(&a).estimate(&Signature::of(&b));
        assert!((est - jaccard(&a, &b)).abs() < 0.25, "{est} vs {}", jaccard(&a, &b));
        assert_eq!(Signature::of(&a).estimate(&Signature::of(&a)), 1.0);
    }

    #[test]
    fn short_and_empty_texts() {
        assert_eq!(shingles("", 2), Vec::<u64>::new());
        assert_eq!(shingles("党", 2).len(), 1);
        assert_eq!(jaccard(&[], &[]), 0.0);
        assert!(similar_pairs(&[vec![], vec![]], 0.0).is_empty());
    }
}
