//! What a source noticed but worked around, counted per kind with a few examples.
//!
//! An export can hold millions of odd items: one message per item would cost more memory
//! (and answer bytes) than the export itself. [`Warnings`] keeps one [`Warning`] per
//! [`WarningKind`], with how often it happened and the first [`MAX_EXAMPLES`] messages.

use serde::{Deserialize, Serialize};

/// How many example messages a [`Warning`] keeps.
pub const MAX_EXAMPLES: usize = 3;

/// What kind of thing a source worked around; serialised as its snake-case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum WarningKind {
    /// Several candidate files (or archives) in an export: one was read, the others ignored.
    DuplicateFile,
    /// An optional file is not in the export: what it would tell is unknown.
    MissingFile,
    /// An export's index (e.g. X's `data/manifest.js`) is unreadable or incomplete.
    Manifest,
    /// An item was counted, but it names no post or video, so none was recorded.
    ItemUnnamed,
    /// An item was skipped (not an object, no id, or unreadable).
    ItemSkipped,
    /// A count is unreadable and treated as unknown.
    BadCount,
    /// A list holds more items than the import limit: the rest were counted, not recorded.
    ListTruncated,
    /// The raw JSON kept with the profile reached its limit: later items are left out of it.
    RawTruncated,
    /// A listing (page, endpoint) of a platform's API was unavailable or partial.
    Listing,
    /// Anything else a source wants to tell (e.g. which API was used instead).
    Note,
}

impl WarningKind {
    /// The wire name, e.g. `item_unnamed`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            WarningKind::DuplicateFile => "duplicate_file",
            WarningKind::MissingFile => "missing_file",
            WarningKind::Manifest => "manifest",
            WarningKind::ItemUnnamed => "item_unnamed",
            WarningKind::ItemSkipped => "item_skipped",
            WarningKind::BadCount => "bad_count",
            WarningKind::ListTruncated => "list_truncated",
            WarningKind::RawTruncated => "raw_truncated",
            WarningKind::Listing => "listing",
            WarningKind::Note => "note",
        }
    }
}

impl std::fmt::Display for WarningKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One kind of warning: how often it happened and its first messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    /// What kind of thing was worked around.
    pub kind: WarningKind,
    /// How many times.
    pub count: u64,
    /// The first [`MAX_EXAMPLES`] messages, each naming the file and key.
    pub examples: Vec<String>,
}

/// Warnings grouped by kind, in the order each kind was first seen.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Warnings(Vec<Warning>);

impl Warnings {
    /// No warnings.
    #[must_use]
    pub fn new() -> Self {
        Warnings::default()
    }

    /// Counts one warning of `kind`; `message` is only built while the kind still lacks
    /// examples, so a warning per item costs no allocation past the first few.
    pub fn add(&mut self, kind: WarningKind, message: impl FnOnce() -> String) {
        let group = self.group(kind);
        group.count += 1;
        if group.examples.len() < MAX_EXAMPLES {
            group.examples.push(message());
        }
    }

    /// Counts one warning of `kind` with a message already built.
    pub fn push(&mut self, kind: WarningKind, message: impl Into<String>) {
        self.add(kind, || message.into());
    }

    /// Adds every warning of `other` (counts summed, examples kept up to the bound).
    pub fn merge(&mut self, other: Warnings) {
        for warning in other.0 {
            let group = self.group(warning.kind);
            group.count += warning.count;
            let room = MAX_EXAMPLES.saturating_sub(group.examples.len());
            group
                .examples
                .extend(warning.examples.into_iter().take(room));
        }
    }

    fn group(&mut self, kind: WarningKind) -> &mut Warning {
        let at = match self.0.iter().position(|w| w.kind == kind) {
            Some(at) => at,
            None => {
                self.0.push(Warning {
                    kind,
                    count: 0,
                    examples: Vec::new(),
                });
                self.0.len() - 1
            }
        };
        &mut self.0[at]
    }

    /// Whether nothing was noticed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many warnings were counted, over every kind.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.0.iter().map(|w| w.count).sum()
    }

    /// How many warnings of `kind` were counted.
    #[must_use]
    pub fn count(&self, kind: WarningKind) -> u64 {
        self.0
            .iter()
            .find(|w| w.kind == kind)
            .map_or(0, |w| w.count)
    }

    /// The groups, one per kind.
    pub fn iter(&self) -> std::slice::Iter<'_, Warning> {
        self.0.iter()
    }

    /// One line per example, and after a group's examples a line saying how many more of
    /// its kind there were: what a person reads.
    #[must_use]
    pub fn lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for warning in &self.0 {
            lines.extend(warning.examples.iter().cloned());
            let more = warning.count.saturating_sub(warning.examples.len() as u64);
            if more > 0 {
                lines.push(format!("… and {more} more `{}` warning(s)", warning.kind));
            }
        }
        lines
    }

    /// Every example message, group by group.
    pub fn messages(&self) -> impl Iterator<Item = &str> {
        self.0
            .iter()
            .flat_map(|w| w.examples.iter().map(String::as_str))
    }
}

impl<'a> IntoIterator for &'a Warnings {
    type Item = &'a Warning;
    type IntoIter = std::slice::Iter<'a, Warning>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_million_warnings_of_one_kind_are_one_group_with_three_examples() {
        let mut warnings = Warnings::new();
        for i in 0..1_000_000 {
            warnings.add(WarningKind::ItemUnnamed, || format!("item [{i}]"));
        }
        warnings.push(WarningKind::MissingFile, "no tweets.js");
        assert_eq!(warnings.iter().count(), 2);
        assert_eq!(warnings.count(WarningKind::ItemUnnamed), 1_000_000);
        assert_eq!(warnings.total(), 1_000_001);
        let first = warnings.iter().next().unwrap();
        assert_eq!(first.examples, ["item [0]", "item [1]", "item [2]"]);
        assert_eq!(
            warnings.lines()[3],
            "… and 999997 more `item_unnamed` warning(s)"
        );
        let json = serde_json::to_value(&warnings).unwrap();
        assert_eq!(json[0]["kind"], "item_unnamed");
        assert_eq!(json[0]["count"], 1_000_000);
    }

    #[test]
    fn merging_sums_counts_and_keeps_examples_bounded() {
        let mut a = Warnings::new();
        a.push(WarningKind::Listing, "a1");
        a.push(WarningKind::Listing, "a2");
        let mut b = Warnings::new();
        b.push(WarningKind::Listing, "b1");
        b.push(WarningKind::Listing, "b2");
        b.push(WarningKind::Note, "n");
        a.merge(b);
        assert_eq!(a.count(WarningKind::Listing), 4);
        assert_eq!(a.messages().collect::<Vec<_>>(), ["a1", "a2", "b1", "n"]);
    }
}
