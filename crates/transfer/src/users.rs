//! Accounts: bulk import of the cadres and body staff of units
//! (`username, display_name, role, scope, body, password`). Who belongs to which unit
//! decides the anonymity sets and token allowances later, so accounts come in by file,
//! per unit, not one by one.

use std::collections::HashMap;

use tongxin_domain::{Role, UnitCode, User, new_id};

use crate::columns::{ColumnSpec, Columns, Reason, RowReader};
use crate::demands::resolve_body;
use crate::error::{ImportErrors, Problems};
use crate::table::Table;
use crate::units::first_reason;
use crate::{BodyIndex, Known, References};

/// The accounts columns:
/// - `username` (用户名, 账号), required: 3–64 letters, digits or `. _ -`;
/// - `display_name` (姓名), required;
/// - `role` (角色), required: `cadre`, `body_staff`, `office`, `admin` or the Chinese names;
/// - `scope` (单位代码, 所在单位), required: the unit whose subtree the account covers;
/// - `body` (所属部门), for body staff: a UUID or `<unit code>/<department>[/<division>]`;
/// - `password` (初始密码), optional: at least 8 characters; empty means one is generated.
pub const USER_COLUMNS: &[ColumnSpec] = &[
    ColumnSpec { name: "username", aliases: &["用户名", "账号"], required: true },
    ColumnSpec { name: "display_name", aliases: &["姓名", "名称"], required: true },
    ColumnSpec { name: "role", aliases: &["角色"], required: true },
    ColumnSpec {
        name: "scope", aliases: &["单位代码", "所在单位", "单位", "范围"], required: true
    },
    ColumnSpec { name: "body", aliases: &["所属部门", "部门"], required: false },
    ColumnSpec { name: "password", aliases: &["初始密码", "密码"], required: false },
];

/// An account read from a file; `user.password_hash` is empty: the caller hashes
/// `password`, or generates one when it is `None`.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountRow {
    pub user: User,
    pub password: Option<String>,
}

fn parse_role(s: &str) -> Result<Role, Reason> {
    Role::ALL.into_iter().find(|r| r.as_str() == s.to_ascii_lowercase() || r.zh() == s).ok_or_else(|| {
        let zh = Role::ALL.iter().map(|r| r.zh()).collect::<Vec<_>>().join("、");
        let codes = Role::ALL.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ");
        (format!("未知的角色“{s}”（应为 {zh}）"), format!("unknown role '{s}' (expected one of {codes})"))
    })
}

/// Reads accounts from `table`: every field checked, usernames unique in the file, scope
/// units in `known.units`, bodies among `known.bodies`.
pub fn import_users(table: &Table, known: &Known) -> Result<Vec<AccountRow>, ImportErrors> {
    let mut problems = Problems::new(&table.file, table.row_label());
    let Some(cols) = Columns::resolve(table, USER_COLUMNS, &mut problems) else {
        return Err(problems.into_errors());
    };
    let index = BodyIndex::new(&known.bodies);
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::with_capacity(table.rows.len());
    for row in &table.rows {
        let mut r = RowReader::new(row, &cols, &mut problems);
        let username = r.text("username").to_owned();
        let display_name = r.text("display_name").to_owned();
        let role = r.required("role", parse_role);
        let scope = r.required("scope", |s| {
            let code = UnitCode::parse(s).map_err(first_reason)?;
            if known.units.contains(&code) {
                Ok(code)
            } else {
                Err((format!("单位 {code} 不存在"), format!("unknown unit {code}")))
            }
        });
        let body = r.parsed("body", None, |s| resolve_body(s, &index).map(|b| Some(b.id)));
        let password = r.parsed("password", None, |s| {
            if s.chars().count() < 8 {
                Err((
                    "初始密码至少 8 个字符".into(),
                    "the initial password must be at least 8 characters".into(),
                ))
            } else {
                Ok(Some(s.to_owned()))
            }
        });
        if !username.is_empty() {
            if let Some(first) = seen.get(&username) {
                r.error(
                    "username",
                    format!("用户名 {username} 重复：第 {first} 行和第 {} 行", r.number()),
                    format!("duplicate username {username}: rows {first} and {}", r.number()),
                );
            } else {
                seen.insert(username.clone(), r.number());
            }
        }
        let (Some(role), Some(scope), Some(body), Some(password)) = (role, scope, body, password) else {
            continue;
        };
        let user =
            User { id: new_id(), username, display_name, role, scope, body, password_hash: String::new() };
        if let Err(invalid) = user.validate() {
            for e in &invalid.0 {
                r.field_error(e, str::to_owned);
            }
        }
        if r.clean() {
            out.push(AccountRow { user, password });
        }
    }
    problems.finish(out)
}

pub(crate) fn references(table: &Table) -> References {
    let cols = Columns::lenient(table, USER_COLUMNS);
    let mut problems = Problems::new(&table.file, table.row_label());
    let mut refs = References::default();
    for row in &table.rows {
        let mut r = RowReader::new(row, &cols, &mut problems);
        if let Ok(code) = UnitCode::parse(r.text("scope")) {
            refs.unit_codes.insert(code);
        }
        let body = r.text("body");
        if let Ok(id) = uuid::Uuid::parse_str(body) {
            refs.body_ids.insert(id);
        } else if let Some((code, _)) = body.split_once(['/', '／'])
            && let Ok(unit) = UnitCode::parse(code)
        {
            refs.bodies_at.insert(unit);
        }
    }
    refs
}
