//! Checkpoints of the training loop: after every epoch, the weights, the optimizer's moments,
//! the best weights so far and a JSON state, so an interrupted run (Ctrl-C, a killed process)
//! resumes from its last finished epoch and ends with the same weights as an uninterrupted one.
//!
//! Layout of the folder: `weights-NNNN.safetensors` and `optimizer-NNNN.safetensors` (epoch
//! NNNN), `best-MMMM.safetensors` (the best epoch so far) and `state.json`, which names them.
//! Files are written under temporary names and renamed; `state.json` is written last, so a
//! kill at any moment leaves the previous complete checkpoint in force.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::train::config::TrainConfig;
use crate::train::history::History;

/// Layout version of `state.json`.
pub const CHECKPOINT_FORMAT: u32 = 1;

/// What `state.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointState {
    /// [`CHECKPOINT_FORMAT`].
    pub format: u32,
    /// Epochs finished (1-based count).
    pub epoch: usize,
    /// Optimizer steps taken (the schedule's position).
    pub step: u64,
    /// Best epoch so far and its validation macro-F1.
    pub best: Option<(usize, f64)>,
    /// Epochs since the best one.
    pub bad_epochs: usize,
    /// Every finished epoch.
    pub history: History,
    /// The random state: epoch `e` (0-based) shuffles and drops out with the ChaCha8 stream
    /// `e + 1` of `seed`, so the state to resume is the seed and the next epoch.
    pub rng_seed: u64,
    /// The options of the run (a resume with other options is refused).
    pub config: TrainConfig,
    /// Training rows and parameter values of the run (a resume on other data is refused).
    pub n_train: usize,
    /// Number of scalar parameters.
    pub n_params: usize,
}

/// A checkpoint folder.
#[derive(Debug, Clone)]
pub struct CheckpointDir {
    dir: PathBuf,
}

impl CheckpointDir {
    /// The folder `dir` (created when the first checkpoint is written).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        CheckpointDir { dir: dir.into() }
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// `dir/weights-NNNN.safetensors`.
    pub fn weights(&self, epoch: usize) -> PathBuf {
        self.dir.join(format!("weights-{epoch:04}.safetensors"))
    }

    /// `dir/optimizer-NNNN.safetensors`.
    pub fn optimizer(&self, epoch: usize) -> PathBuf {
        self.dir.join(format!("optimizer-{epoch:04}.safetensors"))
    }

    /// `dir/best-NNNN.safetensors`.
    pub fn best(&self, epoch: usize) -> PathBuf {
        self.dir.join(format!("best-{epoch:04}.safetensors"))
    }

    /// `dir/state.json`.
    pub fn state_path(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    /// The last committed state, or `None` when the folder has none.
    pub fn read_state(&self) -> Result<Option<CheckpointState>> {
        let path = self.state_path();
        if !path.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let st: CheckpointState = serde_json::from_str(&text).map_err(|e| Error::Format {
            path: path.clone(),
            message: format!("not a checkpoint state: {e}"),
        })?;
        if st.format != CHECKPOINT_FORMAT {
            return Err(Error::Format {
                path,
                message: format!("checkpoint format {} is not supported", st.format),
            });
        }
        Ok(Some(st))
    }

    /// Commits `state` (its files must already be written), then removes the files of older
    /// epochs that it no longer names.
    pub fn commit(&self, state: &CheckpointState) -> Result<()> {
        let path = self.state_path();
        let tmp = self.dir.join("state.json.tmp");
        std::fs::write(&tmp, serde_json::to_string_pretty(state)?)
            .map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))?;
        let keep = [
            self.weights(state.epoch),
            self.optimizer(state.epoch),
            state.best.map_or_else(PathBuf::new, |(b, _)| self.best(b)),
        ];
        if let Ok(entries) = std::fs::read_dir(&self.dir) {
            for entry in entries.flatten() {
                let p = entry.path();
                let name = entry.file_name().to_string_lossy().to_string();
                let ours = name.ends_with(".safetensors")
                    && ["weights-", "optimizer-", "best-"]
                        .iter()
                        .any(|pre| name.starts_with(pre));
                if ours && !keep.contains(&p) {
                    let _ = std::fs::remove_file(&p);
                }
            }
        }
        Ok(())
    }
}
