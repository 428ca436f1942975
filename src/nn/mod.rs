//! candle building blocks that know nothing of datasets.
//!
//! - [`ffnn`]: a feed-forward classifier over dense rows or sparse (CSR) rows.
//! - [`fused`]: fused CPU ops (a dense layer with its activation and dropout as one autograd
//!   node; the loss's gradient in one pass).
//! - [`ops`]: custom ops (a data-side matmul whose backward skips the input's gradient).
//! - [`rnn`]: GRU / LSTM layers over masked batches as one op with a hand-written backward.
//! - [`arch`]: the BERT-family architectures (BERT, DistilBERT, RoBERTa, ELECTRA, ALBERT): where
//!   each keeps its tensors, and how they differ.
//! - [`bert`]: a BERT-family encoder (MiniLM and the above) for fast CPU inference over packed
//!   sequences.
//! - [`bert_train`]: the same encoder in trainable form (fine-tuning), hand-written backward ops.
//! - [`hub`]: model directories by Hugging Face hub id (feature `hub`).
//! - [`kernels`]: the vectorised element-wise kernels it runs (softmax, GELU, layer norm).

pub mod arch;
pub mod bert;
pub mod bert_train;
pub mod ffnn;
pub mod fused;
pub mod hub;
pub mod kernels;
pub mod ops;
pub mod rnn;

pub use arch::Arch;
pub use bert::{BertConfig, BertEncoder};
pub use bert_train::{BertOps, PackedSeqs, TrainableBert};
pub use ffnn::{Activation, Ffnn, FfnnShape, SparseBatch};
pub use rnn::Cell;
