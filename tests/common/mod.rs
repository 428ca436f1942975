//! Helpers shared by integration tests: a real MLflow server and a flaky HTTP proxy.
#![allow(dead_code)]

pub mod cli;
pub mod mlflow_server;
pub mod notebook;
pub mod proxy;
