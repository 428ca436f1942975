//! Random streams. Every random choice takes the user's seed, and each component draws from
//! its own ChaCha8 stream of that seed, so that no two components see the same numbers: when
//! the randomized SVD's test matrix, the network's initial weights and the training loop's
//! shuffles all came from stream 0 and 1, 2, … of one seed, the features' random projection
//! and the network's start were functions of the same bits.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// A ChaCha8 generator for `seed`, positioned at the start of `stream`.
pub fn rng(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// Stream 0: the data split. Still also drawn from by components not yet moved to streams of
/// their own (moving one changes its measured results): the folds, Word2Vec / FastText
/// training, random word vectors, the fine-tuning head and the resampler. In a run with an
/// internal split their first draws are the bits the split shuffled with.
pub const SPLIT: u64 = 0;
/// Streams `EPOCHS + e`: the training loop's epoch `e` (its shuffle, then its dropout masks).
pub const EPOCHS: u64 = 1;
/// Streams `SVD + b`: block `b` of the randomized SVD's Gaussian test matrix.
pub const SVD: u64 = 1 << 48;
/// The RNN's initial weights (embedding rows come from the representation or
/// [`EMBEDDING_INIT`]).
pub const RNN_INIT: u64 = u64::MAX - 2;
/// The FFNN's initial weights.
pub const FFNN_INIT: u64 = u64::MAX - 1;
/// The rows of an RNN's embedding for tokens without a vector.
pub const EMBEDDING_INIT: u64 = u64::MAX;

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn streams_of_one_seed_differ_and_repeat() {
        let draw = |s| -> Vec<u32> { (0..8).map(|_| rng(42, s).random()).collect() };
        let first = |s| -> u64 { rng(42, s).random() };
        let named = [SPLIT, EPOCHS, SVD, RNN_INIT, FFNN_INIT, EMBEDDING_INIT];
        for (i, a) in named.iter().enumerate() {
            for b in &named[i + 1..] {
                assert_ne!(first(*a), first(*b), "streams {a} and {b} start alike");
            }
        }
        assert_eq!(draw(SVD), draw(SVD));
        assert_eq!(
            rng(42, SPLIT).random::<u64>(),
            ChaCha8Rng::seed_from_u64(42).random::<u64>()
        );
    }
}
