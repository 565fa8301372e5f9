//! What follows the migrations: the records an older release wrote are
//! completed with what this one keeps beside them.

/// What follows the migrations, once, under the setup lock: the records
/// an older release wrote get what this one keeps with them (an
/// address's skeleton, an invoice's seal, a refund's credit note). Run by the server's start,
/// `immersion migrate` and `immersion restore`.
pub async fn after_migrations(db: &sea_orm::DatabaseConnection) -> Result<(), sea_orm::DbErr> {
    let filled = crate::domain::accounts::users::fill_skeletons(db).await?;
    if filled > 0 {
        tracing::info!(filled, "older accounts got their address's skeleton");
    }
    let sealed = crate::domain::billing::seals::seal_unsealed(db).await?;
    if sealed > 0 {
        tracing::info!(sealed, "invoices issued before seals existed are sealed");
    }
    let credited = crate::domain::billing::credit_notes::cover_all(db, chrono::Utc::now())
        .await
        .map_err(|e| sea_orm::DbErr::Custom(e.to_string()))?;
    if credited > 0 {
        tracing::info!(
            credited,
            "refunds from before credit notes existed are credited"
        );
    }
    Ok(())
}
