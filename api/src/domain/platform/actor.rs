//! Who acts on the domain: the signed-in user, as the rules need them
//! (the HTTP layer builds it from its extractor; jobs act as nobody).

use common::auth::Role;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub id: Uuid,
    pub email: String,
    pub role: Role,
}

impl Actor {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}
