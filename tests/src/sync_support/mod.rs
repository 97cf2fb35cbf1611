//! Support for the sync engine tests and the local run: the emulator harness, an in-memory fake
//! of both APIs, crash injection, and the "both sides agree" check.

pub mod check;
pub mod crash;
pub mod emu_world;
pub mod fake;
pub mod harness;
pub mod world;
