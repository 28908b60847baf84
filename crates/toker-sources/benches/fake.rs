//! Measures how fast the fake source generates profiles (issue 5: 10,000 in well under a
//! second in a release build). Run with `cargo bench -p toker-sources --bench fake`.

use std::hint::black_box;
use std::time::Instant;

use toker_sources::fake::generate_many;

fn main() {
    for count in [10_000u64, 100_000] {
        let start = Instant::now();
        let mut videos = 0usize;
        for person in generate_many(None, 42, count) {
            videos +=
                person.raw.profile.liked_videos.len() + person.raw.profile.shared_videos.len();
            black_box(&person);
        }
        let elapsed = start.elapsed();
        println!(
            "fake: {count} profiles ({videos} videos) in {:.1} ms = {:.0} profiles/s",
            elapsed.as_secs_f64() * 1e3,
            count as f64 / elapsed.as_secs_f64()
        );
    }
}
