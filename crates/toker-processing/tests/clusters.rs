#![allow(clippy::unwrap_used)]
//! On people with known dominant interests, matching finds people who share them: this
//! crate's synthetic people and the fake source's (`toker_sources::fake`).

#[path = "common/synthetic.rs"]
mod synthetic;

use toker_model::{Platform, Profile, ValidationRules};
use toker_processing::{
    Match, MatchIndex, VectorizerConfig, Vocabulary, clean_profile, prepare_profile,
};
use toker_sources::fake::generate_many;

/// The index of cleaned profiles (ids are positions), vectorized in one pass.
fn index(people: impl Iterator<Item = (Platform, Profile)>) -> MatchIndex {
    let (platforms, profiles): (Vec<Platform>, Vec<Profile>) = people.unzip();
    let (vocabulary, vectors) =
        Vocabulary::fit_transform(&profiles, VectorizerConfig::default()).unwrap();
    let entries = (0..)
        .zip(platforms)
        .zip(vectors)
        .map(|((id, p), v)| (id, p, v))
        .collect();
    MatchIndex::new(&vocabulary, entries).unwrap()
}

/// `n` synthetic people of `seed`, cleaned and indexed.
fn synthetic_index(seed: u64, n: usize) -> (Vec<synthetic::Person>, MatchIndex) {
    let people = synthetic::people(seed, n);
    let index = index(
        people
            .iter()
            .map(|p| (p.platform, clean_profile(p.profile.clone()))),
    );
    (people, index)
}

/// The share of (person, top-5 match) pairs that share at least one dominant interest,
/// and the same share over arbitrary pairs (what chance gives: each person against the
/// person `n / 3 + 1` places further on).
fn share_rates<T: PartialEq>(all: &[(i64, Vec<Match>)], dominant: &[Vec<T>]) -> (f64, f64) {
    let shares = |a: usize, b: usize| dominant[a].iter().any(|c| dominant[b].contains(c));
    let (mut pairs, mut hits) = (0usize, 0usize);
    for (id, matches) in all {
        assert_eq!(matches.len(), 5, "profile {id}");
        for m in matches {
            assert_ne!(m.id, *id);
            pairs += 1;
            hits += usize::from(shares(*id as usize, m.id as usize));
        }
    }
    let n = dominant.len();
    let chance = (0..n).filter(|&i| shares(i, (i + n / 3 + 1) % n)).count();
    (hits as f64 / pairs as f64, chance as f64 / n as f64)
}

#[test]
fn top_5_matches_share_a_dominant_interest() {
    let (people, index) = synthetic_index(7, 2_000);
    let all = index.all_top_k(5, None);
    let dominant: Vec<_> = people.iter().map(|p| p.dominant.clone()).collect();
    let (rate, chance) = share_rates(&all, &dominant);
    println!(
        "synthetic: top-5 matches sharing a dominant interest: {:.1}% (chance: {:.1}%)",
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

/// The whole path a real import takes: prepare (validate + clean), fit_transform, index,
/// all-pairs top-5.
#[test]
fn top_5_matches_of_fake_people_share_a_dominant_interest() {
    let people: Vec<_> = generate_many(None, 2024, 1_500).collect();
    let rules = ValidationRules::default();
    let index = index(people.iter().map(|p| {
        let raw = p.raw.clone();
        let prepared = prepare_profile(raw.platform, raw.profile, raw.raw, &rules).unwrap();
        (prepared.platform, prepared.profile)
    }));
    let dominant: Vec<_> = people.iter().map(|p| p.dominant.clone()).collect();
    let (rate, chance) = share_rates(&index.all_top_k(5, None), &dominant);
    println!(
        "fake: top-5 matches sharing a dominant interest: {:.1}% (chance: {:.1}%)",
        rate * 100.0,
        chance * 100.0
    );
    assert!(rate >= 0.80, "measured rate {rate:.3} (chance {chance:.3})");
    assert!(
        rate > 2.0 * chance,
        "rate {rate:.3} is not far above chance {chance:.3}"
    );
}

/// Within one platform, every match is of that platform and the clusters still show.
#[test]
fn platform_restricted_matches_stay_on_the_platform() {
    let (people, index) = synthetic_index(11, 1_000);
    let platform = Platform::Instagram;
    let all = index.all_top_k(5, Some(platform));
    assert_eq!(
        all.len(),
        people.iter().filter(|p| p.platform == platform).count()
    );
    for (id, matches) in &all {
        let person = &people[*id as usize];
        assert_eq!(person.platform, platform);
        assert!(matches.iter().all(|m| m.platform == platform));
        let best = &people[matches[0].id as usize];
        assert!(
            best.dominant.iter().any(|c| person.dominant.contains(c)),
            "profile {id}: its best match shares no interest"
        );
    }
}
