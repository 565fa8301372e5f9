//! The gap-free series legal records are numbered in (French invoices and
//! credit notes follow unbroken sequences): one counter row each in
//! `invoice_numbers`, incremented in the transaction that writes the
//! record, so a rollback gives its number back and concurrent writers
//! queue on the row (PostgreSQL's row lock, SQLite's one writer).

use chrono::{DateTime, Datelike, Utc};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{ConnectionTrait, DbErr};

use crate::error::ApiResult;
use entity::invoice_numbers;

/// A series: its counter row and the prefix its numbers print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Series {
    pub counter: &'static str,
    pub prefix: &'static str,
}

/// Invoices the app issues: "2026-000042".
pub const INVOICES: Series = Series {
    counter: "invoices",
    prefix: "",
};

/// Credit notes the app issues: "AV-2026-000003".
pub const CREDIT_NOTES: Series = Series {
    counter: "credit_notes",
    prefix: "AV-",
};

impl Series {
    /// Takes the next number, in `txn`: it is given back if `txn` rolls
    /// back.
    pub async fn take(self, txn: &impl ConnectionTrait) -> ApiResult<i64> {
        use sea_orm::sea_query::ExprTrait as _;
        let mut q = Query::update();
        q.table(invoice_numbers::Entity)
            .value(
                invoice_numbers::Column::Last,
                Expr::col(invoice_numbers::Column::Last).add(1_i64),
            )
            .and_where(Expr::col(invoice_numbers::Column::Name).eq(self.counter))
            .returning_col(invoice_numbers::Column::Last);
        let row = txn
            .query_one(&q)
            .await?
            .ok_or_else(|| DbErr::Custom(format!("the {} counter row is missing", self.counter)))?;
        Ok(row.try_get_by_index(0)?)
    }

    /// The printed number: the prefix, the year it was issued at the venue
    /// (the year its printed date shows), then the counter. The counter
    /// never restarts, so the numbers stay one unbroken sequence.
    pub fn number(self, sequence: i64, issued_at: DateTime<Utc>) -> String {
        format!(
            "{}{}-{sequence:06}",
            self.prefix,
            crate::domain::platform::clock::today_at_venue(issued_at).year()
        )
    }

    /// The numbers the series must hold: from the one after those deleted
    /// past their retention period, to the last taken.
    pub async fn kept(
        self,
        db: &impl ConnectionTrait,
    ) -> Result<std::ops::RangeInclusive<i64>, DbErr> {
        use sea_orm::EntityTrait;
        let (pruned, last) = invoice_numbers::Entity::find_by_id(self.counter.to_owned())
            .one(db)
            .await?
            .map_or((0, 0), |c| (c.pruned_through, c.last));
        Ok(pruned + 1..=last)
    }

    /// Locks the series' row for the rest of `txn` (a write of nothing):
    /// whoever takes a number meanwhile waits.
    pub async fn hold(self, txn: &impl ConnectionTrait) -> Result<(), DbErr> {
        use sea_orm::sea_query::ExprTrait as _;
        let mut q = Query::update();
        q.table(invoice_numbers::Entity)
            .value(
                invoice_numbers::Column::PrunedThrough,
                Expr::col(invoice_numbers::Column::PrunedThrough),
            )
            .and_where(Expr::col(invoice_numbers::Column::Name).eq(self.counter));
        txn.execute(&q).await?;
        Ok(())
    }

    /// Records that the numbers through `sequence` were deleted, past
    /// their retention period.
    pub async fn pruned(self, db: &impl ConnectionTrait, sequence: i64) -> Result<(), DbErr> {
        use sea_orm::sea_query::ExprTrait as _;
        let mut q = Query::update();
        q.table(invoice_numbers::Entity)
            .value(invoice_numbers::Column::PrunedThrough, sequence)
            .and_where(Expr::col(invoice_numbers::Column::Name).eq(self.counter))
            .and_where(Expr::col(invoice_numbers::Column::PrunedThrough).lt(sequence));
        db.execute(&q).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_carry_the_year_their_date_shows_at_the_venue() {
        let new_year_in_paris = "2025-12-31T23:30:00Z".parse().unwrap();
        assert_eq!(INVOICES.number(42, new_year_in_paris), "2026-000042");
        assert_eq!(CREDIT_NOTES.number(3, new_year_in_paris), "AV-2026-000003");
        let still_2025 = "2025-12-31T22:30:00Z".parse().unwrap();
        assert_eq!(INVOICES.number(7, still_2025), "2025-000007");
    }
}
