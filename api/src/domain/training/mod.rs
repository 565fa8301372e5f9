//! The training itself, after the sale: presence per half-day, recorded
//! by admins or through the trainer's link, and the certificates of
//! completion (certificats de réalisation) counted from it.

pub mod certificates;
pub mod presence;
pub mod trainer_links;
