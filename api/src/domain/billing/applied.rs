//! What one payment event did: the outcome recorded with it, and the
//! gateway calls it owes (settled after the commit).

use uuid::Uuid;

/// What one event did: the outcome recorded with it, and owed calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub outcome: String,
    pub owed: Vec<Uuid>,
}

impl Applied {
    pub fn outcome(outcome: impl Into<String>) -> Self {
        Self {
            outcome: outcome.into(),
            owed: Vec::new(),
        }
    }
}
