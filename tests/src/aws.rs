//! AWS endpoint harness (moto_server).
