//! candle building blocks that know nothing of datasets.
//!
//! - [`ffnn`]: a feed-forward classifier over dense rows or sparse (CSR) rows.

pub mod ffnn;

pub use ffnn::{Activation, Ffnn, FfnnShape, SparseBatch};
