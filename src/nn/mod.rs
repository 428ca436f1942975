//! candle building blocks that know nothing of datasets.
//!
//! - [`ffnn`]: a feed-forward classifier over dense rows or sparse (CSR) rows.
//! - [`ops`]: custom ops (a data-side matmul whose backward skips the input's gradient).

pub mod ffnn;
pub mod ops;

pub use ffnn::{Activation, Ffnn, FfnnShape, SparseBatch};
