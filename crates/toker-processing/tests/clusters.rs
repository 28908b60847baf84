#![allow(clippy::unwrap_used)]
//! On people with known dominant interests, matching finds people who share them.

#[path = "common/synthetic.rs"]
mod synthetic;

use toker_processing::{MatchIndex, VectorizerConfig, Vocabulary, clean_profile};

/// The share of (person, top-5 match) pairs that share at least one dominant interest,
/// and the same share over arbitrary pairs (what chance gives).
#[test]
fn top_5_matches_share_a_dominant_interest() {
    let people = synthetic::people(7, 2_000);
    let profiles: Vec<_> = people
        .iter()
        .map(|p| clean_profile(p.profile.clone()))
        .collect();
    let vocabulary = Vocabulary::fit(&profiles, VectorizerConfig::default()).unwrap();
    let vectors = vocabulary.transform_all(&profiles);
    let entries = people
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
    let all = index.all_top_k(5, None);
    let (mut pairs, mut hits) = (0usize, 0usize);
    for (id, matches) in &all {
        assert_eq!(matches.len(), 5, "profile {id}");
        for m in matches {
            assert_ne!(m.id, *id);
            pairs += 1;
            hits += usize::from(shares(*id as usize, m.id as usize));
        }
    }
    let rate = hits as f64 / pairs as f64;
    // Chance: each person against the person 789 places further on.
    let n = people.len();
    let chance = (0..n).filter(|&i| shares(i, (i + 789) % n)).count() as f64 / n as f64;
    println!(
        "top-5 matches sharing a dominant interest: {:.1}% of {pairs} (chance: {:.1}%)",
        rate * 100.0,
        chance * 100.0
    );
    assert!(rate >= 0.80, "measured rate {rate:.3} (chance {chance:.3})");
    assert!(
        chance < 0.35,
        "the synthetic data should not make sharing easy: {chance:.3}"
    );

    // The parallel all-pairs run agrees with one query at a time.
    for (id, matches) in all.iter().step_by(97) {
        assert_eq!(matches, &index.top_k(*id, 5, None).unwrap(), "profile {id}");
    }
}

/// Within one platform, every match is of that platform and the clusters still show.
#[test]
fn platform_restricted_matches_stay_on_the_platform() {
    let people = synthetic::people(11, 1_000);
    let profiles: Vec<_> = people
        .iter()
        .map(|p| clean_profile(p.profile.clone()))
        .collect();
    let vocabulary = Vocabulary::fit(&profiles, VectorizerConfig::default()).unwrap();
    let entries = people
        .iter()
        .zip(vocabulary.transform_all(&profiles))
        .enumerate()
        .map(|(i, (p, v))| (i as i64, p.platform, v))
        .collect();
    let index = MatchIndex::new(&vocabulary, entries).unwrap();
    let platform = toker_model::Platform::Instagram;
    let all = index.all_top_k(5, Some(platform));
    assert_eq!(
        all.len(),
        people.iter().filter(|p| p.platform == platform).count()
    );
    for (id, matches) in &all {
        assert_eq!(people[*id as usize].platform, platform);
        assert!(matches.iter().all(|m| m.platform == platform));
        assert!(!matches.is_empty());
        let best = &people[matches[0].id as usize];
        assert!(
            best.dominant
                .iter()
                .any(|c| people[*id as usize].dominant.contains(c))
                || matches[0].score < 0.3,
            "profile {id}: a strong best match should share an interest"
        );
    }
}
