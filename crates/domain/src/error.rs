//! Validation errors that name the field and say why, in Chinese and English.

use serde::Serialize;

/// One problem with one field of an input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    /// The field, as named in the API and in import column headers (`starts_at`, `targets[2]`).
    pub field: String,
    pub zh: String,
    pub en: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, zh: impl Into<String>, en: impl Into<String>) -> Self {
        FieldError { field: field.into(), zh: zh.into(), en: en.into() }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} ({})", self.field, self.en, self.zh)
    }
}

/// Every problem found in one input; never empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("invalid input: {}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
pub struct Invalid(pub Vec<FieldError>);

impl Invalid {
    pub fn one(field: impl Into<String>, zh: impl Into<String>, en: impl Into<String>) -> Self {
        Invalid(vec![FieldError::new(field, zh, en)])
    }

    /// `Ok(())` when `errors` is empty, the errors otherwise.
    pub fn check(errors: Vec<FieldError>) -> Result<(), Invalid> {
        if errors.is_empty() { Ok(()) } else { Err(Invalid(errors)) }
    }
}
