//! HTTP: listener and TLS, the route table, the request pipeline, bodies and the error shape.
//! No business rules and no database access here.

pub mod body;
pub mod dispatch;
pub mod error;
pub mod listener;
pub mod metrics_listener;
pub mod outbound;
pub mod route;
pub mod sse;
pub mod upload;
