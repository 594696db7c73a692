//! The demo's accounts: one per role and scope a visitor may want to try, all sharing
//! [`crate::DEMO_PASSWORD`]. Usernames say what each is: `admin`, `office` (the
//! provincial burden-reduction office), `office.<code>` (prefecture office and a county
//! scope), `staff.<dept>` (provincial department staff), `cadre.<code>` (the scenario
//! county, township and village).

use chrono::Days;
use rand_chacha::ChaCha8Rng;
use tongxin_domain::{Role, Unit, User};
use uuid::Uuid;

use crate::bodies::Bodies;
use crate::calendar::{Calendar, at};
use crate::geo::{Geo, Stage};
use crate::{DEMO_PASSWORD, DemoAccount, uuid_at};

/// Provincial departments that get a staff account (`staff.<key>`).
pub(crate) const STAFF_DEPTS: &[&str] = &["agri", "rural", "emergency", "health", "stats", "org"];

pub(crate) fn build(
    rng: &mut ChaCha8Rng,
    geo: &Geo,
    stage: &Stage,
    bodies: &Bodies,
    cal: &Calendar,
) -> Vec<DemoAccount> {
    let mut created = at(cal.first() + Days::new(1), 10, 0);
    let mut out = Vec::new();
    let mut add = |rng: &mut ChaCha8Rng,
                   username: String,
                   display_name: String,
                   role: Role,
                   scope: &Unit,
                   body: Option<Uuid>| {
        created += chrono::Duration::seconds(1);
        out.push(DemoAccount {
            user: User {
                id: uuid_at(rng, created),
                username,
                display_name,
                role,
                scope: scope.code.clone(),
                body,
                password_hash: String::new(),
            },
            password: DEMO_PASSWORD.to_owned(),
        });
    };
    let province = geo.province;
    let prefecture = geo.prefectures[stage.prefecture];
    let county = geo.counties[stage.county];
    let township = geo.townships[stage.township];
    let village = geo.villages[stage.village];
    let body_id = |i: usize| bodies.all[i].id;
    add(rng, "admin".into(), "演示管理员".into(), Role::Admin, province, None);
    add(
        rng,
        "office".into(),
        format!("{}减负办", province.name),
        Role::Office,
        province,
        bodies.province.office.map(body_id),
    );
    add(
        rng,
        format!("office.{}", prefecture.code),
        format!("{}减负办", prefecture.name),
        Role::Office,
        prefecture,
        bodies.prefectures[stage.prefecture].office.map(body_id),
    );
    add(
        rng,
        format!("office.{}", county.code),
        format!("{}减负工作联络员", county.name),
        Role::Office,
        county,
        None,
    );
    for key in STAFF_DEPTS {
        if let Some(d) = bodies.province.dept(key) {
            let body = &bodies.all[d.body];
            add(
                rng,
                format!("staff.{key}"),
                format!("{}工作人员", body.name),
                Role::BodyStaff,
                province,
                Some(body.id),
            );
        }
    }
    for unit in [county, township, village] {
        add(rng, format!("cadre.{}", unit.code), format!("{}干部", unit.name), Role::Cadre, unit, None);
    }
    out
}
