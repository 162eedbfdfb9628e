//! Outbound webhooks: signing secrets and the two signature styles a delivery carries.
//! Pure code; storage and the network are reached by the callers.

pub mod sign;
pub mod target;
pub mod vault;
