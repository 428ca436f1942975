//! Stratified splits on the real slice: every genre on every side, determinism, manifests.

use genre_nlp::prelude::*;
use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

fn shared(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/imdb-genre")
        .join(name)
}

fn genres(ds: &Dataset) -> BTreeSet<String> {
    ds.genres()
        .into_iter()
        .flatten()
        .map(str::to_string)
        .collect()
}

#[test]
fn every_genre_lands_on_every_side_and_no_row_is_lost() {
    let ds = Dataset::kaggle(shared("train_data.txt")).unwrap();
    let split = ds.split(SplitConfig::default()).unwrap();
    let all = genres(&ds);
    assert_eq!(all.len(), 27);
    for side in [&split.train, &split.val, &split.hold] {
        assert_eq!(genres(side), all);
    }
    assert!(split.rare_genres().is_empty());
    let (t, v, h) = (split.train.len(), split.val.len(), split.hold.len());
    assert_eq!(t + v + h, 2110);
    // Per-genre rounding keeps the sides near 80/10/10.
    assert!((1650..=1710).contains(&t), "train {t}");
    assert!(
        (190..=235).contains(&v) && (190..=235).contains(&h),
        "val {v} hold {h}"
    );
    let mut seen = HashSet::new();
    for side in [&split.train, &split.val, &split.hold] {
        for id in side.ids() {
            assert!(seen.insert(id), "id {id} on two sides");
        }
    }
    assert_eq!(seen.len(), 2110);
    // Proportions are kept per genre: drama has 522 rows -> 418/52/52.
    let count = |ds: &Dataset, g: &str| ds.genres().iter().filter(|x| **x == Some(g)).count();
    assert_eq!(
        (
            count(&split.train, "drama"),
            count(&split.val, "drama"),
            count(&split.hold, "drama")
        ),
        (418, 52, 52)
    );
    assert_eq!(
        (
            count(&split.train, "war"),
            count(&split.val, "war"),
            count(&split.hold, "war")
        ),
        (2, 1, 1)
    );
}

#[test]
fn same_seed_gives_byte_identical_manifests_and_another_seed_does_not() {
    let ds = Dataset::kaggle(shared("train_data.txt")).unwrap();
    let dir1 = tempfile::tempdir().unwrap();
    let dir2 = tempfile::tempdir().unwrap();
    let a = ds
        .split(SplitConfig::default().seed(7))
        .unwrap()
        .manifest
        .write(dir1.path())
        .unwrap();
    let again = Dataset::kaggle(shared("train_data.txt")).unwrap();
    let b = again
        .split(SplitConfig::default().seed(7))
        .unwrap()
        .manifest
        .write(dir2.path())
        .unwrap();
    assert_eq!(a.file_name(), b.file_name());
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    let m = SplitManifest::read(&a).unwrap();
    assert_eq!(m.seed, 7);
    assert_eq!(m.source, "train_data.txt");
    assert_eq!(m.train.len() + m.val.len() + m.hold.len(), 2110);
    let other = ds.split(SplitConfig::default().seed(8)).unwrap().manifest;
    assert_ne!(other.split_sha256, m.split_sha256);
    assert_eq!(other.content_sha256, m.content_sha256);
    // The content hash changes when the data does.
    let fewer = ds.take(&(0..2000).collect::<Vec<_>>()).unwrap();
    assert_ne!(
        fewer
            .split(SplitConfig::default())
            .unwrap()
            .manifest
            .content_sha256,
        m.content_sha256
    );
}

#[test]
fn rare_genres_are_placed_deterministically_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("rare.txt");
    let mut s = String::new();
    for i in 1..=20 {
        s.push_str(&format!("{i} ::: T{i} ::: drama ::: Plot number {i}.\n"));
    }
    s.push_str("21 ::: R1 ::: war ::: A war plot.\n22 ::: R2 ::: war ::: Another war plot.\n23 ::: N1 ::: news ::: The news.\n");
    std::fs::write(&p, s).unwrap();
    let ds = Dataset::kaggle(&p).unwrap();
    let split = ds.split(SplitConfig::default()).unwrap();
    let rare = split.rare_genres();
    assert_eq!(rare.len(), 2);
    assert_eq!(rare[0].genre, "news");
    assert_eq!(rare[0].sides, vec![Side::Train]);
    assert_eq!(rare[1].genre, "war");
    assert_eq!(rare[1].sides, vec![Side::Train, Side::Hold]);
    assert!(split.train.ids().contains(&23));
}

#[test]
fn unlabelled_data_cannot_be_split() {
    let ds = Dataset::kaggle(shared("test_data.txt")).unwrap();
    let e = ds.split(SplitConfig::default()).unwrap_err().to_string();
    assert!(
        e.contains("test_data.txt:1:") && e.contains("no genre"),
        "{e}"
    );
}
