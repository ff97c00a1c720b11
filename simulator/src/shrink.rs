//! Delta debugging (Zeller's ddmin) over a failing fault plan: the smallest subset of its faults
//! that still fails, found by re-running the same seed with parts of the plan removed.

/// A 1-minimal sublist of `items` for which `fails` holds (`fails(items)` must hold). `fails`
/// is called on candidate sublists, preserving order.
pub fn ddmin<T: Clone>(items: &[T], mut fails: impl FnMut(&[T]) -> bool) -> Vec<T> {
    // A seed that fails with no faults at all needs none.
    if items.is_empty() || fails(&[]) {
        return Vec::new();
    }
    let mut current = items.to_vec();
    let mut granularity = 2usize;
    while current.len() >= 2 {
        let chunk = current.len().div_ceil(granularity);
        let chunks: Vec<Vec<T>> = current.chunks(chunk).map(<[T]>::to_vec).collect();
        let mut reduced = false;
        // A chunk alone fails: keep just it.
        for c in &chunks {
            if fails(c) {
                current = c.clone();
                granularity = 2;
                reduced = true;
                break;
            }
        }
        // Without some chunk it still fails: drop that chunk (with two chunks, each complement
        // is the other chunk, already tried).
        if !reduced && chunks.len() > 2 {
            for i in 0..chunks.len() {
                let complement: Vec<T> = chunks.iter().enumerate().filter(|(j, _)| *j != i).flat_map(|(_, c)| c.clone()).collect();
                if fails(&complement) {
                    current = complement;
                    granularity = (granularity - 1).max(2);
                    reduced = true;
                    break;
                }
            }
        }
        if !reduced {
            if granularity >= current.len() {
                break;
            }
            granularity = (granularity * 2).min(current.len());
        }
    }
    current
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_two_faults_that_together_fail() {
        let items: Vec<u32> = (0..10).collect();
        let mut runs = 0;
        let found = ddmin(&items, |c| {
            runs += 1;
            c.contains(&3) && c.contains(&7)
        });
        assert_eq!(found, vec![3, 7]);
        assert!(runs < 40, "{runs} runs");
    }

    #[test]
    fn finds_one_fault_and_nothing_when_none_is_needed() {
        let items: Vec<u32> = (0..7).collect();
        assert_eq!(ddmin(&items, |c| c.contains(&5)), vec![5]);
        assert_eq!(ddmin(&items, |_| true), Vec::<u32>::new());
        assert_eq!(ddmin(&[1], |c| !c.is_empty()), vec![1]);
    }
}
