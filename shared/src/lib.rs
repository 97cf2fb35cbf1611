//! The library behind the three Lambda functions and the local run: the domain, the sync engine,
//! the API clients, the state store and OAuth. Functional core (planner), imperative shell
//! (executor, clients, stores) behind small traits.

pub mod config;
pub mod connect;
pub mod contact;
pub mod health;
pub mod logging;
pub mod mapping;
pub mod secrets;
pub mod settings;
pub mod status;
pub mod store;
pub mod sync;
pub mod sync_trigger;
pub mod web;
pub mod http;
pub mod oauth;
pub mod google;
pub mod zoho;
