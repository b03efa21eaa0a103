//! "Did you mean": the closest known name to a mistyped one (parameter names, agent types).
//!
//! Pure: strings in, a string out. Not a spelling corrector: only names within a small edit
//! distance (or differing only in case) are offered, so a wild guess is never suggested.

/// The candidate closest to `typed`, when it is close enough to be a likely typo: equal
/// ignoring case, or within one edit per four characters (at least one, at most three).
pub fn closest<'a>(typed: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let typed_lower = typed.to_ascii_lowercase();
    let budget = (typed.chars().count() / 4).clamp(1, 3);
    candidates
        .into_iter()
        .map(|candidate| {
            let distance = edit_distance(&typed_lower, &candidate.to_ascii_lowercase());
            (distance, candidate)
        })
        .filter(|(distance, _)| *distance <= budget)
        .min_by_key(|(distance, candidate)| (*distance, *candidate))
        .map(|(_, candidate)| candidate)
}

/// Edit distance over chars: insert, delete, substitute, or swap two neighbours (`tiemout`
/// is one edit from `timeout`), each counting one (optimal string alignment).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // rows[i][j]: distance between a[..i] and b[..j].
    let mut rows = vec![vec![0_usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_the_intended_name_and_wild_guesses_find_nothing() {
        let names = ["ip", "nic", "cidr_netmask", "probe_timeout"];
        assert_eq!(Some("ip"), closest("ipp", names));
        assert_eq!(Some("ip"), closest("IP", names));
        assert_eq!(Some("cidr_netmask"), closest("cidr_netmsk", names));
        assert_eq!(Some("probe_timeout"), closest("probe_timout", names));
        assert_eq!(None, closest("interfal", names));
        assert_eq!(Some("Dummy"), closest("dummy", ["Delay", "Dummy"]));
        assert_eq!(Some("timeout"), closest("tiemout", ["timeout", "interval"]));
    }
}
