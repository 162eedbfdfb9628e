//! Outbound webhooks: signing secrets, the two signature styles a delivery carries, the events
//! jobs send, the target policy and the outbound client, and the durable delivery scheduler.

pub mod client;
pub mod deliver;
pub mod event;
pub mod sign;
pub mod target;
pub mod url;
pub mod vault;
