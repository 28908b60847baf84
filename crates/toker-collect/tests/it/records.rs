//! `import_records` on both backends: all or nothing stores nothing when one record is
//! rejected, keep going stores the valid ones, an unreadable input ends the import.

use std::io::Cursor;

use toker_collect::{CollectError, ImportMode, RecordsImport, import_records};
use toker_model::Listing;
use toker_model::ValidationRules;
use toker_store::{IngestOptions, Store};

fn record(user_id: &str, likes: u64) -> String {
    format!(
        r#"{{"platform":"tiktok","user_id":"{user_id}","username":"u{user_id}","number_of_likes":{likes},"liked_videos":[],"shared_videos":[]}}"#
    )
}

fn import(
    store: &mut Store,
    input: &str,
    mode: ImportMode,
) -> Result<toker_collect::RecordsReport, CollectError> {
    let rules = ValidationRules::default();
    let options = RecordsImport {
        platform: None,
        rules: &rules,
        ingest: IngestOptions {
            batch_size: 1,
            upsert: false,
        },
        mode,
    };
    let mut heard = 0;
    let report = import_records(store, Cursor::new(input), &options, &mut |_| heard += 1);
    if let Ok(r) = &report {
        assert_eq!(
            heard,
            r.store.created + r.store.duplicates,
            "one call per record stored"
        );
    }
    report
}

fn stored(store: &mut Store) -> u64 {
    store.count_profiles(&Listing::default()).unwrap()
}

fn one_rejected_record_keeps_all_out(store: &mut Store) {
    let input = [record("1", 150), record("2", 1), record("3", 160)].join("\n");
    let report = import(store, &input, ImportMode::AllOrNothing).unwrap();
    assert_eq!(report.rejected.len(), 1);
    assert_eq!(report.rejected[0].key.as_deref(), Some("tiktok:2"));
    assert!(report.rejected[0].record.contains("record 2"), "{report:?}");
    assert_eq!(report.store.created, 0);
    assert_eq!(stored(store), 0);
}

fn keep_going_stores_the_valid_ones_and_reports_duplicates(store: &mut Store) {
    let input = [
        record("1", 150),
        record("2", 1),
        r#"{"platform": tiktok}"#.to_owned(),
        record("3", 160),
    ]
    .join("\n");
    let report = import(store, &input, ImportMode::KeepGoing).unwrap();
    assert_eq!(report.store.created, 2, "{report:?}");
    assert_eq!(report.rejected.len(), 2, "{report:?}");
    assert_eq!(stored(store), 2);
    let again = import(store, &record("1", 170), ImportMode::KeepGoing).unwrap();
    assert_eq!(again.duplicates.len(), 1);
    assert!(
        again.duplicates[0].reasons[0].contains("tiktok:1 already exists"),
        "{again:?}"
    );
}

fn unreadable_input_while_checking_stores_nothing(store: &mut Store) {
    let input = [record("1", 150), r#"{"platform": tiktok}"#.to_owned()].join("\n");
    let err = import(store, &input, ImportMode::AllOrNothing).unwrap_err();
    assert!(
        matches!(err, CollectError::Unreadable { checking: true, .. }),
        "{err:?}"
    );
    assert!(err.to_string().ends_with("; nothing stored"), "{err}");
    assert_eq!(stored(store), 0);
}

toker_testkit::on_both_backends!(store:
    one_rejected_record_keeps_all_out,
    keep_going_stores_the_valid_ones_and_reports_duplicates,
    unreadable_input_while_checking_stores_nothing,
);
