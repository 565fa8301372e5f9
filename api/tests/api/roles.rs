//! Admins change other accounts' roles through the API: never their own,
//! never against `ADMIN_EMAILS`, never admin to an unverified address;
//! each change takes effect on the next request and is kept.

use common::auth::{Role, RoleChangeDto, UserDto};
use reqwest::StatusCode;
use serde_json::json;

use crate::support::{ADMIN_EMAIL, spawn_app};

#[actix_web::test]
async fn an_admin_changes_another_account_s_role_and_it_is_kept() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let admin_id = app.me(&admin).await.id;
    let (claire_id, claire) = app.quick_user("claire@example.com").await;
    app.mark_verified(claire_id).await;
    let role = |id: uuid::Uuid| format!("/api/admin/users/{id}/role");

    // Made admin: her very next request is an admin's.
    app.get("/api/admin/sessions", Some(&claire))
        .await
        .assert_problem(403, "forbidden");
    let made = app
        .put(&role(claire_id), Some(&admin), json!({"role": "admin"}))
        .await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    assert_eq!(made.ok::<UserDto>().role, Role::Admin);
    assert_eq!(
        app.get("/api/admin/sessions", Some(&claire)).await.status,
        StatusCode::OK
    );
    // Asked again: nothing changes, nothing more is kept.
    let again = app
        .put(&role(claire_id), Some(&admin), json!({"role": "admin"}))
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);

    // Never one's own role, whoever asks.
    app.put(&role(claire_id), Some(&claire), json!({"role": "user"}))
        .await
        .assert_problem(409, "role_not_changeable");
    // Never against ADMIN_EMAILS: it would be admin again at the next start.
    app.put(&role(admin_id), Some(&claire), json!({"role": "user"}))
        .await
        .assert_problem(409, "role_not_changeable");
    assert_eq!(app.me(&admin).await.role, Role::Admin);
    // Never admin to an address nobody proved.
    let (squatted_id, _) = app.quick_user("boss.squatted@example.com").await;
    app.put(&role(squatted_id), Some(&admin), json!({"role": "admin"}))
        .await
        .assert_problem(409, "role_not_changeable");
    // Bad input.
    app.put(&role(claire_id), Some(&admin), json!({"role": "owner"}))
        .await
        .assert_problem(400, "bad_request");
    app.put(
        &role(uuid::Uuid::new_v4()),
        Some(&admin),
        json!({"role": "user"}),
    )
    .await
    .assert_problem(404, "not_found");

    // Taken back: her next request is a user's again.
    let back = app
        .put(&role(claire_id), Some(&admin), json!({"role": "user"}))
        .await;
    assert_eq!(back.ok::<UserDto>().role, Role::User);
    app.get("/api/admin/sessions", Some(&claire))
        .await
        .assert_problem(403, "forbidden");

    // Kept: who, whom, when, from what to what; newest first.
    let kept: Vec<RoleChangeDto> = app.get("/api/admin/role-changes", Some(&admin)).await.ok();
    let hers: Vec<_> = kept.iter().filter(|c| c.user_id == claire_id).collect();
    assert_eq!(hers.len(), 2, "{kept:?}");
    let by = format!("admin:{admin_id}");
    assert_eq!(
        (
            hers[0].old_role,
            hers[0].new_role,
            hers[0].changed_by.as_str()
        ),
        (Role::Admin, Role::User, by.as_str())
    );
    assert_eq!(
        (hers[1].old_role, hers[1].new_role, hers[1].email.as_str()),
        (Role::User, Role::Admin, "claire@example.com")
    );
    assert!(
        kept.iter()
            .any(|c| c.email == ADMIN_EMAIL && c.changed_by == "ADMIN_EMAILS")
    );
    assert!(!kept.iter().any(|c| c.user_id == squatted_id));
}
