//! The fixed taxonomy of content categories that Toker knows by name.
//!
//! Sources draw fake categories from it and cleaning matches categories to its spelling
//! case-insensitively; categories outside it are kept as the platform gave them.

/// The taxonomy's categories, in their canonical spelling.
pub const CATEGORIES: [&str; 25] = [
    "Technology",
    "Education",
    "Music",
    "Dance",
    "Comedy",
    "Food",
    "Sports",
    "Gaming",
    "Travel",
    "Fashion",
    "Beauty",
    "Fitness",
    "Health",
    "Science",
    "Art",
    "Photography",
    "Pets",
    "Nature",
    "Finance",
    "Politics",
    "News",
    "Automotive",
    "DIY",
    "Parenting",
    "Movies",
];

/// The taxonomy's spelling of `name`, matched case-insensitively, if it is in the taxonomy.
#[must_use]
pub fn canonical_category(name: &str) -> Option<&'static str> {
    CATEGORIES
        .iter()
        .copied()
        .find(|c| c.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_match_case_insensitively() {
        assert_eq!(canonical_category("technology"), Some("Technology"));
        assert_eq!(canonical_category("diy"), Some("DIY"));
        assert_eq!(canonical_category("Knitting"), None);
    }

    #[test]
    fn taxonomy_names_are_unique() {
        let mut names: Vec<String> = CATEGORIES.iter().map(|c| c.to_lowercase()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), CATEGORIES.len());
    }
}
