//! Third parties: the webhooks that tell them what happened (from the
//! events outbox of `platform`). Their API keys are accounts' business.

pub mod webhooks;
