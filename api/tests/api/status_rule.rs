//! The session-status rule is written once in Rust (`derive_status`) and
//! once in SQL (the CASE that seat changes write with the new count). This
//! checks the SQL against the Rust for every case, on the test's database.

use chrono::{Duration, NaiveDate, Utc};
use common::sessions::derive_status;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

use crate::support::spawn_app;

#[actix_web::test]
async fn seat_changes_write_the_status_derive_status_gives() {
    use entity::immersion_sessions::{Column, Entity};
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let s = app.create_session(&admin, json!({"max_places": 3})).await;
    let id: uuid::Uuid = s["id"].as_str().unwrap().parse().unwrap();
    let today = api::domain::platform::clock::today_at_venue(Utc::now());
    let starts: [NaiveDate; 3] = [today - Duration::days(1), today, today + Duration::days(1)];
    let mut cases = 0;
    for closed in [false, true] {
        for starts_on in starts {
            // From each count, one seat taken (when one is free) and one
            // given back (when one is taken).
            for reserved in 0..=3 {
                for delta in [1, -1] {
                    let after = reserved + delta;
                    if !(0..=3).contains(&after) {
                        continue;
                    }
                    Entity::update_many()
                        .col_expr(Column::ClosedByAdmin, Expr::value(closed))
                        .col_expr(Column::StartsOn, Expr::value(starts_on))
                        .col_expr(Column::EndsOn, Expr::value(starts_on + Duration::days(4)))
                        .col_expr(Column::ReservedPlaces, Expr::value(reserved))
                        .col_expr(Column::Status, Expr::value("open"))
                        .filter(Column::Id.eq(id))
                        .exec(&app.state.db)
                        .await
                        .unwrap();
                    if delta == 1 {
                        let taken = api::domain::catalog::seats::take(
                            &app.state.db,
                            id,
                            today,
                            false,
                            None,
                        )
                        .await
                        .unwrap();
                        assert!(taken.is_ok(), "{closed} {starts_on} {reserved}: {taken:?}");
                    } else {
                        api::domain::catalog::seats::release(&app.state.db, id, today)
                            .await
                            .unwrap();
                    }
                    let row = app.session_row(&id.to_string()).await;
                    let expected = derive_status(closed, starts_on, today, after, 3);
                    assert_eq!(
                        (row.reserved_places, row.status.as_str()),
                        (after, expected.as_str()),
                        "closed {closed}, starts {starts_on}, {reserved} → {after}"
                    );
                    cases += 1;
                }
            }
        }
    }
    assert_eq!(cases, 2 * 3 * 6);
}
