//! Scores: integers clamped to ±INFINITY, with Pacemaker's arithmetic.
//!
//! Adding scores saturates at ±INFINITY, and -INFINITY wins over +INFINITY: a ban beats a
//! mandatory preference, so `INFINITY + -INFINITY = -INFINITY`.

use std::fmt;
use std::str::FromStr;

use crate::limits::SCORE_INFINITY;

/// A placement score, always within `-INFINITY..=INFINITY`.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize, serde::Deserialize,
)]
pub struct Score(i64);

/// Why a score string could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid score {text:?} (use an integer, INFINITY, +INFINITY or -INFINITY)")]
pub struct ScoreParseError {
    pub text: String,
}

impl Score {
    pub const ZERO: Score = Score(0);
    pub const INFINITY: Score = Score(SCORE_INFINITY);
    pub const MINUS_INFINITY: Score = Score(-SCORE_INFINITY);

    /// Makes a score from an integer, clamping it to ±INFINITY.
    pub const fn new(value: i64) -> Score {
        if value >= SCORE_INFINITY {
            Score::INFINITY
        } else if value <= -SCORE_INFINITY {
            Score::MINUS_INFINITY
        } else {
            Score(value)
        }
    }

    /// The integer value, within ±1,000,000.
    pub const fn value(self) -> i64 {
        self.0
    }

    pub const fn is_infinity(self) -> bool {
        self.0 == SCORE_INFINITY
    }

    pub const fn is_minus_infinity(self) -> bool {
        self.0 == -SCORE_INFINITY
    }

    /// Adds two scores the Pacemaker way: -INFINITY absorbs everything, then +INFINITY.
    #[allow(clippy::should_implement_trait)]
    pub const fn add(self, other: Score) -> Score {
        if self.is_minus_infinity() || other.is_minus_infinity() {
            Score::MINUS_INFINITY
        } else if self.is_infinity() || other.is_infinity() {
            Score::INFINITY
        } else {
            Score::new(self.0 + other.0)
        }
    }
}

impl std::ops::Add for Score {
    type Output = Score;
    fn add(self, other: Score) -> Score {
        Score::add(self, other)
    }
}

impl std::ops::AddAssign for Score {
    fn add_assign(&mut self, other: Score) {
        *self = Score::add(*self, other);
    }
}

impl From<i64> for Score {
    fn from(value: i64) -> Score {
        Score::new(value)
    }
}

impl FromStr for Score {
    type Err = ScoreParseError;

    /// Reads `INFINITY`, `+INFINITY`, `-INFINITY` (any case, also `inf`) or an integer;
    /// integers beyond ±1,000,000 are clamped.
    fn from_str(text: &str) -> Result<Score, ScoreParseError> {
        let trimmed = text.trim();
        let (negative, magnitude) = match trimmed.as_bytes().first() {
            Some(b'-') => (true, &trimmed[1..]),
            Some(b'+') => (false, &trimmed[1..]),
            _ => (false, trimmed),
        };
        if magnitude.eq_ignore_ascii_case("infinity") || magnitude.eq_ignore_ascii_case("inf") {
            return Ok(if negative {
                Score::MINUS_INFINITY
            } else {
                Score::INFINITY
            });
        }
        let error = || ScoreParseError {
            text: text.to_owned(),
        };
        if magnitude.is_empty() || !magnitude.bytes().all(|b| b.is_ascii_digit()) {
            return Err(error());
        }
        // Saturate rather than fail on absurdly long digit strings: they mean INFINITY.
        let value = magnitude.parse::<i64>().unwrap_or(i64::MAX / 2);
        Ok(Score::new(if negative { -value } else { value }))
    }
}

impl fmt::Display for Score {
    /// Prints `INFINITY`, `-INFINITY` or the integer, as crm_simulate does.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_infinity() {
            f.write_str("INFINITY")
        } else if self.is_minus_infinity() {
            f.write_str("-INFINITY")
        } else {
            write!(f, "{}", self.0)
        }
    }
}

impl fmt::Debug for Score {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(text: &str) -> Score {
        text.parse().expect("valid score")
    }

    #[test]
    fn minus_infinity_beats_infinity() {
        assert_eq!(
            Score::INFINITY + Score::MINUS_INFINITY,
            Score::MINUS_INFINITY
        );
        assert_eq!(
            Score::MINUS_INFINITY + Score::INFINITY,
            Score::MINUS_INFINITY
        );
    }

    #[test]
    fn finite_sums_saturate_at_infinity() {
        assert_eq!(Score::new(900_000) + Score::new(900_000), Score::INFINITY);
        assert_eq!(
            Score::new(-900_000) + Score::new(-900_000),
            Score::MINUS_INFINITY
        );
        assert_eq!(Score::new(5) + Score::new(-7), Score::new(-2));
    }

    #[test]
    fn infinity_absorbs_finite_scores() {
        assert_eq!(Score::INFINITY + Score::new(-999_999), Score::INFINITY);
    }

    #[test]
    fn parses_pacemaker_spellings() {
        assert_eq!(score("INFINITY"), Score::INFINITY);
        assert_eq!(score("+INFINITY"), Score::INFINITY);
        assert_eq!(score("-infinity"), Score::MINUS_INFINITY);
        assert_eq!(score("inf"), Score::INFINITY);
        assert_eq!(score(" 100 "), Score::new(100));
        assert_eq!(score("-5"), Score::new(-5));
        assert_eq!(score("2000000"), Score::INFINITY);
        assert_eq!(score("99999999999999999999999"), Score::INFINITY);
    }

    #[test]
    fn rejects_garbage_with_the_text_in_the_message() {
        let error = "12abc".parse::<Score>().expect_err("not a score");
        assert!(error.to_string().contains("\"12abc\""), "{error}");
        assert!("".parse::<Score>().is_err());
        assert!("-".parse::<Score>().is_err());
    }

    #[test]
    fn displays_like_crm_simulate() {
        assert_eq!(Score::INFINITY.to_string(), "INFINITY");
        assert_eq!(Score::MINUS_INFINITY.to_string(), "-INFINITY");
        assert_eq!(Score::new(-3).to_string(), "-3");
    }
}
