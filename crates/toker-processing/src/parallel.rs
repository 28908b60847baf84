//! Splitting work over every core with scoped threads (no thread pool, no dependency).

use std::num::NonZeroUsize;

/// How many threads to use: one per core.
pub(crate) fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, NonZeroUsize::get)
}

/// Applies `work` to consecutive parts of `items`, one part per core, and returns the
/// results in order. Runs on the calling thread when `items` has fewer than `serial_below`
/// entries (a thread costs tens of microseconds) or there is one core. A panic in `work`
/// is re-raised here.
pub(crate) fn map_parts<T: Sync, R: Send>(
    items: &[T],
    serial_below: usize,
    work: impl Fn(&[T]) -> R + Sync,
) -> Vec<R> {
    let threads = threads();
    if threads == 1 || items.len() < serial_below.max(2) {
        return vec![work(items)];
    }
    let part = items.len().div_ceil(threads);
    let work = &work;
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(part)
            .map(|chunk| scope.spawn(move || work(chunk)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_cover_the_items_in_order() {
        let items: Vec<u32> = (0..10_000).collect();
        let sums = map_parts(&items, 10, |part| part.to_vec());
        assert_eq!(sums.concat(), items);
        assert_eq!(map_parts(&items[..3], 10, <[u32]>::len), [3]);
        assert_eq!(map_parts(&[] as &[u32], 0, <[u32]>::len), [0]);
    }
}
