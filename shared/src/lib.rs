//! The library behind the three Lambda functions and the local run: the domain, the sync engine,
//! the API clients, the state store and OAuth. Functional core (planner), imperative shell
//! (executor, clients, stores) behind small traits.

pub mod config;
pub mod health;
pub mod logging;
pub mod settings;
pub mod store;
