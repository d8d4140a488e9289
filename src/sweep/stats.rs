//! The statistics of `cells.csv`: mean and half-width of the 95 % confidence interval of the
//! mean (Student's t with n − 1 degrees of freedom).
//!
//! Only additions, multiplications, divisions and square roots are used (all correctly rounded
//! by IEEE 754), and values are summed in run-index order, so the same runs give the same bits on
//! any machine: a merged sweep's `cells.csv` equals the single-machine one byte for byte.

/// Two-sided 95 % quantiles `t(0.975, df)` for df = 1..=30.
const T975: [f64; 30] = [
    12.706_204_736,
    4.302_652_730,
    3.182_446_305,
    2.776_445_105,
    2.570_581_836,
    2.446_911_851,
    2.364_624_252,
    2.306_004_135,
    2.262_157_163,
    2.228_138_852,
    2.200_985_160,
    2.178_812_830,
    2.160_368_656,
    2.144_786_688,
    2.131_449_546,
    2.119_905_299,
    2.109_815_578,
    2.100_922_040,
    2.093_024_054,
    2.085_963_447,
    2.079_613_845,
    2.073_873_068,
    2.068_657_610,
    2.063_898_562,
    2.059_538_553,
    2.055_529_439,
    2.051_830_516,
    2.048_407_142,
    2.045_229_642,
    2.042_272_456,
];

/// `t(0.975, df)`: the table up to 30 degrees of freedom, then the Cornish–Fisher expansion
/// around the normal quantile (error below 1e-7 from df = 31 on).
pub fn t975(df: u64) -> f64 {
    if df == 0 {
        return f64::NAN;
    }
    if df <= 30 {
        return T975[df as usize - 1];
    }
    let z = 1.959_963_984_540_054_f64;
    let n = df as f64;
    let (z2, z3) = (z * z, z * z * z);
    let (z5, z7, z9) = (z3 * z2, z3 * z2 * z2, z3 * z3 * z3);
    z + (z3 + z) / (4.0 * n)
        + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * n * n)
        + (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / (384.0 * n * n * n)
        + (79.0 * z9 + 776.0 * z7 + 1482.0 * z5 - 1920.0 * z3 - 945.0 * z)
            / (92160.0 * n * n * n * n)
}

/// Mean and 95 % CI half-width of `xs` (in the order given); the half-width is 0 for one
/// value, and both are NaN for none.
pub fn mean_ci95(xs: &[f64]) -> (f64, f64) {
    let n = xs.len();
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    // Equal values: exactly that value, and no spread (summing could round it away).
    if xs.iter().all(|x| x.to_bits() == xs[0].to_bits()) {
        return (xs[0], 0.0);
    }
    let mean = xs.iter().sum::<f64>() / n as f64;
    let ss: f64 = xs.iter().map(|x| (x - mean) * (x - mean)).sum();
    let sd = (ss / (n - 1) as f64).sqrt();
    (mean, t975(n as u64 - 1) * sd / (n as f64).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// P(|T| < t) for Student's t with `nu` degrees of freedom, by the closed forms for integer
    /// `nu` (Abramowitz & Stegun 26.7.3 / 26.7.4).
    fn two_sided_cdf(t: f64, nu: u64) -> f64 {
        let theta = (t / (nu as f64).sqrt()).atan();
        let (s, c2) = (theta.sin(), theta.cos().powi(2));
        if nu.is_multiple_of(2) {
            let (mut term, mut sum) = (1.0, 1.0);
            for k in 1..nu / 2 {
                term *= c2 * (2 * k - 1) as f64 / (2 * k) as f64;
                sum += term;
            }
            s * sum
        } else {
            let mut inner = 0.0;
            if nu > 1 {
                let (mut term, mut sum) = (1.0, 1.0);
                for k in 1..(nu - 1) / 2 {
                    term *= c2 * (2 * k) as f64 / (2 * k + 1) as f64;
                    sum += term;
                }
                inner = s * theta.cos() * sum;
            }
            2.0 / std::f64::consts::PI * (theta + inner)
        }
    }

    #[test]
    fn quantiles_give_95_percent() {
        for df in 1..=200 {
            let p = two_sided_cdf(t975(df), df);
            assert!((p - 0.95).abs() < 1e-8, "df {df}: {p}");
        }
    }

    #[test]
    fn ci_of_a_hand_computed_example() {
        // 2, 4, 6: mean 4, s = 2, half-width = t(0.975, 2) · 2 / √3 = 4.302652730 · 1.154700538
        let (mean, half) = mean_ci95(&[2.0, 4.0, 6.0]);
        assert_eq!(mean, 4.0);
        assert!((half - 4.968_275_8).abs() < 1e-6, "{half}");
        assert_eq!(mean_ci95(&[7.5]), (7.5, 0.0));
        assert_eq!(mean_ci95(&[0.1, 0.1, 0.1]), (0.1, 0.0));
        assert!(mean_ci95(&[]).0.is_nan());
    }
}
