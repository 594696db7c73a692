//! The anonymity set of a disclosure scope: how many cadres an anonymous report could
//! have come from, and whether that is enough.

use serde::Serialize;

/// The default threshold: a scope with fewer cadres cannot be chosen, and a public figure
/// over fewer reports is suppressed.
pub const DEFAULT_K: u32 = 10;

/// True when a scope with `cadres_in_scope` cadres hides a submitter among at least `k`.
pub fn can_choose_scope(cadres_in_scope: u32, k: u32) -> bool {
    cadres_in_scope >= k.max(1)
}

/// The meter shown while filing, in both languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Meter {
    pub cadres: u32,
    pub k: u32,
    pub allowed: bool,
    pub zh: String,
    pub en: String,
}

pub fn meter(cadres_in_scope: u32, k: u32) -> Meter {
    let n = cadres_in_scope;
    let allowed = can_choose_scope(n, k);
    let (zh, en) = if allowed {
        (
            format!("本范围共有 {n} 名干部。匿名提交时，别人只能知道是其中一人。"),
            format!(
                "{n} cadres share this scope. Filed anonymously, the report can only be traced to one of them."
            ),
        )
    } else {
        (
            format!("本范围共有 {n} 名干部，少于 {k} 名，匿名提交容易被认出，请选择更大的范围。"),
            format!(
                "{n} cadres share this scope, fewer than {k}: an anonymous report could be traced to you. Choose a wider scope."
            ),
        )
    };
    Meter { cadres: n, k, allowed, zh, en }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_and_text() {
        assert!(!can_choose_scope(9, DEFAULT_K));
        assert!(can_choose_scope(10, DEFAULT_K));
        assert!(!can_choose_scope(0, 0));
        let m = meter(1200, DEFAULT_K);
        assert!(m.allowed);
        assert!(m.zh.starts_with("本范围共有 1200 名干部"));
        assert!(m.en.starts_with("1200 cadres share this scope"));
        let m = meter(6, DEFAULT_K);
        assert!(!m.allowed);
        assert!(m.zh.contains("少于 10 名"));
        assert!(m.en.contains("fewer than 10"));
    }
}
