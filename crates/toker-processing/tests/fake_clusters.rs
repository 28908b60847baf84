#![allow(clippy::unwrap_used)]
//! On the fake source's people (each with 1–3 known dominant interests), matching finds
//! people who share them: the whole path a real import takes (prepare = validate + clean,
//! fit_transform, index, all-pairs top-5).

use toker_model::ValidationRules;
use toker_processing::{MatchIndex, VectorizerConfig, Vocabulary, prepare_profile};
use toker_sources::fake::generate_many;

#[test]
fn top_5_matches_of_fake_people_share_a_dominant_interest() {
    let people: Vec<_> = generate_many(None, 2024, 1_500).collect();
    let rules = ValidationRules::default();
    let prepared: Vec<_> = people
        .iter()
        .map(|p| {
            prepare_profile(
                p.raw.platform,
                p.raw.profile.clone(),
                p.raw.raw.clone(),
                &rules,
            )
            .unwrap()
        })
        .collect();
    let (vocabulary, vectors) = Vocabulary::fit_transform(
        prepared.iter().map(|p| &p.profile),
        VectorizerConfig::default(),
    )
    .unwrap();
    let entries = prepared
        .iter()
        .zip(vectors)
        .enumerate()
        .map(|(i, (p, v))| (i as i64, p.platform, v))
        .collect();
    let index = MatchIndex::new(&vocabulary, entries).unwrap();

    let shares = |a: usize, b: usize| {
        people[a]
            .dominant
            .iter()
            .any(|c| people[b].dominant.contains(c))
    };
    let (mut pairs, mut hits) = (0usize, 0usize);
    for (id, matches) in index.all_top_k(5, None) {
        assert_eq!(matches.len(), 5, "profile {id}");
        for m in &matches {
            pairs += 1;
            hits += usize::from(shares(id as usize, m.id as usize));
        }
    }
    let rate = hits as f64 / pairs as f64;
    let n = people.len();
    let chance = (0..n).filter(|&i| shares(i, (i + 611) % n)).count() as f64 / n as f64;
    println!(
        "fake data: top-5 matches sharing a dominant interest: {:.1}% of {pairs} (chance: {:.1}%)",
        rate * 100.0,
        chance * 100.0
    );
    assert!(rate >= 0.80, "measured rate {rate:.3} (chance {chance:.3})");
    assert!(
        rate > 2.0 * chance,
        "rate {rate:.3} is not far above chance {chance:.3}"
    );
}
