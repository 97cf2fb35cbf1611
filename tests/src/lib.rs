//! Test support shared by the integration tests, the benchmarks and the local run:
//! the AWS endpoint harness (moto_server) and, later, the Google and Zoho emulators.

pub mod apigw;
pub mod aws;
pub mod bench;
pub mod emulators;
pub mod functions;
pub mod lambda;
pub mod local_http;
pub mod sync_support;
