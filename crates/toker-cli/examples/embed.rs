//! Toker embedded in another Rust program, without the CLI: generate fake people, validate
//! and clean them, store them in SQLite, vectorize and find who is most alike.
//!
//! ```sh
//! cargo run --example embed            # a temporary database
//! cargo run --example embed -- my.db   # or a file you keep
//! ```

use std::error::Error;

use toker_model::Listing;
use toker_model::{Platform, ValidationRules};
use toker_processing::prepare::prepare_profile;
use toker_processing::{MatchIndex, SparseVector, VectorizerConfig, Vocabulary};
use toker_sources::fake::generate_many;
use toker_store::{IngestItem, IngestOptions, Store, StoredVector, VocabularyRecord};

fn main() -> Result<(), Box<dyn Error>> {
    let scratch = tempfile::tempdir()?;
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| scratch.path().join("embed.db").display().to_string());
    let mut store = Store::open(&path)?;

    // 1. Generate 300 people (deterministic by seed), validate and clean each, store them
    //    in batched transactions.
    let rules = ValidationRules::default();
    let mut items = Vec::new();
    for fake in generate_many(Some(Platform::TikTok), 2026, 300) {
        let raw = fake.raw;
        let prepared = prepare_profile(raw.platform, raw.profile, raw.raw, &rules)?;
        items.push(IngestItem {
            label: prepared.key(),
            platform: prepared.platform,
            profile: prepared.profile,
            raw: prepared.raw,
            owner: None,
        });
    }
    let report = store.ingest(items, &IngestOptions::default(), &mut |_| {})?;
    println!("stored {} profiles", report.created);

    // 2. Fit the vocabulary over the stored corpus, store every vector with it.
    let profiles = store.load_profiles(&Listing::default())?;
    let vocabulary = Vocabulary::fit(
        profiles.iter().map(|p| &p.profile),
        VectorizerConfig::default(),
    )?;
    let mut vectors = profiles.iter().map(|p| {
        let (indices, values) = vocabulary.transform(&p.profile).into_parts();
        StoredVector {
            profile_id: p.id,
            platform: p.platform,
            indices,
            values,
        }
    });
    let record = VocabularyRecord {
        version: vocabulary.version().to_owned(),
        json: vocabulary.to_json(),
    };
    store.save_vectors(&record, &mut vectors)?;

    // 3. Later (another process, no refit): reload and match.
    let record = store.load_vocabulary()?.ok_or("no vocabulary stored")?;
    let vocabulary = Vocabulary::from_json(&record.json)?;
    let entries = store
        .load_vectors(None)?
        .into_iter()
        .map(|v| {
            Ok((
                v.profile_id,
                v.platform,
                SparseVector::from_parts(v.indices, v.values)?,
            ))
        })
        .collect::<Result<Vec<_>, toker_processing::ProcessingError>>()?;
    let index = MatchIndex::new(&vocabulary, entries)?;
    let first = &profiles[0];
    println!("most alike @{}:", first.profile.username);
    for m in index.top_k(first.id, 3, None)? {
        let other = store.get_profile(m.id)?;
        let shared: Vec<&str> = m.features.iter().map(|(f, _)| f.as_str()).collect();
        println!(
            "  @{} score {:.3} sharing {}",
            other.profile.username,
            m.score,
            shared.join(", ")
        );
    }
    Ok(())
}
