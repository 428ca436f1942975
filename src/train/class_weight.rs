//! Per-class weights of the loss, as scikit-learn's `class_weight`.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// How much each class counts in the loss.
///
/// Serialized as `"none"`, `"balanced"` or `{"custom": [w0, w1, ...]}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassWeight {
    /// Every class weighs 1.
    #[default]
    None,
    /// `n_samples / (n_classes_present * count_k)`, scikit-learn's `"balanced"`: rare classes
    /// weigh more, and the weighted class counts are all equal.
    Balanced,
    /// One weight per class, indexed by label; each finite and `>= 0`.
    Custom(Vec<f32>),
}

impl ClassWeight {
    /// The weight of each of the `n_classes` labels for training labels `y`.
    ///
    /// `Balanced` follows scikit-learn's `compute_class_weight("balanced", classes=np.unique(y),
    /// y=y)`: the denominator counts the classes present in `y` (scikit-learn only knows
    /// those); a class absent from `y` has no sample to weigh and gets weight 0.
    ///
    /// Errors ([`Error::Config`]): empty `y`, a label `>= n_classes`, a `Custom` vector whose
    /// length is not `n_classes` or that holds a negative or non-finite weight.
    pub fn weights(&self, y: &[usize], n_classes: usize) -> Result<Vec<f32>> {
        if y.is_empty() {
            return Err(Error::Config("class weights: no labels given".into()));
        }
        let counts = class_counts(y, n_classes)?;
        match self {
            ClassWeight::None => Ok(vec![1.0; n_classes]),
            ClassWeight::Balanced => {
                let present = counts.iter().filter(|&&c| c > 0).count() as f64;
                let n = y.len() as f64;
                Ok(counts
                    .iter()
                    .map(|&c| {
                        if c == 0 {
                            0.0
                        } else {
                            (n / (present * c as f64)) as f32
                        }
                    })
                    .collect())
            }
            ClassWeight::Custom(w) => {
                if w.len() != n_classes {
                    return Err(Error::Config(format!(
                        "class_weight: {} custom weights given for {n_classes} classes",
                        w.len()
                    )));
                }
                check_custom(w)?;
                Ok(w.clone())
            }
        }
    }

    /// Checks what can be checked without the labels: custom weights finite and `>= 0`.
    pub fn validate(&self) -> Result<()> {
        match self {
            ClassWeight::Custom(w) => check_custom(w),
            _ => Ok(()),
        }
    }
}

fn check_custom(w: &[f32]) -> Result<()> {
    if let Some((k, v)) = w
        .iter()
        .enumerate()
        .find(|(_, v)| !(v.is_finite() && **v >= 0.0))
    {
        return Err(Error::Config(format!(
            "class_weight: weight of class {k} is {v}, expected a finite value >= 0"
        )));
    }
    Ok(())
}

/// Number of samples of each class; [`Error::Config`] names the first label `>= n_classes`.
pub(crate) fn class_counts(y: &[usize], n_classes: usize) -> Result<Vec<usize>> {
    let mut counts = vec![0usize; n_classes];
    for (i, &label) in y.iter().enumerate() {
        match counts.get_mut(label) {
            Some(c) => *c += 1,
            None => {
                return Err(Error::Config(format!(
                    "label {label} of sample {i} is out of range for {n_classes} classes"
                )))
            }
        }
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balanced_matches_scikit_learn() {
        // compute_class_weight("balanced", classes=[0, 1], y=[1, 1, 1, 1, 0, 0]) == [1.5, 0.75]
        let w = ClassWeight::Balanced
            .weights(&[1, 1, 1, 1, 0, 0], 2)
            .unwrap();
        assert_eq!(w, vec![1.5, 0.75]);
        // Absent class 1: denominator counts the 2 present classes, class 1 weighs 0.
        let w = ClassWeight::Balanced.weights(&[0, 0, 0, 2], 3).unwrap();
        assert_eq!(w, vec![4.0 / 6.0, 0.0, 2.0]);
    }

    #[test]
    fn none_and_custom() {
        assert_eq!(ClassWeight::None.weights(&[0, 1], 3).unwrap(), vec![1.0; 3]);
        let c = ClassWeight::Custom(vec![1.0, 2.0]);
        assert_eq!(c.weights(&[0, 1], 2).unwrap(), vec![1.0, 2.0]);
    }

    #[test]
    fn bad_inputs_are_config_errors() {
        let wrong_len = ClassWeight::Custom(vec![1.0]).weights(&[0, 1], 2);
        assert!(matches!(wrong_len, Err(Error::Config(_))));
        let negative = ClassWeight::Custom(vec![1.0, -1.0]);
        assert!(matches!(negative.validate(), Err(Error::Config(_))));
        let nan = ClassWeight::Custom(vec![f32::NAN, 1.0]);
        assert!(matches!(nan.weights(&[0, 1], 2), Err(Error::Config(_))));
        let out_of_range = ClassWeight::None.weights(&[0, 2], 2);
        assert!(matches!(out_of_range, Err(Error::Config(m)) if m.contains("label 2")));
        assert!(matches!(
            ClassWeight::Balanced.weights(&[], 2),
            Err(Error::Config(_))
        ));
    }

    #[test]
    fn serde_names() {
        let s = serde_json::to_string(&ClassWeight::Balanced).unwrap();
        assert_eq!(s, "\"balanced\"");
        let c: ClassWeight = serde_json::from_str("{\"custom\":[1.0,2.0]}").unwrap();
        assert_eq!(c, ClassWeight::Custom(vec![1.0, 2.0]));
    }
}
