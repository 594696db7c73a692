//! Local accounts: roles bound to a unit scope, argon2 password hashes.

use argon2::{PasswordHasher, PasswordVerifier};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{FieldError, Invalid};
use crate::unit::UnitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 基层干部: sees the demands on their unit, records demands that arrived.
    Cadre,
    /// 上级部门工作人员: registers the demands of their body.
    BodyStaff,
    /// 减负办: watches burden in their scope.
    Office,
    /// 管理员: manages accounts and data in their scope.
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Cadre, Role::BodyStaff, Role::Office, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Cadre => "cadre",
            Role::BodyStaff => "body_staff",
            Role::Office => "office",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn zh(self) -> &'static str {
        match self {
            Role::Cadre => "基层干部",
            Role::BodyStaff => "上级部门工作人员",
            Role::Office => "减负办",
            Role::Admin => "管理员",
        }
    }

    pub fn en(self) -> &'static str {
        match self {
            Role::Cadre => "grassroots cadre",
            Role::BodyStaff => "body staff",
            Role::Office => "burden-reduction office",
            Role::Admin => "administrator",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// The unit whose subtree this account may see and act on.
    pub scope: UnitCode,
    /// The body a staff member registers demands for.
    pub body: Option<Uuid>,
    /// PHC-formatted argon2id hash; never the password.
    #[serde(skip_serializing)]
    pub password_hash: String,
}

impl User {
    pub fn province(&self) -> &str {
        self.scope.province()
    }

    /// True when this account's scope covers `unit`.
    pub fn covers(&self, unit: &UnitCode) -> bool {
        self.scope.contains(unit)
    }

    pub fn validate(&self) -> Result<(), Invalid> {
        let mut errors = Vec::new();
        let u = &self.username;
        if u.len() < 3 || u.len() > 64 || !u.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        {
            errors.push(FieldError::new(
                "username",
                "用户名须为 3–64 个字母、数字或 . _ -",
                "username must be 3 to 64 letters, digits or . _ -",
            ));
        }
        if self.display_name.trim().is_empty() {
            errors.push(FieldError::new("display_name", "姓名不能为空", "name must not be empty"));
        }
        if self.role == Role::BodyStaff && self.body.is_none() {
            errors.push(FieldError::new(
                "body",
                "上级部门工作人员须指定所属部门",
                "body staff must belong to a body",
            ));
        }
        Invalid::check(errors)
    }
}

/// Hashes a password with argon2id and the crate's default (OWASP) parameters.
pub fn hash_password(password: &str) -> Result<String, Invalid> {
    if password.chars().count() < 8 {
        return Err(Invalid::one("password", "密码至少 8 个字符", "password must be at least 8 characters"));
    }
    argon2::Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| Invalid::one("password", "无法生成密码摘要", format!("cannot hash: {e}")))
}

/// True when `password` matches the stored hash. A malformed hash never matches.
pub fn verify_password(password: &str, hash: &str) -> bool {
    argon2::Argon2::default().verify_password(password.as_bytes(), hash).is_ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn password_round_trip() {
        let h = super::hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(super::verify_password("correct horse", &h));
        assert!(!super::verify_password("wrong horse", &h));
        assert!(!super::verify_password("x", "not a hash"));
        assert!(super::hash_password("short").is_err());
    }
}
