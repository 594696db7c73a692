//! The interface language of a request: `?lang=` first, then the `lang` cookie (set by the
//! `/lang/{zh|en}` switch), then `Accept-Language`; Simplified Chinese by default.
//!
//! Strings are written at the point of use as `l.t("中文", "English")`, so a page can never
//! have a key in one language and miss it in the other.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    pub fn t<'a>(&self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    pub fn param(&self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    pub fn other(&self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }

    fn parse(s: &str) -> Option<Lang> {
        let s = s.trim().to_ascii_lowercase();
        if s.starts_with("zh") {
            Some(Lang::Zh)
        } else if s.starts_with("en") {
            Some(Lang::En)
        } else {
            None
        }
    }

    pub fn from_parts(parts: &Parts) -> Lang {
        if let Some(q) = parts.uri.query() {
            for pair in q.split('&') {
                if let Some(v) = pair.strip_prefix("lang=")
                    && let Some(l) = Lang::parse(v)
                {
                    return l;
                }
            }
        }
        if let Some(l) = crate::auth::cookie(&parts.headers, "lang").and_then(|v| Lang::parse(&v)) {
            return l;
        }
        parts
            .headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .and_then(Lang::parse)
            .unwrap_or_default()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Lang::from_parts(parts))
    }
}
